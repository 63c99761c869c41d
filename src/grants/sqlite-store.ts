import type { SqliteDatabase } from '../storage/sqlite.js'
import { firstUnexpired, type GrantFilter, type GrantStore, visibleGrants } from './store.js'
import type { Grant } from './types.js'

const SQL = {
  get: 'SELECT doc FROM grants WHERE id = ?',
  findOpen: `SELECT doc FROM grants WHERE created_by = ? AND org = ? AND case_no = ? AND supervision_case = ?
    AND status IN ('pending', 'active')`,
} as const

/** Grants in the gateway's SQLite file; their writes are in storage/sqlite-changes.ts. */
export class SqliteGrantStore implements GrantStore {
  readonly #db: SqliteDatabase
  readonly #get
  readonly #findOpen

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#get = db.prepare(SQL.get).pluck()
    this.#findOpen = db.prepare(SQL.findOpen).pluck()
  }

  async get(id: string): Promise<Grant | undefined> {
    const doc = this.#get.get(id) as string | undefined
    return doc ? (JSON.parse(doc) as Grant) : undefined
  }

  async list(filter: GrantFilter, limit: number): Promise<Grant[]> {
    const clauses = ['org = ?']
    const values: unknown[] = [filter.org]
    if (filter.status) {
      clauses.push('status = ?')
      values.push(filter.status)
    }
    const rows = this.#db
      .prepare(`SELECT doc FROM grants WHERE ${clauses.join(' AND ')} ORDER BY created_at DESC`)
      .pluck()
      .all(...values) as string[]
    return visibleGrants(rows, filter, limit)
  }

  async findOpen(
    createdBy: string,
    org: string,
    caseNo: string,
    supervisionCase: string,
    now: Date,
  ): Promise<Grant | undefined> {
    const rows = this.#findOpen.all(createdBy, org, caseNo, supervisionCase) as string[]
    return firstUnexpired(rows, now)
  }
}
