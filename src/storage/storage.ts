import type { LogStore } from '../accesslog/store.js'
import type { AdapterStore } from '../adapters/store.js'
import type { GrantStore } from '../grants/store.js'

/**
 * The gateway's durable state on one backend: the access log, and the grants and adapter registrations
 * whose changes the log store applies in the transaction of the entry recording them (see
 * StateChange). Every backend passes the same contract suite (test/helpers/store-contract.ts).
 */
export interface Storage {
  readonly log: LogStore
  readonly grants: GrantStore
  readonly adapters: AdapterStore
  /** Stops the log's write path (after the batches already sent) and closes the connections. */
  close(): Promise<void>
}

const STORAGE_FAILURE = Symbol('storage failure')

/**
 * Marks `error` as a failure of the storage itself (the database unreachable, restarting, refusing), as opposed
 * to a bug: the HTTP layer answers it with a temporary 503 instead of a 500. The error itself is kept, with its
 * driver's code.
 */
export function markStorageFailure(error: unknown): unknown {
  if (error !== null && typeof error === 'object') (error as Record<symbol, unknown>)[STORAGE_FAILURE] = true
  return error
}

/** Whether `error` came from the storage (see markStorageFailure; SQLite's own errors always do). */
export function isStorageFailure(error: unknown): boolean {
  return error instanceof Error && (error.name === 'SqliteError' || STORAGE_FAILURE in error)
}
