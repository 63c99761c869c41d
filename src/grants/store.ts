import type { Grant } from './types.js'

export interface GrantFilter {
  org: string
  /** Only grants created by or naming this person; omitted for approvers, who see their organisation's. */
  person?: string
  status?: Grant['status']
}

/**
 * Reading grants. Reads see every committed change; not-found resolves to `undefined`, never rejects.
 * Asynchronous, so that the grants can live on a database server.
 *
 * There are no write methods on purpose: a grant is opened or changed only through AccessLog.append with a
 * StateChange (`grant.open`, `grant.replace`), which applies it in the same transaction as the log entry
 * recording it, so no grant change is ever in force without its entry.
 */
export interface GrantStore {
  get(id: string): Promise<Grant | undefined>
  list(filter: GrantFilter, limit: number): Promise<Grant[]>
  /** Open (pending or active, not yet expired at `now`) grants of one person for one case and supervision case. */
  findOpen(
    createdBy: string,
    org: string,
    caseNo: string,
    supervisionCase: string,
    now: Date,
  ): Promise<Grant | undefined>
}
