import { ChangeConflict } from '../storage/state-change.js'
import type { AccessLog } from './access-log.js'
import type { LogStore, OrphanedIntent } from './store.js'

/**
 * Closes `orphans` (intents whose process ended before their outcome) with an `interrupted` outcome, so an
 * auditor can tell a read that never finished from one still in flight. The outcome names the instance that
 * left the intent open, when known. An intent a peer closed first is skipped: the store refuses a second
 * outcome (ChangeConflict). Resolves to the number closed here.
 */
export async function closeInterruptedIntents(log: AccessLog, orphans: OrphanedIntent[]): Promise<number> {
  const closed = await Promise.all(
    orphans.map(async ({ index, instance }) => {
      const intent = (await log.get(index))?.entry
      try {
        await log.append({
          action: intent?.action ?? 'unknown',
          ...(intent?.actor ? { actor: intent.actor } : {}),
          ...(intent?.resource ? { resource: intent.resource } : {}),
          phase: 'outcome',
          decision: intent?.decision ?? 'allow',
          intent: index,
          outcome: { result: 'interrupted' },
          ...(instance ? { detail: { instance } } : {}),
        })
        return 1
      } catch (error) {
        if (error instanceof ChangeConflict) return 0
        throw error
      }
    }),
  )
  return closed.reduce((sum: number, n) => sum + n, 0)
}

export interface IntentLeaseOptions {
  log: AccessLog
  store: LogStore
  /** How long the lease lasts without a renewal; it is renewed every third of it. */
  ttlMs: number
  now: () => Date
  /** Told when a renewal or a sweep failed; the next round tries again. */
  onError: (error: unknown) => void
}

/**
 * This process's lease on the intents it appends, and the closing of intents no live process will close.
 *
 * Every `ttlMs / 3` the lease is extended to `now + ttlMs` and the intents of processes whose lease has
 * expired are closed as interrupted: a process killed mid-read is presumed dead once it has missed about
 * three renewals, and its reads are closed by whichever peer looks first, even if it never comes back. A
 * live process's reads in flight are never closed by a starting or sweeping peer while its lease holds.
 *
 * A process stalled longer than its lease (a pause, a partition from the database) may find its intents
 * closed by a peer; the outcome it then appends is refused, so the intent keeps the one outcome it has.
 */
export class IntentLeases {
  readonly #options: IntentLeaseOptions
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> = Promise.resolve()
  #stopped = false

  constructor(options: IntentLeaseOptions) {
    this.#options = options
  }

  /**
   * Takes the lease and closes what is orphaned now, before the process serves: rejects if either fails, so
   * that a gateway never starts unable to keep its lease. Then renews and sweeps on a timer.
   */
  async start(): Promise<void> {
    await this.sweep()
    this.#timer = setInterval(
      () => void this.sweep().catch((error: unknown) => this.#options.onError(error)),
      Math.max(1, Math.floor(this.#options.ttlMs / 3)),
    )
    this.#timer.unref()
  }

  /** One renewal and sweep now (after the one running); for tests and shutdown. */
  sweep(): Promise<void> {
    const round = this.#round.then(() => this.#renewAndSweep())
    this.#round = round.catch(() => {})
    return round
  }

  async #renewAndSweep(): Promise<void> {
    if (this.#stopped) return
    const { store, log, ttlMs, now } = this.#options
    await store.renewLease(now(), ttlMs)
    await closeInterruptedIntents(log, await store.orphanedIntents(now()))
  }

  /** Stops renewing and sweeping; the lease itself is given up by `release`. */
  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    await this.#round
  }

  /**
   * Gives up the lease, once this process's reads have their outcomes: whatever it still leaves open is then
   * closed by a peer at its next sweep rather than after the lease would have expired.
   */
  async release(): Promise<void> {
    await this.stop()
    await this.#options.store.releaseLease()
  }
}
