import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { forwardChecked } from '../../src/files/digest-guard.js'
import { DigestPool, InlineHasher, type StreamHasher } from '../../src/files/digests.js'

const KiB = 1024

/** A chunk that ends where its own (unpooled) buffer ends, `offset` bytes into it. */
const tailOf = (bytes: number, fill: number, offset = 0) =>
  Buffer.from(new Uint8Array(offset + bytes).fill(fill).buffer, offset, bytes)

/**
 * Sends `chunks` through forwardChecked to a real client over a socket; resolves with what the client got and
 * the bytes the guard said it left to the collector.
 */
async function forward(t: Test, chunks: Buffer[], hasher: StreamHasher) {
  const expected = Buffer.concat(chunks)
  const sha256 = createHash('sha256').update(expected).digest('hex')
  let left = 0
  let guard: Promise<{ sent: { bytes: number; sha256?: string }; error?: unknown }> | undefined
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-length': String(expected.length) })
    guard = forwardChecked(Readable.from(chunks, { objectMode: false }), response, {
      bytes: expected.length,
      sha256,
      hasher,
      onFailure: () => {},
      freeWrittenBuffers: true,
      onLeftToCollector: (bytes) => {
        left += bytes
      },
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const response = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
  const received = Buffer.from(await response.body.arrayBuffer())
  const result = await guard!
  return { received, expected, result, left }
}

for (const [name, hasherOf] of [
  ['inline', () => new InlineHasher()],
  ['worker', (pool: DigestPool) => pool.hasher()],
] as const) {
  t.test(
    `released court buffers are freed once written, and only those that are safe to free (${name} hash)`,
    async (t) => {
      const pool = new DigestPool(1)
      t.teardown(() => pool.close())
      const shared = new Uint8Array(96 * KiB).fill(4).buffer
      const chunks = [
        tailOf(64 * KiB, 1), // its own buffer: freed
        tailOf(48 * KiB, 2, 100), // the end of a buffer that starts with other bytes (a response head): freed
        Buffer.from(shared, 0, 32 * KiB), // the start of a buffer whose end is the next chunk: kept
        Buffer.from(shared, 32 * KiB, 64 * KiB), // that end: freed once both are written
        Buffer.from('pooled bytes'), // Node's shared pool: never detached
        tailOf(8 * KiB, 5), // too small to be worth it: kept
        tailOf(64 * KiB, 6), // the held-back last chunk: freed once the response has ended
      ]
      const sizes = chunks.map((chunk) => chunk.length)
      const { received, expected, result, left } = await forward(t, chunks, hasherOf(pool))
      t.equal(result.error, undefined, 'the transfer completed')
      t.ok(received.equals(expected), 'the client got every byte, in order')
      t.equal(result.sent.sha256, createHash('sha256').update(expected).digest('hex'))
      t.same(
        chunks.map((chunk) => chunk.buffer.byteLength === 0),
        [true, true, true, true, false, false, true],
        'detached: the tail chunks (with the end of the shared buffer, all of it) and the held one; not pool or small ones',
      )
      t.equal(left, sizes[2]! + sizes[4]! + sizes[5]!, 'what was not freed is counted for the reclaimer')
    },
  )
}

t.test('a chunk the worker hasher still holds is not freed under it', async (t) => {
  // The hasher says it holds every buffer: nothing may be detached, and the bytes stay intact.
  const inner = new InlineHasher()
  const holding: StreamHasher = {
    update: (chunk) => inner.update(chunk),
    onReady: () => {},
    finish: (last) => inner.finish(last),
    holds: () => true,
  }
  const chunks = [tailOf(64 * KiB, 1), tailOf(64 * KiB, 2), tailOf(64 * KiB, 3)]
  const { received, expected, result, left } = await forward(t, chunks, holding)
  t.equal(result.error, undefined)
  t.ok(received.equals(expected))
  t.same(
    chunks.map((chunk) => chunk.buffer.byteLength),
    [64 * KiB, 64 * KiB, 64 * KiB],
    'no buffer was detached',
  )
  t.equal(left, 3 * 64 * KiB)
})
