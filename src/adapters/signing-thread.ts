import { type KeyObject, type SignKeyObjectInput, sign } from 'node:crypto'
import { Worker } from 'node:worker_threads'

/** node:crypto's `sign` arguments for one key: the digest (null for Ed25519) and the key with its encoding. */
export interface SignArguments {
  digest: string | null
  key: KeyObject | SignKeyObjectInput
}

/**
 * The worker: signs every input of a batch with the one key it was given, and answers with the signatures
 * (base64url) in the same order. Plain JavaScript for `new Worker(code, { eval: true })`, so it runs the same
 * under tsx, tap and from dist/.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { sign } = require('node:crypto')
const { digest, key } = workerData
parentPort.on('message', ({ id, inputs }) => {
  const signatures = inputs.map((input) => sign(digest, Buffer.from(input), key).toString('base64url'))
  parentPort.postMessage({ id, signatures })
})
`

interface Waiting {
  input: string
  resolve: (signature: string) => void
  reject: (error: Error) => void
}

/**
 * Signs on one worker thread, in batches: every signature asked for in one turn of the event loop goes to
 * the thread as one message. On libuv's pool each signature costs the event loop the job's set-up and its
 * callback, a third to a half of what signing costs; a message costs about as much as one such set-up, but
 * carries every signature of its turn. In the gateway this took 22 to 27 µs per 20 KB read off the main
 * thread at 32 connections (BENCHMARKS.md, "Session 9"). The thread is only a way to sign cheaply, never a
 * way for a read to fail: until it runs, and for a batch it was signing when it died, the signatures are made
 * on libuv's pool instead; a thread that died is started again on the next signature.
 */
export class SigningThread {
  readonly #arguments: SignArguments
  #worker: Worker | undefined
  /** Settles once the thread runs, or has stopped before it did. */
  #running: Promise<void> = Promise.resolve()
  #online = false
  #queue: Waiting[] = []
  #flushScheduled = false
  #sent = new Map<number, Waiting[]>()
  #batches = 0
  /** Set by start(): a thread that died is then started again on the next signature. */
  #wanted = false
  #closed = false

  constructor(signWith: SignArguments) {
    this.#arguments = signWith
  }

  /** Starts the thread (it takes about 150 ms of CPU, so the caller chooses when); signatures wait for nothing. */
  start(): void {
    this.#wanted = true
    if (this.#closed || this.#worker) return
    const { digest, key } = this.#arguments
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'signing', workerData: { digest, key } })
    // The thread never keeps the process alive; close() ends it on a clean stop.
    worker.unref()
    this.#worker = worker
    this.#running = new Promise((resolve) => {
      worker.once('online', () => {
        if (this.#worker === worker) this.#online = true
        resolve()
      })
      worker.once('exit', () => resolve())
    })
    worker.on('message', ({ id, signatures }: { id: number; signatures: string[] }) => {
      const batch = this.#sent.get(id)
      this.#sent.delete(id)
      for (const [index, waiting] of (batch ?? []).entries()) waiting.resolve(signatures[index]!)
    })
    const died = () => {
      if (this.#worker !== worker) return
      this.#worker = undefined
      this.#online = false
      const lost = [...this.#sent.values()].flat()
      this.#sent.clear()
      for (const waiting of lost) this.#onPool(waiting)
    }
    worker.on('error', died)
    worker.on('exit', died)
  }

  /** Starts the thread and resolves once it runs (or has stopped before it did). */
  ready(): Promise<void> {
    this.start()
    return this.#running
  }

  /** Whether signatures go to the thread (it runs) rather than to libuv's pool. */
  get online(): boolean {
    return this.#online
  }

  /** Batches sent to the thread so far. */
  get batches(): number {
    return this.#batches
  }

  /** The signature of `input` (base64url). */
  sign(input: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const waiting = { input, resolve, reject }
      if (!this.#online) {
        if (this.#wanted) this.start()
        this.#onPool(waiting)
        return
      }
      this.#queue.push(waiting)
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        // setImmediate, not a microtask: every read whose intent one commit made durable reaches its
        // signature in the same turn, and they go as one message.
        setImmediate(() => this.#flush())
      }
    })
  }

  /** Ends the thread; what it was still signing is signed on the pool (as when it dies), and so is what follows. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#worker?.terminate()
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#queue
    this.#queue = []
    if (batch.length === 0) return
    if (!this.#online) {
      for (const waiting of batch) this.#onPool(waiting)
      return
    }
    const id = ++this.#batches
    this.#sent.set(id, batch)
    this.#worker!.postMessage({ id, inputs: batch.map((waiting) => waiting.input) })
  }

  #onPool({ input, resolve, reject }: Waiting): void {
    const { digest, key } = this.#arguments
    try {
      sign(digest, Buffer.from(input), key, (error, signature) =>
        error ? reject(error) : resolve(signature.toString('base64url')),
      )
    } catch (error) {
      reject(error as Error)
    }
  }
}
