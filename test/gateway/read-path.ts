import t from 'tap'
import { createServer } from 'node:http'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { forwardChecked, IntegrityError } from '../../src/files/digest-guard.js'
import { InlineHasher } from '../../src/files/digests.js'
import { servedMediaType } from '../../src/files/media-types.js'
import { contentRange, parseRange, rangeLength } from '../../src/files/range.js'
import { ActiveTransfers } from '../../src/files/transfers.js'
import { TransferDeadlineError } from '../../src/adapters/client.js'

t.test('a client Range is read against the catalogue size', async (t) => {
  const size = 1000
  t.same(parseRange('bytes=0-9', size), { first: 0, last: 9 })
  t.same(parseRange(' bytes=990-2000 ', size), { first: 990, last: 999 }, 'the end is clipped to the size')
  t.same(parseRange('bytes=500-', size), { first: 500, last: 999 })
  t.same(parseRange('bytes=-10', size), { first: 990, last: 999 })
  t.same(parseRange('bytes=-5000', size), { first: 0, last: 999 }, 'a suffix longer than the document is all of it')
  t.equal(parseRange('bytes=1000-', size), 'unsatisfiable')
  t.equal(parseRange('bytes=-0', size), 'unsatisfiable')
  t.equal(parseRange('bytes=-1', 0), 'unsatisfiable')
  for (const ignored of [
    undefined,
    'bytes=0-9,20-29',
    'items=0-9',
    'bytes=9-0',
    'bytes=-',
    'bytes=a-b',
    'bytes=0-9999999999999999',
  ]) {
    t.equal(parseRange(ignored, size), undefined, `${ignored} is ignored (the whole document)`)
  }
  t.equal(rangeLength({ first: 10, last: 19 }), 10)
  t.equal(contentRange({ first: 10, last: 19 }, size), 'bytes 10-19/1000')
})

t.test('documents are served as their catalogued type only from the allow-list', async (t) => {
  t.equal(servedMediaType('application/pdf'), 'application/pdf')
  t.equal(servedMediaType('Application/PDF; charset=binary'), 'application/pdf', 'essence, lower case, no parameters')
  t.equal(servedMediaType('application/ofd'), 'application/ofd')
  t.equal(servedMediaType('image/jpeg'), 'image/jpeg')
  for (const refused of ['text/html', 'image/svg+xml', 'application/javascript', 'application/octet-stream', '']) {
    t.equal(servedMediaType(refused), undefined, `${refused || 'an empty type'} is refused`)
  }
})

t.test('the digest guard fails a body as soon as it is longer than expected', async (t) => {
  // Over a real socket: the guard writes to a ServerResponse.
  let outcome: Promise<{ sent: { bytes: number }; error?: unknown }> | undefined
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '4' })
    res.flushHeaders()
    const body = Readable.from([Buffer.from('abc'), Buffer.from('de')], { objectMode: false })
    outcome = forwardChecked(body, res, { bytes: 4, hasher: new InlineHasher(), onFailure: () => {} })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const { port } = server.address() as { port: number }
  const response = await request(`http://127.0.0.1:${port}/`)
  const received: Buffer[] = []
  await t.rejects(
    (async () => {
      for await (const chunk of response.body) received.push(chunk as Buffer)
    })(),
    'the client sees the transfer cut',
  )
  const { sent, error } = await outcome!
  t.ok(error instanceof IntegrityError)
  t.equal(sent.bytes, 0, 'nothing past the held chunk was released')
  t.equal(Buffer.concat(received).length, 0)
})

t.test(
  'the head goes out with the body in one write when the body follows at once, alone at once otherwise',
  async (t) => {
    const body = Buffer.alloc(20_000, 7)
    const { createHash } = await import('node:crypto')
    const sha256 = createHash('sha256').update(body).digest('hex')
    let writes = 0
    let release: (() => void) | undefined
    const server = createServer((req, res) => {
      // Every write that reaches the socket (a write or a gathered writev): Node's internal funnel for both.
      const socket = res.socket as unknown as { _writeGeneric: (...args: unknown[]) => unknown }
      const writeGeneric = socket._writeGeneric.bind(socket)
      socket._writeGeneric = (...args: unknown[]) => {
        writes++
        return writeGeneric(...args)
      }
      res.writeHead(200, { 'content-length': String(body.length), 'access-log-index': '7' })
      const slow = req.url === '/slow'
      const source = slow
        ? new Readable({
            read() {},
          })
        : Readable.from([body.subarray(0, 16_384), body.subarray(16_384)], { objectMode: false })
      if (slow) {
        source.push(body.subarray(0, 100))
        release = () => {
          source.push(body.subarray(100))
          source.push(null)
        }
      }
      void forwardChecked(source, res, { bytes: body.length, sha256, hasher: new InlineHasher(), onFailure: () => {} })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => server.close())
    const { port } = server.address() as { port: number }

    const quick = await request(`http://127.0.0.1:${port}/quick`)
    t.same(Buffer.from(await quick.body.arrayBuffer()), body)
    t.equal(writes, 1, `head and body in a single write (${writes})`)

    writes = 0
    const slow = await request(`http://127.0.0.1:${port}/slow`)
    t.equal(slow.statusCode, 200, 'the head arrives while the court has sent a hundred bytes')
    t.equal(slow.headers['access-log-index'], '7')
    t.equal(writes, 1, 'the head alone, nothing of the body yet')
    release!()
    t.same(Buffer.from(await slow.body.arrayBuffer()), body)
  },
)

t.test('a transfer ends once, by its first cause; revocation stops the transfers of that grant only', async (t) => {
  const transfers = new ActiveTransfers()
  const a = transfers.start('grant-a', 'adapter-1', 60_000)
  const b = transfers.start('grant-a', 'adapter-1', 60_000)
  const other = transfers.start('grant-b', 'adapter-1', 60_000)
  t.equal(transfers.size(), 3)
  a.settle({ kind: 'failed', error: new Error('the court reset') })
  t.equal(transfers.revoke('grant-a'), 2)
  t.equal(a.end?.kind, 'failed', 'a later cause does not override the first')
  t.equal(a.signal.aborted, false, 'a transfer that had already ended is not aborted again')
  t.equal(b.end?.kind, 'revoked')
  t.equal(b.signal.aborted, true, 'the court request of a revoked transfer is aborted')
  t.equal(other.end, undefined, 'another grant is untouched')
  for (const transfer of [a, b, other]) transfer.dispose()
  t.equal(transfers.size(), 0, 'disposed transfers are forgotten')
  t.equal(transfers.revoke('grant-a'), 0)
})

t.test('an adapter leaving service stops the transfers from it only', async (t) => {
  const transfers = new ActiveTransfers()
  const from = transfers.start('grant-a', 'adapter-1', 60_000)
  const elsewhere = transfers.start('grant-a', 'adapter-2', 60_000)
  t.equal(transfers.outOfService('adapter-1'), 1)
  t.equal(from.end?.kind, 'out-of-service')
  t.equal(from.signal.aborted, true, 'its court request is aborted')
  t.equal(elsewhere.end, undefined, 'a transfer from another adapter is untouched')
  for (const transfer of [from, elsewhere]) transfer.dispose()
  t.equal(transfers.outOfService('adapter-1'), 0, 'disposed transfers are forgotten')
})

t.test('a transfer past its deadline is aborted as a court fault', async (t) => {
  const transfers = new ActiveTransfers()
  const transfer = transfers.start('grant', 'adapter', 10)
  const reason = await new Promise<unknown>((resolve) =>
    transfer.signal.addEventListener('abort', () => resolve(transfer.signal.reason)),
  )
  t.ok(reason instanceof TransferDeadlineError)
  t.equal(transfer.end?.kind, 'deadline')
  transfer.dispose()
})
