import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import type { EntryInput } from '../../src/accesslog/entry.js'
import {
  FILTER_INDEX_BATCH,
  filterQueries,
  INTENT_CLOSED_SQL,
  OPEN_INTENTS_SQL,
} from '../../src/accesslog/sqlite-filters.js'
import { openSqlite, SQLITE_MIGRATIONS } from '../../src/storage/sqlite.js'
import { checkLogFile, openFileLog } from '../helpers/file-log.js'

function reading(n: number): EntryInput {
  return {
    actor: { sub: `reader.${n % 7}`, org: '230100', roles: ['prosecutor'], issuer: 'urn:court-file-gateway:dev' },
    action: 'document.read',
    resource: { court: n % 2 === 0 ? '黑01' : '黑0103', caseNo: `（2023）黑01民终${n % 11}号`, grant: `g-${n % 5}` },
    phase: 'event',
    decision: 'allow',
  }
}

const filtersOf = (db: Database.Database) =>
  db.prepare('SELECT COUNT(*) AS count, COALESCE(MAX(idx) + 1, 0) AS end FROM log_filters').get() as {
    count: number
    end: number
  }

t.test(
  'the writer thread copies committed entries into the filter index in batches, leaving a short tail',
  async (t) => {
    const { log, path } = await openFileLog(t)
    const appended = 3 * FILTER_INDEX_BATCH + 40
    await Promise.all(Array.from({ length: appended }, (_, i) => log.append(reading(i))))
    await log.close()
    const db = new Database(path, { readonly: true })
    t.teardown(() => db.close())
    const { count, end } = filtersOf(db)
    t.equal(count, end, 'the index holds one contiguous range from entry 0')
    t.ok(end > appended - FILTER_INDEX_BATCH && end <= appended, `${end} of ${appended} entries indexed`)
    const disagreeing = db
      .prepare(
        `SELECT COUNT(*) FROM log_filters f JOIN log_entries e USING (idx) WHERE f.actor IS NOT e.actor
       OR f.org IS NOT e.org OR f.court IS NOT e.court OR f.case_no IS NOT e.case_no OR f.grant_id IS NOT e.grant_id`,
      )
      .pluck()
      .get()
    t.equal(disagreeing, 0, 'each row has its entry’s columns')
    t.match(checkLogFile(path), { ok: true, problems: [] }, 'the offline check finds the index intact')

    // Each indexed filter walks its column's index in idx order, so a page stops at its limit; no full scan.
    for (const [filter, index] of [
      [{ actor: 'reader.3' }, 'log_filters_actor'],
      [{ court: '黑01', caseNo: '（2023）黑01民终4号' }, /log_filters_(court|case)/],
      [{ grant: 'g-2', since: '2020-01-01T00:00:00Z' }, 'log_filters_grant'],
    ] as const) {
      const { indexed, tail } = filterQueries(filter, -1, end)
      const plan = (sql: string, params: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params, 10) as Array<{ detail: string }>)
          .map((row) => row.detail)
          .join('; ')
      const indexedPlan = plan(indexed!.sql, indexed!.params)
      t.match(indexedPlan, index, `${JSON.stringify(filter)}: ${indexedPlan}`)
      t.notMatch(indexedPlan, /TEMP B-TREE/, 'no sort: the index gives idx order')
      t.match(plan(tail.sql, tail.params), /SEARCH e USING INTEGER PRIMARY KEY \(rowid>\?\)/, 'the tail by idx range')
    }
  },
)

t.test('the search for open intents uses the index below its end', async (t) => {
  const { db } = await openFileLog(t)
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${OPEN_INTENTS_SQL}`).all() as Array<{ detail: string }>)
    .map((row) => row.detail)
    .join('; ')
  t.match(plan, /log_filters_intents/, plan)
  t.match(plan, /log_filters_intent_ref/)
  t.notMatch(plan, /SCAN log_entries/, 'log_entries only from the end of the index on')
  const closed = (db.prepare(`EXPLAIN QUERY PLAN ${INTENT_CLOSED_SQL}`).all({ intent: 7 }) as Array<{ detail: string }>)
    .map((row) => row.detail)
    .join('; ')
  t.match(closed, /log_filters_intent_ref/, closed)
  t.notMatch(closed, /SCAN log_entries/)
})

t.test('schema version 3 moves the indexes of an existing log into log_filters', async (t) => {
  const path = join(t.testdir(), 'gateway.db')
  const before = openSqlite(path, SQLITE_MIGRATIONS.slice(0, 2))
  const insert = before.prepare(
    `INSERT INTO log_entries
       (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
     VALUES (?, X'7b7d', X'00', '2026-01-01T00:00:00Z', ?, '230100', ?, ?, ?, 'document.read', 'allow', ?, ?)`,
  )
  for (let i = 0; i < 10; i++) {
    const phase = i === 2 ? 'intent' : i === 3 ? 'outcome' : 'event'
    insert.run(i, `reader.${i % 3}`, '黑01', `case-${i % 2}`, i % 4 === 0 ? null : 'g-1', phase, i === 3 ? 2 : null)
  }
  before.close()

  const db = openSqlite(path)
  t.teardown(() => db.close())
  t.equal(db.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length)
  t.same(filtersOf(db), { count: 10, end: 10 }, 'every existing entry is in the index')
  t.same(db.prepare('SELECT idx, actor, case_no, grant_id FROM log_filters WHERE idx IN (0, 5) ORDER BY idx').all(), [
    { idx: 0, actor: 'reader.0', case_no: 'case-0', grant_id: null },
    { idx: 5, actor: 'reader.2', case_no: 'case-1', grant_id: 'g-1' },
  ])
  const indexes = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log_entries' ORDER BY name`)
    .pluck()
    .all()
  t.same(indexes, [], 'log_entries has no index of its own: each was a page of every commit')
  t.same(db.prepare('SELECT idx, phase, intent_ref FROM log_filters WHERE idx IN (2, 3) ORDER BY idx').all(), [
    { idx: 2, phase: 'intent', intent_ref: null },
    { idx: 3, phase: 'outcome', intent_ref: 2 },
  ])
})
