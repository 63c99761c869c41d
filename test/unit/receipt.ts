import t from 'tap'
import { formatReceipt, parseReceipt } from '../../src/accesslog/receipt.js'

// The example from https://c2sp.org/tlog-proof (its signatures are elided with [...], so it is a format
// vector: the checkpoint is carried verbatim, not parsed, by the receipt layer).
const specExample = `c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

— example.com/fancylog hI2DJw[...]1roloI=
— witness1.example mJirIklj[...]qY9v2B/5bg==
`

const checkpoint = `example.com/log\n3\n${Buffer.alloc(32, 1).toString('base64')}\n\n\u2014 example.com/log AAAAAAAA\n`
const h = (n: number) => Buffer.alloc(32, n)

t.test('c2sp.org/tlog-proof spec example', async (t) => {
  const r = parseReceipt(specExample)
  t.equal(r.index, 73894)
  t.equal(r.proof.length, 5)
  t.equal(r.proof[0]!.toString('base64'), 'gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=')
  t.equal(r.extra!.toString('base64'), 'YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ')
  t.ok(r.checkpoint.startsWith('example.com/fancylog\n109482\n'))
  t.ok(r.checkpoint.endsWith('qY9v2B/5bg==\n'))
  t.equal(formatReceipt(r), specExample, 'formatting reproduces the example byte for byte')
})

t.test('round trips', async (t) => {
  const plain = { index: 2, proof: [h(2), h(3)], checkpoint }
  const text = formatReceipt(plain)
  t.equal(
    text,
    `c2sp.org/tlog-proof@v1\nindex 2\n${h(2).toString('base64')}\n${h(3).toString('base64')}\n\n${checkpoint}`,
    'same layout as transparency-dev/merkle NewTLogProof',
  )
  t.same(parseReceipt(text), plain)
  t.notOk('extra' in parseReceipt(text), 'no extra line, no extra field')

  const single = { index: 0, proof: [], checkpoint }
  t.equal(
    formatReceipt(single),
    `c2sp.org/tlog-proof@v1\nindex 0\n\n${checkpoint}`,
    'a one-leaf tree has an empty proof',
  )
  t.same(parseReceipt(formatReceipt(single)), single)

  const withExtra = { index: 7, proof: [h(9)], checkpoint, extra: Buffer.from('context') }
  t.same(parseReceipt(formatReceipt(withExtra)), withExtra)
  t.same(parseReceipt(formatReceipt({ ...withExtra, extra: Buffer.alloc(0) })).extra, Buffer.alloc(0))
})

t.test('format refuses bad input', async (t) => {
  t.throws(() => formatReceipt({ index: -1, proof: [], checkpoint }), /index/)
  t.throws(() => formatReceipt({ index: 1.5, proof: [], checkpoint }), /index/)
  t.throws(() => formatReceipt({ index: 0, proof: [Buffer.alloc(31)], checkpoint }), /32 bytes/)
  t.throws(() => formatReceipt({ index: 0, proof: [], checkpoint: '' }), /checkpoint/)
  t.throws(() => formatReceipt({ index: 0, proof: [], checkpoint: 'no newline' }), /checkpoint/)
})

t.test('parse errors name the problem', async (t) => {
  const hash = h(5).toString('base64')
  const cases: Array<[string, RegExp]> = [
    ['', /first line must be "c2sp.org\/tlog-proof@v1"$/],
    ['c2sp.org/tlog-proof@v2\nindex 1\n\n', /first line must be .*got "c2sp.org\/tlog-proof@v2"/],
    ['c2sp.org/tlog-proof@v1', /first line/],
    ['c2sp.org/tlog-proof@v1\n', /line 2 must be "index <number>"/],
    ['c2sp.org/tlog-proof@v1\nindex\n\n', /line 2 must be "index <number>"/],
    ['c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n', /line 2: the extra data is not valid base64/],
    ['c2sp.org/tlog-proof@v1\nextra AAAA\nnope\n', /line 3 must be "index <number>"/],
    ['c2sp.org/tlog-proof@v1\nindex 01\n\ncp\n', /line 2: the index "01" is not a decimal/],
    ['c2sp.org/tlog-proof@v1\nindex -1\n\ncp\n', /not a decimal/],
    ['c2sp.org/tlog-proof@v1\nindex 1 \n\ncp\n', /not a decimal/],
    ['c2sp.org/tlog-proof@v1\nindex 18446744073709551615\n\ncp\n', /too large/],
    [`c2sp.org/tlog-proof@v1\nindex 1\n${hash}`, /missing the blank line/],
    [`c2sp.org/tlog-proof@v1\nindex 1\n${hash}\n`, /missing the blank line/],
    [`c2sp.org/tlog-proof@v1\nindex 1\n${hash}\n\n`, /checkpoint is missing/],
    [`c2sp.org/tlog-proof@v1\nindex 1\n${hash}\nnot-base64!\n\ncp\n`, /line 4: the proof hash is not valid base64/],
    [
      `c2sp.org/tlog-proof@v1\nindex 1\n${h(1).subarray(1).toString('base64')}\n\ncp\n`,
      /line 3: the proof hash is 31 bytes/,
    ],
  ]
  for (const [text, re] of cases) t.throws(() => parseReceipt(text), re, JSON.stringify(text))
})
