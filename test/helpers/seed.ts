import type { Grant } from '../../src/grants/types.js'
import type { SqliteDatabase } from '../../src/storage/sqlite.js'

/**
 * Puts grants straight into a test database, for tests of reading code (listing filters and the like).
 * The gateway itself only ever writes a grant through the access log, in the transaction of its entry.
 */
export function seedGrants(db: SqliteDatabase, grants: Grant[]): void {
  const insert =
    db.prepare(`INSERT INTO grants (id, org, created_by, court, case_no, supervision_case, status, created_at, doc)
    VALUES (@id, @org, @createdBy, @court, @caseNo, @supervisionCase, @status, @createdAt, @doc)`)
  for (const grant of grants) insert.run({ ...grant, doc: JSON.stringify(grant) })
}
