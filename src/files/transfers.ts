import { TransferDeadlineError } from '../adapters/client.js'

/** How a document transfer ended; the first end reached is the one that counts. */
export type TransferEnd =
  | { kind: 'completed' }
  /** The client hung up: not a court failure. */
  | { kind: 'client-gone' }
  /** The grant was revoked while the transfer ran. */
  | { kind: 'revoked' }
  /** The adapter was taken out of service (suspended, or changed and back to pending) while it ran. */
  | { kind: 'out-of-service' }
  /** The court was too slow overall (TransferDeadlineError). */
  | { kind: 'deadline' }
  /** The court failed, or its bytes failed their checks. */
  | { kind: 'failed'; error: unknown }

/** The longest delay a Node timer keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1

type Stop = Extract<TransferEnd['kind'], 'client-gone' | 'revoked' | 'out-of-service'>

/** Why the gateway gave up a court request that was not the court's fault. */
export class TransferStopped extends Error {
  readonly kind: Stop
  constructor(kind: Stop) {
    super(`transfer stopped: ${kind}`)
    this.kind = kind
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
 * The document transfers in flight, by grant and by adapter, so that a grant's revocation and an adapter's
 * leaving service reach the reads already streaming through them: on the replica that made the change once
 * it is durable, on the others once PostgreSQL has notified them (see stopEndedElsewhere). In memory only: a transfer does not outlive the process, and a restart closes its intent as
 * `interrupted`.
 */
export class ActiveTransfers {
  readonly #byGrant = new Map<string, Set<DocumentTransfer>>()
  readonly #byAdapter = new Map<string, Set<DocumentTransfer>>()

  start(grant: string, adapter: string, deadlineMs: number): DocumentTransfer {
    const transfer: DocumentTransfer = new DocumentTransfer(deadlineMs, () => {
      forget(this.#byGrant, grant, transfer)
      forget(this.#byAdapter, adapter, transfer)
    })
    remember(this.#byGrant, grant, transfer)
    remember(this.#byAdapter, adapter, transfer)
    return transfer
  }

  /** Stops every transfer through `grant`; called once the grant's revocation is durable. */
  revoke(grant: string): number {
    return stopAll(this.#byGrant.get(grant), 'revoked')
  }

  /** Stops every transfer from `adapter`; called once a change that takes it out of service is durable. */
  outOfService(adapter: string): number {
    return stopAll(this.#byAdapter.get(adapter), 'out-of-service')
  }

  /** The grants with transfers in flight. */
  grants(): string[] {
    return [...this.#byGrant.keys()]
  }

  /** The adapters with transfers in flight. */
  adapters(): string[] {
    return [...this.#byAdapter.keys()]
  }

  size(): number {
    let count = 0
    for (const transfers of this.#byGrant.values()) count += transfers.size
    return count
  }
}

function remember(index: Map<string, Set<DocumentTransfer>>, key: string, transfer: DocumentTransfer): void {
  const transfers = index.get(key) ?? new Set<DocumentTransfer>()
  index.set(key, transfers)
  transfers.add(transfer)
}

function forget(index: Map<string, Set<DocumentTransfer>>, key: string, transfer: DocumentTransfer): void {
  const transfers = index.get(key)
  transfers?.delete(transfer)
  if (transfers?.size === 0) index.delete(key)
}

function stopAll(transfers: Set<DocumentTransfer> | undefined, kind: Stop): number {
  const stopping = [...(transfers ?? [])]
  for (const transfer of stopping) transfer.stop(kind)
  return stopping.length
}
