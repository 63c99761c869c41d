import t from 'tap'
import { findUnloggable, isIdentifier, isWellFormed } from '../../src/http/loggable-input.js'

t.test('well-formed Unicode: a lone surrogate is not, a pair is', async (t) => {
  t.ok(isWellFormed('黑01 (2023) 😀 \u0000 \u202e'), 'controls and bidi are well-formed, just not identifiers')
  t.ok(isWellFormed('\ud83d\ude00'), 'a surrogate pair')
  t.notOk(isWellFormed('\ud800'), 'a lone high surrogate')
  t.notOk(isWellFormed('a\udc00b'), 'a lone low surrogate')
  t.notOk(isWellFormed('\ude00\ud83d'), 'a pair in the wrong order')
})

t.test('identifiers: no control, format, separator or lone surrogate', async (t) => {
  for (const ok of [
    '黑01',
    '（2023）黑01民终1234号',
    'zhang.wei',
    '230100/li.na',
    'http://127.0.0.1:4100',
    '😀',
    'a b',
  ]) {
    t.ok(isIdentifier(ok), JSON.stringify(ok))
  }
  const refused: Array<[string, string]> = [
    ['\u0000', 'NUL'],
    ['a\nb', 'line feed'],
    ['\u001f', 'unit separator'],
    ['\u007f', 'DEL'],
    ['\u0085', 'C1 next line'],
    ['\u009f', 'C1 last'],
    ['\u200e', 'LRM'],
    ['\u200f', 'RLM'],
    ['\u202a', 'LRE'],
    ['\u202e', 'RLO'],
    ['\u2066', 'LRI'],
    ['\u2069', 'PDI'],
    ['\u061c', 'Arabic letter mark'],
    ['\u200b', 'zero-width space'],
    ['\ufeff', 'BOM'],
    ['\u2028', 'line separator'],
    ['\u2029', 'paragraph separator'],
    ['\udb40\udc01', 'a tag character'],
    ['\ud800', 'lone surrogate'],
  ]
  for (const [text, what] of refused) t.notOk(isIdentifier(`黑01${text}`), what)
})

t.test('findUnloggable walks bodies: identifiers strictly, free text for well-formedness only', async (t) => {
  t.equal(findUnloggable({ court: '黑01', members: ['li.na'], reason: '第一行\n第二行 \u202e' }), undefined)
  t.same(findUnloggable({ body: { court: '黑01\u202e' } }), {
    path: 'body.court',
    problem: 'contains a control or format character, which an identifier may not',
  })
  t.same(findUnloggable({ body: { members: ['ok', 'li\u0000na'] } })?.path, 'body.members[1]')
  t.same(findUnloggable({ body: { reason: 'ok \ud800' } }), {
    path: 'body.reason',
    problem: 'is not well-formed Unicode (a lone surrogate)',
  })
  t.same(findUnloggable({ query: { grant: 'x\udfff' } })?.path, 'query.grant')
  t.same(findUnloggable({ body: { 'bad\u202ekey': 1 } }), {
    path: 'body',
    problem: 'has a field name with a control, format or lone surrogate',
  })
  t.equal(findUnloggable({ body: { days: 3, ok: true, none: null } }), undefined, 'numbers, booleans, null')
  t.equal(findUnloggable(undefined), undefined, 'no body')

  let deep: unknown = 'bottom\u0000'
  for (let i = 0; i < 100_000; i++) deep = [deep]
  t.match(findUnloggable(deep)?.problem, /control/, 'a deeply nested body neither overflows the stack nor hides')
})
