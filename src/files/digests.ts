import { createHash, type Hash } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/** The SHA-256 of the bytes released to a client, without and with the held-back last chunk (hex). */
export interface Digests {
  before: string
  whole: string
}

/**
 * SHA-256 of a document as it is released to the client, every byte hashed exactly once. `update` takes
 * the bytes in order; it answers false when the caller should stop reading until `onReady` fires (a
 * worker busy with earlier bytes), which keeps memory bounded when hashing is slower than the court.
 * `finish` hashes the held-back last chunk too and gives both digests: `before` is what the client got
 * if the last chunk is refused, `whole` what it gets if it is released.
 */
export interface StreamHasher {
  update(chunk: Buffer): boolean
  onReady(listener: () => void): void
  finish(last: Buffer | undefined): Promise<Digests>
  /** Whether the hasher still holds bytes of `buffer` it has not hashed or copied (so they must not be freed). */
  holds(buffer: ArrayBufferLike): boolean
}

/** Hashing on the main thread: cheapest for small documents (no copy, no message, no thread hop). */
export class InlineHasher implements StreamHasher {
  readonly #hash: Hash = createHash('sha256')

  update(chunk: Buffer): boolean {
    this.#hash.update(chunk)
    return true
  }

  onReady(): void {}

  holds(): boolean {
    return false
  }

  finish(last: Buffer | undefined): Promise<Digests> {
    if (!last) {
      const digest = this.#hash.digest('hex')
      return Promise.resolve({ before: digest, whole: digest })
    }
    // copy() duplicates the hash state (about 100 bytes), not the data: the last chunk is hashed once.
    const before = this.#hash.copy().digest('hex')
    return Promise.resolve({ before, whole: this.#hash.update(last).digest('hex') })
  }
}

/** The digest worker died or was stopped: the bytes of a read it was hashing cannot be checked. */
export class DigestUnavailableError extends Error {
  override name = 'DigestUnavailableError'
}

/**
 * The worker: one SHA-256 state per stream, fed from shared slots the main thread fills. Plain JavaScript
 * for `new Worker(code, { eval: true })`, so it runs the same under tsx, tap and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const hashes = new Map()
const slots = new Map()
const hashOf = (id) => {
  let hash = hashes.get(id)
  if (!hash) hashes.set(id, (hash = createHash('sha256')))
  return hash
}
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    if (m.slot) slots.set(m.key, m.slot)
    hashOf(m.id).update(new Uint8Array(slots.get(m.key), 0, m.length))
    parentPort.postMessage({ op: 'free', id: m.id, slot: m.index })
  } else if (m.op === 'finish') {
    const hash = hashOf(m.id)
    hashes.delete(m.id)
    const before = m.last ? hash.copy().digest('hex') : undefined
    if (m.last) hash.update(m.last)
    const whole = hash.digest('hex')
    parentPort.postMessage({ op: 'digest', id: m.id, before: before ?? whole, whole })
  }
})
`

/**
 * Bytes per message to a worker. Every message wakes the other thread, which on virtual CPUs costs more than
 * copying the bytes, so larger slots mean less CPU per GiB (BENCHMARKS.md, "Session 7"). A stream holds two
 * slots, so the large ones go to the first LARGE_SLOT_STREAMS streams at a time (a lone download, or a few, are
 * the ones a larger slot speeds up) and every other stream gets small ones, which bounds the staging of 32
 * concurrent downloads to about 12 MiB.
 */
const LARGE_SLOT_BYTES = 1024 * 1024
const SMALL_SLOT_BYTES = 128 * 1024
const LARGE_SLOT_STREAMS = 2

type WorkerMessage =
  | { op: 'free'; id: number; slot: number }
  | { op: 'digest'; id: number; before: string; whole: string }

interface Thread {
  worker: Worker
  /** Settles once the thread runs (or has stopped before it did). */
  running: Promise<void>
  streams: Map<number, WorkerHasher>
  /** Keys of the slots this thread has been sent once; later messages name a slot by its key only. */
  slots: Set<number>
  dead: boolean
}

/** A staging slot: shared memory, sent to a thread once (posting a SharedArrayBuffer costs far more than a number). */
export interface Slot {
  key: number
  buffer: SharedArrayBuffer
}

/**
 * A few threads that hash large documents while the main thread forwards their bytes. Threads start on first
 * use and are replaced when one dies; a stream stays on the thread it started on (its hash state lives
 * there), so a thread's death fails the streams it was hashing with DigestUnavailableError, never the
 * process. Staging buffers (two slots per stream) are reused across streams.
 */
export class DigestPool {
  readonly #size: number
  readonly #threads: Array<Thread | undefined>
  /** Spare slots by size, reused across streams. */
  readonly #spare = new Map<number, Slot[]>([
    [LARGE_SLOT_BYTES, []],
    [SMALL_SLOT_BYTES, []],
  ])
  #largeStreams = 0
  #slots = 0
  #next = 0
  #ids = 0
  #closed = false

  constructor(threads: number) {
    this.#size = threads
    this.#threads = new Array<Thread | undefined>(threads).fill(undefined)
  }

  /**
   * Starts every thread now rather than on the first large document: a thread costs about 21 MiB when it
   * starts, which then belongs to the footprint at start rather than to the growth under the first downloads.
   */
  start(): void {
    if (this.#closed) return
    for (let index = 0; index < this.#size; index++) this.#thread(index)
  }

  /** Starts every thread not running yet, and resolves once they run (tests wait for a fully started gateway). */
  async ready(): Promise<void> {
    this.start()
    await Promise.all(this.#threads.map((thread) => thread?.running))
  }

  /** A hasher for one stream on the least busy thread. */
  hasher(): StreamHasher {
    if (this.#closed) return new InlineHasher()
    let index = this.#next
    for (let i = 0; i < this.#size; i++) {
      const candidate = (this.#next + i) % this.#size
      if ((this.#threads[candidate]?.streams.size ?? 0) < (this.#threads[index]?.streams.size ?? 0)) index = candidate
    }
    this.#next = (index + 1) % this.#size
    const thread = this.#thread(index)
    const hasher = new WorkerHasher(++this.#ids, thread, this)
    thread.streams.set(hasher.id, hasher)
    return hasher
  }

  #thread(index: number): Thread {
    const existing = this.#threads[index]
    if (existing && !existing.dead) return existing
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: `digest-${index}` })
    // An idle pool must not keep the process alive; streams in flight keep it busy anyway.
    worker.unref()
    const running = new Promise<void>((resolve) => {
      worker.once('online', () => resolve())
      worker.once('exit', () => resolve())
    })
    const thread: Thread = { worker, running, streams: new Map(), slots: new Set(), dead: false }
    const die = (cause: unknown) => {
      if (thread.dead) return
      thread.dead = true
      if (this.#threads[index] === thread) this.#threads[index] = undefined
      const error = new DigestUnavailableError('the digest worker stopped', { cause })
      for (const hasher of thread.streams.values()) hasher.fail(error)
      thread.streams.clear()
    }
    worker.on('message', (message: WorkerMessage) => thread.streams.get(message.id)?.receive(message))
    worker.on('error', die)
    worker.on('exit', (code) => die(new Error(`exit code ${code}`)))
    this.#threads[index] = thread
    return thread
  }

  /** @internal the two staging slots of a new stream: large ones while few streams hold them. */
  takeSlots(): [Slot, Slot] {
    const bytes = this.#largeStreams < LARGE_SLOT_STREAMS ? LARGE_SLOT_BYTES : SMALL_SLOT_BYTES
    if (bytes === LARGE_SLOT_BYTES) this.#largeStreams++
    const spare = this.#spare.get(bytes)!
    const take = () => spare.pop() ?? { key: ++this.#slots, buffer: new SharedArrayBuffer(bytes) }
    return [take(), take()]
  }

  /** @internal a finished stream's slots. */
  giveSlots(slots: Slot[]): void {
    if (slots[0]?.buffer.byteLength === LARGE_SLOT_BYTES) this.#largeStreams--
    for (const slot of slots) {
      const bytes = slot.buffer.byteLength
      // Kept for reuse up to what the large streams and 32 small ones need; beyond that left to the collector.
      const spare = this.#spare.get(bytes)!
      if (spare.length < (bytes === LARGE_SLOT_BYTES ? 2 * LARGE_SLOT_STREAMS : 64)) spare.push(slot)
    }
  }

  /** The live threads (for operators' diagnostics and for tests that stop one to see a read fail safely). */
  workers(): Worker[] {
    return this.#threads.filter((t): t is Thread => t !== undefined && !t.dead).map((t) => t.worker)
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(this.workers().map((worker) => worker.terminate()))
    for (const spare of this.#spare.values()) spare.length = 0
  }
}

interface Staging {
  slot: Slot
  view: Buffer
  busy: boolean
}

/**
 * One stream's hash in a worker. Bytes are copied into one of two shared slots; a full slot is posted while
 * the other fills. When both are busy, further chunks wait here (by reference, at most one or two since the
 * caller pauses on `false`) until the worker frees a slot.
 */
class WorkerHasher implements StreamHasher {
  readonly id: number
  readonly #thread: Thread
  readonly #pool: DigestPool
  readonly #staging: Staging[]
  #current = 0
  #filled = 0
  readonly #waiting: Buffer[] = []
  #ready: (() => void) | undefined
  #digest: { resolve: (d: Digests) => void; reject: (e: unknown) => void } | undefined
  #finishing: Buffer | undefined | null = null
  #error: unknown

  constructor(id: number, thread: Thread, pool: DigestPool) {
    this.id = id
    this.#thread = thread
    this.#pool = pool
    this.#staging = pool.takeSlots().map((slot) => ({ slot, view: Buffer.from(slot.buffer), busy: false }))
  }

  update(chunk: Buffer): boolean {
    if (this.#error !== undefined) return true
    if (this.#waiting.length > 0) {
      this.#waiting.push(chunk)
      return false
    }
    return this.#stage(chunk)
  }

  /** Copies as much of `chunk` as the free slots take; the rest waits. False: the caller should pause. */
  #stage(chunk: Buffer): boolean {
    let at = 0
    while (at < chunk.length) {
      const staging = this.#staging[this.#current]!
      if (staging.busy) {
        this.#waiting.push(at === 0 ? chunk : chunk.subarray(at))
        return false
      }
      const copied = chunk.copy(staging.view, this.#filled, at)
      at += copied
      this.#filled += copied
      if (this.#filled === staging.view.length) this.#post()
    }
    return true
  }

  #post(): void {
    const staging = this.#staging[this.#current]!
    staging.busy = true
    const { key, buffer } = staging.slot
    const known = this.#thread.slots.has(key)
    if (!known) this.#thread.slots.add(key)
    this.#thread.worker.postMessage({
      op: 'update',
      id: this.id,
      key,
      length: this.#filled,
      index: this.#current,
      ...(known ? {} : { slot: buffer }),
    })
    this.#current ^= 1
    this.#filled = 0
  }

  onReady(listener: () => void): void {
    this.#ready = listener
  }

  holds(buffer: ArrayBufferLike): boolean {
    // At most a chunk or two wait (the caller pauses on false); every other chunk was copied into a slot.
    return this.#waiting.some((chunk) => chunk.buffer === buffer)
  }

  finish(last: Buffer | undefined): Promise<Digests> {
    if (this.#error !== undefined) return Promise.reject(this.#error)
    return new Promise<Digests>((resolve, reject) => {
      this.#digest = { resolve, reject }
      this.#finishing = last
      this.#drain()
    })
  }

  /** Moves waiting chunks into free slots; once finishing and nothing waits, asks for the digests. */
  #drain(): void {
    while (this.#waiting.length > 0) {
      const chunk = this.#waiting.shift()!
      if (!this.#stage(chunk)) {
        // #stage queued the remainder at the end: keep the order.
        this.#waiting.unshift(this.#waiting.pop()!)
        return
      }
    }
    if (this.#finishing === null) {
      // Not finishing, or the finish request is already posted (then nobody waits to resume).
      if (!this.#digest) this.#ready?.()
      return
    }
    if (this.#filled > 0) {
      if (this.#staging[this.#current]!.busy) return
      this.#post()
    }
    const last = this.#finishing
    this.#finishing = null
    // The last chunk goes with the request (a copy: the caller still holds it for the client).
    this.#thread.worker.postMessage({ op: 'finish', id: this.id, last: last ? new Uint8Array(last) : undefined })
  }

  /** @internal a message from the worker for this stream. */
  receive(message: WorkerMessage): void {
    if (message.op === 'free') {
      this.#staging[message.slot]!.busy = false
      this.#drain()
      return
    }
    this.#release()
    this.#digest?.resolve({ before: message.before, whole: message.whole })
  }

  /** @internal the worker died. */
  fail(error: unknown): void {
    this.#error = error
    this.#waiting.length = 0
    this.#digest?.reject(error)
    // The thread is gone: nothing reads the slots any more.
    this.#release()
    // A caller paused on this hasher resumes and learns of the failure from finish().
    this.#ready?.()
  }

  #release(): void {
    this.#thread.streams.delete(this.id)
    this.#pool.giveSlots(this.#staging.map((staging) => staging.slot))
  }
}
