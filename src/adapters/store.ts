import type { Adapter } from './types.js'

/**
 * Reading adapter registrations. Reads see every committed change; not-found is `undefined`.
 *
 * There are no write methods on purpose: a registration is made or changed only through AccessLog.append
 * with a StateChange (`adapter.register`, `adapter.replace`), in the same transaction as the log entry
 * recording it, so no adapter change is ever in force without its entry.
 */
export interface AdapterStore {
  get(id: string): Adapter | undefined
  list(): Adapter[]
}
