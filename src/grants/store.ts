import type { Grant } from './types.js'

export interface GrantFilter {
  org: string
  /** Only grants created by or naming this person; omitted for approvers, who see their organisation's. */
  person?: string
  status?: Grant['status']
}

/**
 * Grant storage. Every call is atomic and durable on return. Not-found is `undefined`, never a throw.
 */
export interface GrantStore {
  insert(grant: Grant): void
  get(id: string): Grant | undefined
  /** Replaces the grant only if its stored status is still `expected` (a compare-and-swap); false if not. */
  update(grant: Grant, expected: Grant['status']): boolean
  list(filter: GrantFilter, limit: number): Grant[]
  /** Open (pending or active, not yet expired at `now`) grants of one person for one case and supervision case. */
  findOpen(createdBy: string, org: string, caseNo: string, supervisionCase: string, now: Date): Grant | undefined
}
