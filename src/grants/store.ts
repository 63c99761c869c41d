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

/**
 * The part of a listing both backends do after their query (which filters by organisation and status and sorts
 * newest first): grants created by or naming `filter.person`, at most `limit` of them.
 */
export function visibleGrants(docs: string[], filter: GrantFilter, limit: number): Grant[] {
  const grants = docs.map((doc) => JSON.parse(doc) as Grant)
  const person = filter.person
  const visible = person ? grants.filter((g) => g.createdBy === person || g.members.includes(person)) : grants
  return visible.slice(0, limit)
}

/** The first of the pending or active grants `docs` that has not expired at `now` (findOpen after its query). */
export function firstUnexpired(docs: string[], now: Date): Grant | undefined {
  return docs.map((doc) => JSON.parse(doc) as Grant).find((g) => Date.parse(g.expiresAt) > now.getTime())
}
