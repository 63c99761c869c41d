import type { Statement } from 'better-sqlite3'
import { sqliteSteps } from '../storage/sqlite-changes.js'
import type { SqliteDatabase } from '../storage/sqlite.js'
import { ChangeConflict } from '../storage/state-change.js'
import {
  COPY_FILTERS_SQL,
  FILTER_INDEX_BATCH,
  FILTERS_END_SQL,
  filterQueries,
  INTENT_CLOSED_SQL,
  OPEN_INTENTS_SQL,
} from './sqlite-filters.js'
import { WAL_AUTOCHECKPOINT_PAGES, WorkerWriter } from './sqlite-writer.js'
import type { NodePosition } from './merkle/tree.js'
import { randomBytes } from 'node:crypto'
import type {
  EntryFilter,
  LeafRecord,
  LoggedIntent,
  LogStore,
  OrphanedIntent,
  StoredCheckpoint,
  TreeNode,
} from './store.js'
import { lastLeafOf } from './sqlite-nodes.js'

const SQL = {
  size: 'SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM log_entries',
  insertLeaf: `INSERT INTO log_entries
    (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
    VALUES (@index, @leaf, @leafHash, @time, @actor, @org, @court, @caseNo, @grant, @action, @decision, @phase, @intent)`,
  insertNode: 'INSERT INTO log_nodes (level, last_leaf, hash) VALUES (?, ?, ?)',
  readNode: 'SELECT hash FROM log_nodes WHERE last_leaf = ? AND level = ?',
  readLeaf: 'SELECT leaf FROM log_entries WHERE idx = ?',
  readLeaves: 'SELECT idx AS "index", leaf FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx',
  // Not INSERT OR IGNORE: the append-only trigger refuses (RAISE) an insert whose key exists before any
  // conflict clause applies, so a checkpoint of a size already stored is skipped here instead.
  putCheckpoint: `INSERT INTO log_checkpoints (size, root, text, signed_at) SELECT @size, @root, @text, @signedAt
    WHERE NOT EXISTS (SELECT 1 FROM log_checkpoints WHERE size = @size)`,
  latestCheckpoint: 'SELECT size, root, text FROM log_checkpoints ORDER BY size DESC LIMIT 1',
} as const

const READ_PAGE = 1000

export interface SqliteLogStoreOptions {
  /**
   * Where batches are committed: `thread` (the default for a database file) on a worker thread with its own
   * connection, so that the sequencer prepares the next batch while one commits; `inline` on the caller's
   * connection, blocking (the only choice for `:memory:`, and what the benchmark's baseline and bulk loads
   * use).
   */
  writer?: 'thread' | 'inline'
  /** Entries committed before they are copied into the filter index (FILTER_INDEX_BATCH; small in tests). */
  filterIndexBatch?: number
}

/**
 * The access log in the gateway's SQLite file; durability comes from synchronous=FULL (see openSqlite). Reads
 * use the caller's connection; with WAL they see every batch the writer has committed.
 */
export class SqliteLogStore implements LogStore {
  readonly #db: SqliteDatabase
  readonly #statements
  readonly #appendBatch: (leaves: LeafRecord[], nodes: TreeNode[]) => void
  readonly #threaded: boolean
  readonly #filterIndexBatch: number
  /** Inline writer only: the first entry not yet copied into the filter index (sqlite-filters.ts). */
  #filtersEnd: number
  readonly #changeStatements = new Map<string, Statement>()
  #writer: WorkerWriter | undefined
  #closed = false
  #size: number
  readonly instance = randomBytes(4).toString('hex')
  /** The committed size when this store was opened: every intent from there on is this process's own. */
  readonly #openedAt: number
  /** The intents earlier openings left open, once looked up, until they are closed. */
  #orphans: number[] | undefined

  constructor(db: SqliteDatabase, options: SqliteLogStoreOptions = {}) {
    this.#db = db
    this.#threaded = (options.writer ?? 'thread') === 'thread' && !db.memory
    this.#filterIndexBatch = options.filterIndexBatch ?? FILTER_INDEX_BATCH
    // The writer thread checkpoints the WAL as it grows. This connection writes nothing in normal operation
    // (see execute); should it commit (a tool, a test), it checkpoints only as a fallback, far beyond that mark.
    if (this.#threaded) db.pragma(`wal_autocheckpoint = ${4 * WAL_AUTOCHECKPOINT_PAGES}`)

    this.#statements = {
      insertLeaf: db.prepare(SQL.insertLeaf),
      insertNode: db.prepare(SQL.insertNode),
      readNode: db.prepare(SQL.readNode).pluck(),
      readLeaf: db.prepare(SQL.readLeaf).pluck(),
      readLeaves: db.prepare(SQL.readLeaves),
      latestCheckpoint: db.prepare(SQL.latestCheckpoint),
      size: db.prepare(SQL.size).pluck(),
      filtersEnd: db.prepare(FILTERS_END_SQL).pluck(),
      copyFilters: db.prepare(COPY_FILTERS_SQL),
    }
    this.#filtersEnd = this.#statements.filtersEnd.get() as number
    this.#size = this.#statements.size.get() as number
    this.#openedAt = this.#size
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
      // The state changes the entries record, after the leaves and before the nodes (see LogStore.appendBatch).
      for (const record of leaves) {
        if (!record.change) continue
        for (const step of sqliteSteps(record.change)) {
          const statement = this.#changeStatement(step.sql)
          const held =
            step.expect === 'found'
              ? statement.get(step.params) !== undefined
              : statement.run(step.params).changes === 1
          if (!held) throw new ChangeConflict(record.index)
        }
      }
      for (const node of nodes)
        this.#statements.insertNode.run(node.level, lastLeafOf(node.level, node.index), node.hash)
    })
  }

  #changeStatement(sql: string): Statement {
    let statement = this.#changeStatements.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#changeStatements.set(sql, statement)
    }
    return statement
  }

  async size(): Promise<number> {
    return this.#size
  }

  appendBatch(leaves: LeafRecord[], nodes: TreeNode[]): Promise<void> {
    if (leaves.length === 0) return Promise.resolve()
    if (this.#closed) return Promise.reject(new Error('the log store is closed'))
    if (!this.#threaded) {
      try {
        if (leaves[0]!.index !== this.#size)
          throw new Error(`append at ${leaves[0]!.index} but log size is ${this.#size}`)
        this.#appendBatch(leaves, nodes)
        this.#size += leaves.length
        if (this.#size - this.#filtersEnd >= this.#filterIndexBatch) this.#indexFilters()
        return Promise.resolve()
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const writer = this.#liveWriter()
    const count = leaves.length
    return writer.append(leaves, nodes).then(
      () => {
        this.#size += count
      },
      (error: unknown) => {
        // The batch may or may not be in the file (a writer can die after committing): count what is.
        this.#refreshSize()
        throw error
      },
    )
  }

  async probe(): Promise<void> {
    if (this.#closed) throw new Error('the log store is closed')
    if (!this.#threaded) {
      this.#db.exec('BEGIN IMMEDIATE')
      this.#db.exec('ROLLBACK')
      return
    }
    await this.#liveWriter().probe()
  }

  /** The writer thread; one that died is replaced by the next write, and the new one starts from what is committed. */
  #liveWriter(): WorkerWriter {
    if (!this.#writer?.alive) {
      this.#writer = new WorkerWriter({ path: this.#db.name, filterIndexBatch: this.#filterIndexBatch })
    }
    return this.#writer
  }

  /**
   * The inline writer's copy into the filter index, as the writer thread makes it (see sqlite-filters.ts): not
   * fsync'd by itself, and on failure left for a later commit.
   */
  #indexFilters(): void {
    try {
      this.#withoutFsync(() => this.#statements.copyFilters.run(this.#filtersEnd, this.#size))
      this.#filtersEnd = this.#size
    } catch {
      this.#filtersEnd = this.#statements.filtersEnd.get() as number
    }
  }

  /** Runs `write` on the caller's connection without an fsync of its own (synchronous=NORMAL). */
  #withoutFsync(write: () => unknown): void {
    this.#db.pragma('synchronous = NORMAL')
    try {
      write()
    } finally {
      this.#db.pragma('synchronous = FULL')
    }
  }

  #refreshSize(): void {
    try {
      this.#size = this.#statements.size.get() as number
    } catch {
      // Unreadable too: keep the last known durable size; the next failure tries again.
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#writer?.close()
  }

  /**
   * For tests: makes the writer thread crash when it next takes a batch, before writing it or after
   * committing it but before answering, and resolves once it has. The next batch starts a new writer.
   */
  async crashWriter(when: 'before' | 'after'): Promise<void> {
    await this.#writer?.crash(when)
  }

  async readNodes(positions: NodePosition[]): Promise<Buffer[]> {
    return positions.map(({ level, index }) => {
      const hash = this.#statements.readNode.get(lastLeafOf(level, index), level) as Buffer | undefined
      if (!hash) throw new Error(`missing tree node level ${level} index ${index}`)
      return hash
    })
  }

  async readLeaf(index: number): Promise<Buffer | undefined> {
    return this.#statements.readLeaf.get(index) as Buffer | undefined
  }

  /**
   * Pages with `.all()` rather than one open cursor: a consumer that streams to a slow client yields to the
   * event loop between pages, and better-sqlite3 refuses writes on a connection with an open cursor.
   */
  async *readLeaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }> {
    for (let start = from; start < to; start += READ_PAGE) {
      yield* this.#statements.readLeaves.all(start, Math.min(to, start + READ_PAGE)) as Array<{
        index: number
        leaf: Buffer
      }>
    }
  }

  async query(filter: EntryFilter, after: number, limit: number): Promise<Array<{ index: number; leaf: Buffer }>> {
    const { indexed, tail } = filterQueries(filter, after, this.#statements.filtersEnd.get() as number)
    type Row = { index: number; leaf: Buffer }
    const rows = indexed ? (this.#db.prepare(indexed.sql).all(...indexed.params, limit) as Row[]) : []
    if (rows.length < limit)
      rows.push(...(this.#db.prepare(tail.sql).all(...tail.params, limit - rows.length) as Row[]))
    return rows
  }

  /**
   * The people (org and sub) of the allowed intents of `action` logged at or after `since` (an ISO time),
   * newest first. Walks back from the end of the log and stops once entries are older than `since` by more
   * than `clockSlackMs` (times come from the wall clock and may step back a little between entries), so the
   * cost is that of the recent entries, not of the whole log.
   */
  async allowedIntentsSince(action: string, since: string, clockSlackMs = 10 * 60_000): Promise<LoggedIntent[]> {
    const stopBefore = new Date(Date.parse(since) - clockSlackMs).toISOString()
    const rows: Array<{ org: string | null; actor: string | null; time: string }> = []
    const recentIntents = this.#db.prepare(
      `SELECT org, actor, time, action, decision FROM log_entries WHERE phase = 'intent' ORDER BY idx DESC`,
    )
    for (const row of recentIntents.iterate() as Iterable<{
      org: string | null
      actor: string | null
      time: string
      action: string
      decision: string
    }>) {
      if (row.time < stopBefore) break
      if (row.time >= since && row.action === action && row.decision === 'allow') {
        rows.push({ org: row.org, actor: row.actor, time: row.time })
      }
    }
    return rows
  }

  async openIntents(): Promise<number[]> {
    return (this.#db.prepare(OPEN_INTENTS_SQL).all() as Array<{ index: number }>).map((row) => row.index)
  }

  /**
   * One process owns a SQLite log (docs/architecture.md#components): an intent appended before this store was
   * opened belongs to an earlier, ended process; every later one is this process's own. Looked up in the
   * whole log once, then only the ones still open are checked again.
   */
  async orphanedIntents(): Promise<OrphanedIntent[]> {
    if (this.#orphans === undefined) {
      this.#orphans = (await this.openIntents()).filter((index) => index < this.#openedAt)
    } else if (this.#orphans.length > 0) {
      const closed = this.#db.prepare(INTENT_CLOSED_SQL).pluck()
      this.#orphans = this.#orphans.filter((index) => closed.get({ intent: index }) === 0)
    }
    return this.#orphans.map((index) => ({ index }))
  }

  /** A single process holds the file: there is no peer to tell it lives. */
  async renewLease(): Promise<void> {}

  async releaseLease(): Promise<void> {}

  async putCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    const { size, root, text } = checkpoint
    await this.execute(SQL.putCheckpoint, [{ size, root, text, signedAt: new Date().toISOString() }], {
      durable: true,
    })
  }

  /**
   * Runs `sql` once for each of `rows` in one transaction on the connection that writes the file: the writer
   * thread's when there is one, so that the event loop never waits for SQLite's write lock (held by the writer
   * through each commit and its fsync) or for an fsync of its own. `durable`: committed with an fsync before
   * the promise resolves; otherwise without one (the next durable commit's fsync covers it). A write of the
   * file outside the log (a checkpoint, a batch of quota counts) goes here, never through the caller's
   * connection.
   */
  execute(sql: string, rows: ReadonlyArray<unknown[] | Record<string, unknown>>, { durable }: { durable: boolean }) {
    if (this.#closed) return Promise.reject(new Error('the log store is closed'))
    if (this.#threaded) return this.#liveWriter().exec(sql, rows, durable)
    try {
      const statement = this.#db.prepare(sql)
      const write = this.#db.transaction(() => {
        for (const row of rows) statement.run(row)
      })
      if (durable) write()
      else this.#withoutFsync(write)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#statements.latestCheckpoint.get() as StoredCheckpoint | undefined
  }
}
