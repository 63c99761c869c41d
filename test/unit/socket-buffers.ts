import t from 'tap'
import { SocketBufferReclaimer } from '../../src/files/socket-buffers.js'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

t.test('collects once per threshold of bytes, after the current turn, never twice for one crossing', async (t) => {
  let collections = 0
  const reclaimer = new SocketBufferReclaimer(100, () => collections++)
  reclaimer.forwarded(60)
  await turn()
  t.equal(collections, 0, 'below the threshold nothing is collected')
  reclaimer.forwarded(60)
  reclaimer.forwarded(500)
  t.equal(collections, 0, 'not inside the handler that crossed it')
  await turn()
  t.equal(collections, 1, 'one collection for the bytes counted before it ran')
  reclaimer.forwarded(99)
  await turn()
  t.equal(collections, 1, 'the count starts again after a collection')
  reclaimer.forwarded(1)
  await turn()
  t.equal(collections, 2)
})

t.test('0 bytes turns it off', async (t) => {
  let collections = 0
  const reclaimer = new SocketBufferReclaimer(0, () => collections++)
  reclaimer.forwarded(1 << 30)
  await turn()
  t.equal(collections, 0)
})

t.test("V8's own collector frees dead buffers, and exposes no gc global", async (t) => {
  const reclaimer = new SocketBufferReclaimer(1)
  t.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'the main context has no gc')
  const before = process.memoryUsage().arrayBuffers
  // Socket reads are buffers of their own, outside the heap, like these.
  for (let i = 0; i < 256; i++) Buffer.allocUnsafeSlow(64 * 1024)
  t.ok(process.memoryUsage().arrayBuffers - before >= 8 * 1024 * 1024, '16 MiB of dead buffers are still counted')
  // V8 frees the backing stores of a collection on a background sweep that the next collection, at the
  // latest, completes: so after two collections they are gone, whether or not the first sweep had finished.
  for (let collection = 0; collection < 2; collection++) {
    reclaimer.forwarded(1)
    await turn()
  }
  const left = process.memoryUsage().arrayBuffers - before
  t.ok(left < 1024 * 1024, `after two collections ${(left / 1024).toFixed(0)} KiB of them are left`)
})
