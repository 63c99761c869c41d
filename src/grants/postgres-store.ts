import type pg from 'pg'
import { firstUnexpired, type GrantFilter, type GrantStore, visibleGrants } from './store.js'
import type { Grant } from './types.js'

/** Grants in PostgreSQL; their writes are in storage/postgres-changes.ts. */
export class PostgresGrantStore implements GrantStore {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async get(id: string): Promise<Grant | undefined> {
    const { rows } = await this.#pool.query<{ doc: string }>('SELECT doc FROM grants WHERE id = $1', [id])
    return rows[0] ? (JSON.parse(rows[0].doc) as Grant) : undefined
  }

  async list(filter: GrantFilter, limit: number): Promise<Grant[]> {
    const values: string[] = [filter.org]
    const clauses = ['org = $1']
    if (filter.status) {
      values.push(filter.status)
      clauses.push(`status = $${values.length}`)
    }
    const { rows } = await this.#pool.query<{ doc: string }>(
      `SELECT doc FROM grants WHERE ${clauses.join(' AND ')} ORDER BY created_at DESC`,
      values,
    )
    return visibleGrants(
      rows.map((row) => row.doc),
      filter,
      limit,
    )
  }

  async findOpen(
    createdBy: string,
    org: string,
    caseNo: string,
    supervisionCase: string,
    now: Date,
  ): Promise<Grant | undefined> {
    const { rows } = await this.#pool.query<{ doc: string }>(
      `SELECT doc FROM grants WHERE created_by = $1 AND org = $2 AND case_no = $3 AND supervision_case = $4
        AND status IN ('pending', 'active')`,
      [createdBy, org, caseNo, supervisionCase],
    )
    return firstUnexpired(
      rows.map((row) => row.doc),
      now,
    )
  }
}
