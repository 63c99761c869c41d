import { TransferDeadlineError } from '../adapters/client.js'

/** How a document transfer ended; the first end reached is the one that counts. */
export type TransferEnd =
  | { kind: 'completed' }
  /** The client hung up: not a court failure. */
  | { kind: 'client-gone' }
  /** The grant was revoked while the transfer ran. */
  | { kind: 'revoked' }
  /** The court was too slow overall (TransferDeadlineError). */
  | { kind: 'deadline' }
  /** The court failed, or its bytes failed their checks. */
  | { kind: 'failed'; error: unknown }

/** The longest delay a Node timer keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1

type Stop = Extract<TransferEnd['kind'], 'client-gone' | 'revoked'>

/** Why the gateway gave up a court request that was not the court's fault. */
export class TransferStopped extends Error {
  constructor(readonly kind: Stop) {
    super(`transfer stopped: ${kind}`)
  }
}

/**
 * One document read in flight. Everything that can end it — the client, a revocation, the deadline, the
 * court, the integrity checks, success — reports here, and only the first report counts: an end caused by
 * another (the gateway cutting the client's connection after an integrity failure makes the client look
 * gone) never overrides its cause. Stopping aborts `signal`, which the court request carries.
 */
export class DocumentTransfer {
  readonly #controller = new AbortController()
  readonly #timer: NodeJS.Timeout
  readonly #onDispose: () => void
  #end: TransferEnd | undefined

  constructor(deadlineMs: number, onDispose: () => void) {
    this.#onDispose = onDispose
    // Node fires a timer longer than 2^31 − 1 ms at once: a deadline that long is capped at about 24.8 days.
    const ms = Math.min(deadlineMs, MAX_TIMER_MS)
    this.#timer = setTimeout(() => {
      if (this.#settle({ kind: 'deadline' })) this.#controller.abort(new TransferDeadlineError(ms))
    }, ms)
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get end(): TransferEnd | undefined {
    return this.#end
  }

  /** Records how the transfer ended, unless it had ended already. */
  settle(end: TransferEnd): void {
    this.#settle(end)
  }

  /** Ends the transfer for a reason of the gateway's own and aborts the court request. */
  stop(kind: Stop): void {
    if (this.#settle({ kind })) this.#controller.abort(new TransferStopped(kind))
  }

  /** Stops the deadline and forgets the transfer; call once its outcome is known. */
  dispose(): void {
    clearTimeout(this.#timer)
    this.#onDispose()
  }

  #settle(end: TransferEnd): boolean {
    if (this.#end) return false
    this.#end = end
    return true
  }
}

/**
 * The document transfers in flight, by grant, so that a grant's revocation reaches the reads already
 * streaming through it (in this process: each replica stops its own). In memory only: a transfer does not
 * outlive the process, and a restart closes its intent as `interrupted`.
 */
export class ActiveTransfers {
  readonly #byGrant = new Map<string, Set<DocumentTransfer>>()

  start(grant: string, deadlineMs: number): DocumentTransfer {
    const transfers = this.#byGrant.get(grant) ?? new Set<DocumentTransfer>()
    this.#byGrant.set(grant, transfers)
    const transfer = new DocumentTransfer(deadlineMs, () => {
      transfers.delete(transfer)
      if (transfers.size === 0 && this.#byGrant.get(grant) === transfers) this.#byGrant.delete(grant)
    })
    transfers.add(transfer)
    return transfer
  }

  /** Stops every transfer through `grant`; called once the grant's revocation is durable. */
  revoke(grant: string): number {
    const transfers = [...(this.#byGrant.get(grant) ?? [])]
    for (const transfer of transfers) transfer.stop('revoked')
    return transfers.length
  }

  size(): number {
    let count = 0
    for (const transfers of this.#byGrant.values()) count += transfers.size
    return count
  }
}
