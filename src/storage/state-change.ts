import type { Adapter } from '../adapters/types.js'
import type { Grant } from '../grants/types.js'

/**
 * A change of the gateway's state (a grant or an adapter registration) that takes effect only together with
 * the access-log entry recording it. The log store applies it inside the very transaction that appends the
 * entry (see LogStore.appendBatch), so after any failure — an entry the log refuses, a full disk, a lock, a
 * crash — either both the change and its entry are durable, or neither is: no change is ever in force
 * unlogged, and the log never records a change that did not happen.
 *
 * Every change is conditional, so that a decision taken on a record read earlier cannot overwrite a change
 * made meanwhile. When its condition does not hold, nothing of it is written and the append is refused with
 * a {@link ChangeConflict}. The conditions are stated on whole records so that any backend can check them in
 * the same transaction (SQLite: a statement per condition; PostgreSQL: the same, or rows locked FOR UPDATE).
 */
export type StateChange =
  /**
   * Opens `grant`. Condition: no grant with its id exists, and no open twin does — a grant of the same
   * creator, organisation, case and supervision case that is pending or active and not expired at
   * `grant.createdAt` (a person holds at most one open grant per case and supervision case).
   */
  | { kind: 'grant.open'; grant: Grant }
  /** Replaces a grant by `grant`. Condition: the stored grant is still exactly `expected`. */
  | { kind: 'grant.replace'; grant: Grant; expected: Grant }
  /** Registers `adapter`. Condition: no adapter with its id exists. */
  | { kind: 'adapter.register'; adapter: Adapter }
  /**
   * Replaces an adapter by `adapter`. Condition: the stored adapter is still exactly `expected`, and each of
   * `unchanged` (the registrations a decision relied on, e.g. that no other adapter serves the same court)
   * is still stored exactly as given.
   */
  | { kind: 'adapter.replace'; adapter: Adapter; expected: Adapter; unchanged?: Adapter[] }

/** A record a change may touch: `grant:<id>` or `adapter:<id>` (the text PostgreSQL notifications carry). */
export type StateKey = `grant:${string}` | `adapter:${string}`

/** The key of the record `change` changes. */
export function keyOf(change: StateChange): StateKey {
  switch (change.kind) {
    case 'grant.open':
    case 'grant.replace':
      return `grant:${change.grant.id}`
    case 'adapter.register':
    case 'adapter.replace':
      return `adapter:${change.adapter.id}`
  }
}

/**
 * The condition of the change recorded by the entry at `index` did not hold: nothing of that entry or its
 * change was written. (Entries of other requests committed with it are not affected.)
 */
export class ChangeConflict extends Error {
  readonly index: number
  constructor(index: number, message = `the change logged at ${index} conflicts with a change made meanwhile`) {
    super(message)
    this.name = 'ChangeConflict'
    this.index = index
  }
}
