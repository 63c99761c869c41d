import type { StateChange } from './state-change.js'

/**
 * One statement of a state change in SQLite, run inside the log's transaction: `changed` expects it to
 * change exactly one row, `found` to return a row; anything else means the change's condition does not
 * hold. Plain data, so that it can be posted to the log's writer thread.
 */
export interface SqliteStep {
  sql: string
  params: Record<string, string | number>
  expect: 'changed' | 'found'
}

// Documents are compared as stored: JSON.stringify of a record parsed from its stored JSON gives the stored
// text back, so `doc = @expected` is a compare-and-swap on the whole record.
const SQL = {
  openGrant: `INSERT INTO grants (id, org, created_by, court, case_no, supervision_case, status, created_at, doc)
    SELECT @id, @org, @createdBy, @court, @caseNo, @supervisionCase, @status, @createdAt, @doc
    WHERE NOT EXISTS (SELECT 1 FROM grants WHERE id = @id)
      AND NOT EXISTS (SELECT 1 FROM grants WHERE created_by = @createdBy AND org = @org AND case_no = @caseNo
        AND supervision_case = @supervisionCase AND status IN ('pending', 'active')
        AND json_extract(doc, '$.expiresAt') > @createdAt)`,
  replaceGrant: 'UPDATE grants SET status = @status, doc = @doc WHERE id = @id AND doc = @expected',
  registerAdapter: `INSERT INTO adapters (id, court, status, created_at, doc)
    SELECT @id, @court, @status, @createdAt, @doc WHERE NOT EXISTS (SELECT 1 FROM adapters WHERE id = @id)`,
  replaceAdapter: 'UPDATE adapters SET court = @court, status = @status, doc = @doc WHERE id = @id AND doc = @expected',
  adapterUnchanged: 'SELECT 1 FROM adapters WHERE id = @id AND doc = @doc',
} as const

/** The statements that apply `change` and check its condition, in order. */
export function sqliteSteps(change: StateChange): SqliteStep[] {
  switch (change.kind) {
    case 'grant.open': {
      const { grant } = change
      const params = {
        id: grant.id,
        org: grant.org,
        createdBy: grant.createdBy,
        court: grant.court,
        caseNo: grant.caseNo,
        supervisionCase: grant.supervisionCase,
        status: grant.status,
        createdAt: grant.createdAt,
        doc: JSON.stringify(grant),
      }
      return [{ sql: SQL.openGrant, params, expect: 'changed' }]
    }
    case 'grant.replace': {
      const { grant, expected } = change
      const params = {
        id: grant.id,
        status: grant.status,
        doc: JSON.stringify(grant),
        expected: JSON.stringify(expected),
      }
      return [{ sql: SQL.replaceGrant, params, expect: 'changed' }]
    }
    case 'adapter.register': {
      const { adapter } = change
      const params = {
        id: adapter.id,
        court: adapter.court,
        status: adapter.status,
        createdAt: adapter.createdAt,
        doc: JSON.stringify(adapter),
      }
      return [{ sql: SQL.registerAdapter, params, expect: 'changed' }]
    }
    case 'adapter.replace': {
      const { adapter, expected, unchanged = [] } = change
      return [
        ...unchanged.map(
          (other): SqliteStep => ({
            sql: SQL.adapterUnchanged,
            params: { id: other.id, doc: JSON.stringify(other) },
            expect: 'found',
          }),
        ),
        {
          sql: SQL.replaceAdapter,
          params: {
            id: adapter.id,
            court: adapter.court,
            status: adapter.status,
            doc: JSON.stringify(adapter),
            expected: JSON.stringify(expected),
          },
          expect: 'changed',
        },
      ]
    }
  }
}
