import type { SqliteDatabase } from '../storage/sqlite.js'
import type { GrantFilter, GrantStore } from './store.js'
import type { Grant } from './types.js'

const SQL = {
  insert: `INSERT INTO grants (id, org, created_by, court, case_no, supervision_case, status, created_at, doc)
    VALUES (@id, @org, @createdBy, @court, @caseNo, @supervisionCase, @status, @createdAt, @doc)`,
  get: 'SELECT doc FROM grants WHERE id = ?',
  update: 'UPDATE grants SET status = @status, doc = @doc WHERE id = @id AND status = @expected',
  findOpen: `SELECT doc FROM grants WHERE created_by = ? AND org = ? AND case_no = ? AND supervision_case = ?
    AND status IN ('pending', 'active')`,
} as const

export class SqliteGrantStore implements GrantStore {
  readonly #db: SqliteDatabase
  readonly #insert
  readonly #get
  readonly #update
  readonly #findOpen

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#insert = db.prepare(SQL.insert)
    this.#get = db.prepare(SQL.get).pluck()
    this.#update = db.prepare(SQL.update)
    this.#findOpen = db.prepare(SQL.findOpen).pluck()
  }

  insert(grant: Grant): void {
    this.#insert.run({ ...grant, doc: JSON.stringify(grant) })
  }

  get(id: string): Grant | undefined {
    const doc = this.#get.get(id) as string | undefined
    return doc ? (JSON.parse(doc) as Grant) : undefined
  }

  update(grant: Grant, expected: Grant['status']): boolean {
    return this.#update.run({ id: grant.id, status: grant.status, doc: JSON.stringify(grant), expected }).changes === 1
  }

  list(filter: GrantFilter, limit: number): Grant[] {
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
    const grants = rows.map((doc) => JSON.parse(doc) as Grant)
    const visible = filter.person
      ? grants.filter((g) => g.createdBy === filter.person || g.members.includes(filter.person!))
      : grants
    return visible.slice(0, limit)
  }

  findOpen(createdBy: string, org: string, caseNo: string, supervisionCase: string, now: Date): Grant | undefined {
    const rows = this.#findOpen.all(createdBy, org, caseNo, supervisionCase) as string[]
    return rows.map((doc) => JSON.parse(doc) as Grant).find((g) => Date.parse(g.expiresAt) > now.getTime())
  }
}
