import type { Adapter } from './types.js'

/**
 * Reading adapter registrations. Reads see every committed change; not-found resolves to `undefined`.
 * Asynchronous, so that the registrations can live on a database server.
 *
 * There are no write methods on purpose: a registration is made or changed only through AccessLog.append
 * with a StateChange (`adapter.register`, `adapter.replace`), in the same transaction as the log entry
 * recording it, so no adapter change is ever in force without its entry.
 */
export interface AdapterStore {
  get(id: string): Promise<Adapter | undefined>
  list(): Promise<Adapter[]>
}
