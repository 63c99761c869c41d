import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { DigestPool, InlineHasher, type StreamHasher } from '../../src/files/digests.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Feeds `data` to `hasher` in chunks of the given sizes (cycled), pausing whenever it asks to, like the guard. */
async function feed(hasher: StreamHasher, data: Buffer, sizes: number[]): Promise<void> {
  let at = 0
  for (let i = 0; at < data.length; i++) {
    const chunk = data.subarray(at, at + sizes[i % sizes.length]!)
    at += chunk.length
    if (!hasher.update(chunk)) await new Promise<void>((resolve) => hasher.onReady(resolve))
  }
}

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest('hex')
}

t.test('the worker pool hashes concurrent streams exactly as inline hashing does', async (t) => {
  const pool = new DigestPool(2)
  t.teardown(() => pool.close())
  await pool.ready()
  t.equal(pool.workers().length, 2, 'ready() starts every thread')
  // More streams than get large staging slots, so both sizes are used at once; chunks smaller than, equal to
  // and larger than either slot, so copies cross slot boundaries.
  const streams = [0, 1, 2, 3, 4].map((n) => ({
    data: randomBytes(3 * MiB + n * 4099),
    last: n % 2 === 0 ? randomBytes(1000 + n) : undefined,
    sizes: [[64 * KiB], [128 * KiB], [1 * MiB], [1 * MiB + 7, 13], [300 * KiB, 5, 2 * MiB]][n]!,
  }))
  const digests = await Promise.all(
    streams.map(async ({ data, last, sizes }) => {
      const hasher = pool.hasher()
      await feed(hasher, data, sizes)
      return hasher.finish(last)
    }),
  )
  streams.forEach(({ data, last }, n) => {
    t.equal(digests[n]!.before, sha256(data), `stream ${n}: the bytes before the held chunk`)
    t.equal(digests[n]!.whole, last ? sha256(data, last) : sha256(data), `stream ${n}: with the held chunk`)
  })

  // The slots went back: streams started after these reuse them, large ones first, and hash the same.
  const again = randomBytes(2 * MiB + 1)
  const inline = new InlineHasher()
  await feed(inline, again, [64 * KiB])
  const expected = await inline.finish(undefined)
  for (let round = 0; round < 3; round++) {
    const hasher = pool.hasher()
    await feed(hasher, again, [64 * KiB])
    t.same(await hasher.finish(undefined), expected, `a later stream (${round}) on reused slots`)
  }
})

t.test('a stream on a thread that dies fails, and its slots serve later streams', async (t) => {
  const pool = new DigestPool(1)
  t.teardown(() => pool.close())
  const data = randomBytes(4 * MiB)
  const doomed = [pool.hasher(), pool.hasher(), pool.hasher()]
  for (const hasher of doomed) hasher.update(data.subarray(0, 64 * KiB))
  await pool.workers()[0]!.terminate()
  for (const hasher of doomed) await t.rejects(hasher.finish(undefined), { name: 'DigestUnavailableError' })
  const hasher = pool.hasher()
  await feed(hasher, data, [256 * KiB])
  t.same(await hasher.finish(undefined), { before: sha256(data), whole: sha256(data) }, 'on a new thread')
})
