import { copyFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { lastLeafOf, nodeIndexOf } from '../../src/accesslog/sqlite-nodes.js'
import { SQLITE_MIGRATIONS } from '../../src/storage/sqlite.js'
import { checkLogFile, openFileLog } from '../helpers/file-log.js'

/**
 * Schema version 4 keys a tree node's row by the last leaf it covers, then its level (src/accesslog/sqlite-nodes.ts),
 * so that the nodes one append completes share a page. These tests pin the key, the migration of a version-3 file
 * and what the offline check makes of rows that no key of the tree can reach.
 */

const event = (n: number) => ({
  action: 'grant.create',
  phase: 'event' as const,
  decision: 'allow' as const,
  detail: { n },
})

/** A log of `count` entries with a checkpoint over all of them, closed; its file's path. */
async function writtenLog(t: Tap, count: number): Promise<string> {
  const { log, path } = await openFileLog(t, { checkpointIntervalMs: 3_600_000 })
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(event(i))))
  await log.close()
  return path
}
type Tap = { testdir(): string; teardown(fn: () => unknown): void }

/** Rewrites a version-4 file's nodes as version 3 kept them, keyed by (level, idx). */
function asVersion3(path: string): void {
  const db = new Database(path)
  db.exec(`
    CREATE TABLE log_nodes_v3 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
      PRIMARY KEY (level, idx)) WITHOUT ROWID;
    INSERT INTO log_nodes_v3 SELECT level, ((last_leaf + 1) >> level) - 1, hash FROM log_nodes;
    DROP TABLE log_nodes;
    ALTER TABLE log_nodes_v3 RENAME TO log_nodes;
    PRAGMA user_version = 3;
  `)
  // Into the main file, which the test copies.
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
}

const nodesOf = (path: string, sql: string) => {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(sql).all()
  } finally {
    db.close()
  }
}

t.test('a node is keyed by the last leaf it covers, and the key gives its index back', async (t) => {
  t.equal(lastLeafOf(0, 5), 5, 'a leaf: itself')
  t.equal(lastLeafOf(1, 0), 1)
  t.equal(lastLeafOf(2, 1), 7, 'entries 4–7')
  t.equal(lastLeafOf(20, 3), 4 * 2 ** 20 - 1)
  for (const [level, index] of [
    [0, 0],
    [3, 9],
    [31, 2],
    [40, 1000],
  ] as const)
    t.equal(nodeIndexOf(level, lastLeafOf(level, index)), index, `level ${level} index ${index}`)
  t.notOk(Number.isInteger(nodeIndexOf(2, 6)), 'no subtree of level 2 ends at entry 6')
})

t.test('the nodes of one append are neighbours: every node a leaf completes ends at it', async (t) => {
  const path = await writtenLog(t, 16)
  const rows = nodesOf(path, 'SELECT last_leaf, level FROM log_nodes WHERE last_leaf = 15 ORDER BY level')
  t.same(
    rows,
    [0, 1, 2, 3, 4].map((level) => ({ last_leaf: 15, level })),
    'leaf 15 completes five nodes, one key apart',
  )
  t.equal(nodesOf(path, 'SELECT * FROM log_nodes').length, 31, '2n − 1 nodes for 16 leaves')
})

t.test('schema version 4 rekeys the nodes of a version-3 file: the same tree, checked and appended to', async (t) => {
  const path = await writtenLog(t, 2500)
  const before = nodesOf(path, 'SELECT last_leaf, level, hash FROM log_nodes ORDER BY last_leaf, level')
  asVersion3(path)
  const old = join(dirname(path), 'version3.db')
  copyFileSync(path, old)
  t.match(
    checkLogFile(old),
    { ok: true, size: 2500, nodes: before.length, problems: [] },
    'the check reads version 3 as it is',
  )

  const { log, db } = await openFileLog(t, { path, checkpointIntervalMs: 3_600_000 })
  t.equal(db.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length)
  t.same(
    db.prepare('SELECT last_leaf, level, hash FROM log_nodes ORDER BY last_leaf, level').all(),
    before,
    'every node, rekeyed',
  )
  t.equal(log.size(), 2500, 'the stored tree reproduces its signed checkpoint (the log opened)')
  t.equal(await log.append(event(2500)), 2500, 'and grows on')
  await log.close()
  t.match(checkLogFile(path), { ok: true, size: 2501, problems: [] })
})

t.test('the check names node rows no subtree has: at a key that ends none, and beyond the log', async (t) => {
  // Over 2^11 entries, so that the nodes above the check's blocks of 2^10 leaves are read too.
  const path = await writtenLog(t, 2100)
  const db = new Database(path)
  const forge = db.prepare(`INSERT INTO log_nodes (last_leaf, level, hash) VALUES (?, ?, zeroblob(32))`)
  forge.run(6, 2)
  forge.run(2000, 11)
  forge.run(2100, 0)
  forge.run(2103, 2)
  db.close()
  const { ok, problems } = checkLogFile(path)
  t.equal(ok, false)
  t.match(problems, [
    {
      kind: 'node',
      level: 11,
      message: /level 11 ends at entry 2000, where no subtree of that level ends: it was forged/,
    },
    { kind: 'node', level: 2, message: /level 2 ends at entry 6, where no subtree of that level ends: it was forged/ },
    { kind: 'node', level: 0, index: 2100, message: /level 0 index 2100 and up should not exist: the log holds 2100/ },
    { kind: 'node', level: 2, index: 525, message: /level 2 index 525 and up should not exist/ },
  ])
  t.equal(problems.length, 4, 'each once')
})
