import type { SqliteDatabase } from '../storage/sqlite.js'
import type { EntryFilter, LeafRecord, LogStore, StoredCheckpoint, TreeNode } from './store.js'

const SQL = {
  size: 'SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM log_entries',
  insertLeaf: `INSERT INTO log_entries
    (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
    VALUES (@index, @leaf, @leafHash, @time, @actor, @org, @court, @caseNo, @grant, @action, @decision, @phase, @intent)`,
  insertNode: 'INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)',
  readNode: 'SELECT hash FROM log_nodes WHERE level = ? AND idx = ?',
  readLeaf: 'SELECT leaf FROM log_entries WHERE idx = ?',
  readLeaves: 'SELECT idx AS "index", leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx',
  openIntents: `SELECT e.idx AS "index" FROM log_entries e WHERE e.phase = 'intent'
    AND NOT EXISTS (SELECT 1 FROM log_entries o WHERE o.intent_ref = e.idx) ORDER BY e.idx`,
  putCheckpoint: 'INSERT OR IGNORE INTO log_checkpoints (size, root, text, signed_at) VALUES (?, ?, ?, ?)',
  latestCheckpoint: 'SELECT size, root, text FROM log_checkpoints ORDER BY size DESC LIMIT 1',
} as const

const READ_PAGE = 1000

const FILTER_COLUMNS: Record<keyof EntryFilter, string> = {
  actor: 'actor = ?',
  org: 'org = ?',
  court: 'court = ?',
  caseNo: 'case_no = ?',
  grant: 'grant_id = ?',
  action: 'action = ?',
  decision: 'decision = ?',
  since: 'time >= ?',
  until: 'time < ?',
}

/** The access log in the gateway's SQLite file; durability comes from synchronous=FULL (see openSqlite). */
export class SqliteLogStore implements LogStore {
  readonly #db: SqliteDatabase
  readonly #statements
  readonly #appendBatch: (leaves: LeafRecord[], nodes: TreeNode[]) => void
  #size: number

  constructor(db: SqliteDatabase) {
    this.#db = db
    this.#statements = {
      insertLeaf: db.prepare(SQL.insertLeaf),
      insertNode: db.prepare(SQL.insertNode),
      readNode: db.prepare(SQL.readNode).pluck(),
      readLeaf: db.prepare(SQL.readLeaf).pluck(),
      readLeaves: db.prepare(SQL.readLeaves),
      putCheckpoint: db.prepare(SQL.putCheckpoint),
      latestCheckpoint: db.prepare(SQL.latestCheckpoint),
    }
    this.#size = (db.prepare(SQL.size).get() as { size: number }).size
    this.#appendBatch = db.transaction((leaves: LeafRecord[], nodes: TreeNode[]) => {
      for (const record of leaves) {
        const { meta } = record
        this.#statements.insertLeaf.run({
          index: record.index,
          leaf: record.leaf,
          leafHash: record.leafHash,
          time: meta.time,
          actor: meta.actor ?? null,
          org: meta.org ?? null,
          court: meta.court ?? null,
          caseNo: meta.caseNo ?? null,
          grant: meta.grant ?? null,
          action: meta.action,
          decision: meta.decision,
          phase: meta.phase,
          intent: meta.intent ?? null,
        })
      }
      for (const node of nodes) this.#statements.insertNode.run(node.level, node.index, node.hash)
    })
  }

  size(): number {
    return this.#size
  }

  appendBatch(leaves: LeafRecord[], nodes: TreeNode[]): void {
    if (leaves.length === 0) return
    if (leaves[0]!.index !== this.#size) throw new Error(`append at ${leaves[0]!.index} but log size is ${this.#size}`)
    this.#appendBatch(leaves, nodes)
    this.#size += leaves.length
  }

  readNode(level: number, index: number): Buffer {
    const hash = this.#statements.readNode.get(level, index) as Buffer | undefined
    if (!hash) throw new Error(`missing tree node level ${level} index ${index}`)
    return hash
  }

  readLeaf(index: number): Buffer | undefined {
    return this.#statements.readLeaf.get(index) as Buffer | undefined
  }

  /**
   * Pages with `.all()` rather than one open cursor: a consumer that streams to a slow client yields to the
   * event loop between pages, and better-sqlite3 refuses writes on a connection with an open cursor.
   */
  *readLeaves(from: number, to: number): IterableIterator<{ index: number; leaf: Buffer }> {
    for (let start = from; start < to; start += READ_PAGE) {
      yield* this.#statements.readLeaves.all(start, Math.min(to, start + READ_PAGE)) as Array<{
        index: number
        leaf: Buffer
      }>
    }
  }

  query(filter: EntryFilter, after: number, limit: number): Array<{ index: number; leaf: Buffer }> {
    const clauses = ['idx > ?']
    const values: unknown[] = [after]
    for (const [key, clause] of Object.entries(FILTER_COLUMNS) as Array<[keyof EntryFilter, string]>) {
      const value = filter[key]
      if (value !== undefined) {
        clauses.push(clause)
        values.push(value)
      }
    }
    const sql = `SELECT idx AS "index", leaf FROM log_entries WHERE ${clauses.join(' AND ')} ORDER BY idx LIMIT ?`
    return this.#db.prepare(sql).all(...values, limit) as Array<{ index: number; leaf: Buffer }>
  }

  openIntents(): number[] {
    return (this.#db.prepare(SQL.openIntents).all() as Array<{ index: number }>).map((row) => row.index)
  }

  putCheckpoint(checkpoint: StoredCheckpoint): void {
    this.#statements.putCheckpoint.run(checkpoint.size, checkpoint.root, checkpoint.text, new Date().toISOString())
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.#statements.latestCheckpoint.get() as StoredCheckpoint | undefined
  }
}
