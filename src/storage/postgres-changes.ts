import { keyOf, type StateChange } from './state-change.js'

/**
 * One statement of a state change in PostgreSQL, run inside the log's append transaction (see
 * PostgresLogStore.appendBatch): `changed` expects it to change exactly one row, `found` to return a row;
 * anything else means the change's condition does not hold. The statements see every committed change:
 * the transaction holds the lock on the log head, so no other append (from any replica) runs meanwhile, and
 * under READ COMMITTED each statement reads what was committed before it.
 */
export interface PostgresStep {
  text: string
  values: Array<string | number>
  expect: 'changed' | 'found'
}

/**
 * The channel on which every change names the record it changed (`grant:<id>`, `adapter:<id>`): PostgreSQL
 * delivers the notification to every listening replica once, and only once, the change's transaction has
 * committed (see PostgresChangeFeed, which drops the record from the replica's memory).
 */
export const STATE_CHANNEL = 'cfg_state_changes'

// Documents are compared as stored (TEXT, not JSONB, which would normalise them): JSON.stringify of a record
// parsed from its stored text gives the text back, so `doc = $n` is a compare-and-swap on the whole record.
const SQL = {
  openGrant: `INSERT INTO grants (id, org, created_by, court, case_no, supervision_case, status, created_at, doc)
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text
    WHERE NOT EXISTS (SELECT 1 FROM grants WHERE id = $1)
      AND NOT EXISTS (SELECT 1 FROM grants WHERE created_by = $3 AND org = $2 AND case_no = $5
        AND supervision_case = $6 AND status IN ('pending', 'active')
        AND (doc::jsonb ->> 'expiresAt') > $8)`,
  replaceGrant: 'UPDATE grants SET status = $2, doc = $3 WHERE id = $1 AND doc = $4',
  registerAdapter: `INSERT INTO adapters (id, court, status, created_at, doc)
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text WHERE NOT EXISTS (SELECT 1 FROM adapters WHERE id = $1)`,
  replaceAdapter: 'UPDATE adapters SET court = $2, status = $3, doc = $4 WHERE id = $1 AND doc = $5',
  adapterUnchanged: 'SELECT 1 FROM adapters WHERE id = $1 AND doc = $2',
  notify: `SELECT pg_notify('${STATE_CHANNEL}', $1)`,
} as const

/**
 * The statements that apply `change` and check its condition, in order, then announce it to the other
 * replicas (delivered at commit, never for a change rolled back).
 */
export function postgresSteps(change: StateChange): PostgresStep[] {
  return [...changeSteps(change), { text: SQL.notify, values: [keyOf(change)], expect: 'found' }]
}

function changeSteps(change: StateChange): PostgresStep[] {
  switch (change.kind) {
    case 'grant.open': {
      const { grant } = change
      const values = [
        grant.id,
        grant.org,
        grant.createdBy,
        grant.court,
        grant.caseNo,
        grant.supervisionCase,
        grant.status,
        grant.createdAt,
        JSON.stringify(grant),
      ]
      return [{ text: SQL.openGrant, values, expect: 'changed' }]
    }
    case 'grant.replace': {
      const { grant, expected } = change
      const values = [grant.id, grant.status, JSON.stringify(grant), JSON.stringify(expected)]
      return [{ text: SQL.replaceGrant, values, expect: 'changed' }]
    }
    case 'adapter.register': {
      const { adapter } = change
      const values = [adapter.id, adapter.court, adapter.status, adapter.createdAt, JSON.stringify(adapter)]
      return [{ text: SQL.registerAdapter, values, expect: 'changed' }]
    }
    case 'adapter.replace': {
      const { adapter, expected, unchanged = [] } = change
      return [
        ...unchanged.map(
          (other): PostgresStep => ({
            text: SQL.adapterUnchanged,
            values: [other.id, JSON.stringify(other)],
            expect: 'found',
          }),
        ),
        {
          text: SQL.replaceAdapter,
          values: [adapter.id, adapter.court, adapter.status, JSON.stringify(adapter), JSON.stringify(expected)],
          expect: 'changed',
        },
      ]
    }
  }
}
