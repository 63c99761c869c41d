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
