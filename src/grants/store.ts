import type { Grant } from './types.js'

export interface GrantFilter {
  org: string
  /** Only grants created by or naming this person; omitted for approvers, who see their organisation's. */
  person?: string
  status?: Grant['status']
}

/**
 * Reading grants. Reads see every committed change; not-found is `undefined`, never a throw.
 *
 * There are no write methods on purpose: a grant is opened or changed only through AccessLog.append with a
 * StateChange (`grant.open`, `grant.replace`), which applies it in the same transaction as the log entry
 * recording it, so no grant change is ever in force without its entry.
 */
export interface GrantStore {
  get(id: string): Grant | undefined
  list(filter: GrantFilter, limit: number): Grant[]
  /** Open (pending or active, not yet expired at `now`) grants of one person for one case and supervision case. */
  findOpen(createdBy: string, org: string, caseNo: string, supervisionCase: string, now: Date): Grant | undefined
}
