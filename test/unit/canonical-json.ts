import canonicalize from 'canonicalize'
import t from 'tap'
import { canonicalJson } from '../../src/accesslog/canonical-json.js'
import { openFileLog } from '../helpers/file-log.js'

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

const STRINGS = [
  '',
  'a',
  'é',
  '黑01',
  '（2023）黑01民终1234号',
  '😀',
  '\u0000',
  '\u001f',
  '"',
  '\\',
  '/',
  '\u2028',
  '\u007f',
  'aé😀\n\t',
]
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  1e21,
  1e-7,
  123456789012345680000,
  2 ** 53 - 1,
  -(2 ** 53),
  5e-324,
  1.7976931348623157e308,
  333333333.3333333,
]

function value(next: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 7)
  switch (kind) {
    case 0:
      return pick(STRINGS) + pick(STRINGS)
    case 1:
      return next() < 0.5 ? pick(NUMBERS) : (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20)
    case 2:
      return pick([true, false, null])
    case 3:
      return Math.floor(next() * 1e6)
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => (next() < 0.1 ? undefined : value(next, depth + 1)))
    default: {
      const object: Record<string, unknown> = {}
      for (let i = Math.floor(next() * 6); i > 0; i--) {
        object[pick(STRINGS) + pick(['', 'b', 'B', '1', 'z', 'é', '😀'])] =
          next() < 0.1 ? undefined : value(next, depth + 1)
      }
      return object
    }
  }
}

t.test('the same bytes as the canonicalize package', async (t) => {
  const next = random(8785)
  let same = 0
  for (let i = 0; i < 5000; i++) {
    const v = value(next, 0)
    if (canonicalJson(v) === canonicalize(v)) same++
    else t.fail(`differs for ${JSON.stringify(v)}`)
  }
  t.equal(same, 5000, '5,000 random values')
  const entry = {
    v: 1,
    time: '2025-01-01T00:00:00.000Z',
    actor: { sub: 'zhang.wei', org: '230100', roles: ['prosecutor'], issuer: 'urn:x' },
    action: 'document.read',
    resource: { court: '黑01', caseNo: '（2023）黑01民终1234号', document: undefined },
    phase: 'intent',
    decision: 'allow',
    detail: { at: new Date(0), list: [1, undefined, 'x'] },
  }
  t.equal(canonicalJson(entry), canonicalize(entry), 'an entry, with undefined fields and a Date')
  t.equal(
    canonicalJson({ b: 1, a: 2, A: 3, é: 4, '😀': 5, '\uff5e': 6 }),
    canonicalize({ b: 1, a: 2, A: 3, é: 4, '😀': 5, '\uff5e': 6 }),
  )
})

t.test('values RFC 8785 cannot represent are refused, as canonicalize does', async (t) => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { a: -Infinity }, '\ud800', ['x\udc00y'], { '\ud83d': 1 }]) {
    t.throws(() => canonicalJson(bad))
    t.throws(() => canonicalize(bad))
  }
})

t.test(
  'names quoted once and kept, past the bound of the kept set, with escapes: the bytes of canonicalize',
  async (t) => {
    const plain = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`name${i}`, `value ${i}`]))
    const escaped = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`"${i}"\\\n\u0001`, `"${i}"\t`]))
    for (const round of ['first', 'second']) {
      t.equal(canonicalJson(plain), canonicalize(plain), `${round} time: 1,500 plain names`)
      t.equal(canonicalJson(escaped), canonicalize(escaped), `${round} time: 1,500 names that need escapes`)
      t.throws(
        () => canonicalJson({ name1: { '\udc00': 1 } }),
        /Lone surrogate/,
        `${round} time: a lone surrogate name`,
      )
    }
  },
)

t.test('the sequencer refuses an entry it cannot serialise, and only that one', async (t) => {
  const { log } = await openFileLog(t, { path: ':memory:', checkpointIntervalMs: 1000 })
  const event = (reason: string) =>
    log.append({ action: 'grant.create', phase: 'event', decision: 'allow', detail: { reason } })
  const [before, bad, after] = await Promise.allSettled([event('ok'), event('broken \ud800'), event('fine')])
  t.same(before, { status: 'fulfilled', value: 0 })
  t.match(bad, { status: 'rejected', reason: { code: 'ACCESS_LOG_UNAVAILABLE' } })
  t.same(after, { status: 'fulfilled', value: 1 }, 'the rest of the batch is logged')
  t.equal(await event('later'), 2, 'and the log goes on')
})
