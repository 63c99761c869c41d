import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * Bounds the memory held by court socket buffers that are already dead (docs/architecture.md#memory-per-transfer).
 *
 * Every read of a court's socket lands in a fresh buffer of up to 64 KiB; once its bytes are hashed and
 * written to the client it is garbage, but it lives outside V8's heap, and V8 collects for it only when such
 * memory has grown 64 MiB since its last full collection (a constant of V8). Most such buffers are freed as
 * soon as the client's socket has written them (digest-guard.ts, freeWhenWritten); this bounds the rest (small
 * buffers, buffers shared with other data). A download makes too little JavaScript garbage to start a
 * young-generation collection on its own, so 32 downloads held 40–65 MiB of dead buffers at any time. A
 * young-generation collection (about half a millisecond, and only young objects) frees them: one is asked for
 * every `everyBytes` left to the collector. V8 returns the memory on a background sweep that the next
 * collection at the latest completes, so dead buffers stay under about twice that.
 */
export class SocketBufferReclaimer {
  readonly #everyBytes: number
  readonly #collect: () => void
  #since = 0
  #scheduled = false

  /** `everyBytes` 0 (or no collector) reclaims nothing: V8's own schedule decides. */
  constructor(everyBytes: number, collect: (() => void) | undefined = youngGenerationCollector()) {
    this.#everyBytes = collect ? everyBytes : 0
    this.#collect = collect ?? (() => {})
  }

  /** Counts bytes of court buffers left to the collector; past the threshold, collects once the turn is done. */
  readonly forwarded = (bytes: number): void => {
    if (this.#everyBytes <= 0) return
    this.#since += bytes
    if (this.#since < this.#everyBytes || this.#scheduled) return
    this.#scheduled = true
    // Not inside the stream handler: the collection runs between turns, once the chunk is queued for the client.
    setImmediate(() => {
      this.#scheduled = false
      this.#since = 0
      this.#collect()
    })
  }
}

let collector: (() => void) | undefined | null = null

/**
 * V8's collector, asked for the young generation only. `gc` exists only where --expose-gc was given when a
 * context was made: the flag is set just long enough to make one context that has it, so nothing else (the
 * main context, workers started later) sees a `gc` global.
 */
function youngGenerationCollector(): (() => void) | undefined {
  if (collector !== null) return collector
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as (options: { type: 'minor'; execution: 'sync' }) => void
    collector = () => gc({ type: 'minor', execution: 'sync' })
  } catch {
    collector = undefined
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
  return collector
}
