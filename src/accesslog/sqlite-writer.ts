import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { type SqliteStep, sqliteSteps } from '../storage/sqlite-changes.js'
import { ChangeConflict } from '../storage/state-change.js'
import { COPY_FILTERS_SQL, FILTER_INDEX_BATCH, FILTERS_END_SQL } from './sqlite-filters.js'
import { lastLeafOf } from './sqlite-nodes.js'
import type { LeafRecord, TreeNode } from './store.js'

/**
 * The access log's SQLite write path on a worker thread, with its own better-sqlite3 connection to the same
 * file (WAL, synchronous=FULL). The main thread serialises, hashes and extends the frontier of batch N+1
 * while the worker inserts and fsyncs batch N; the worker commits batches strictly in the order they are
 * sent and only a batch that starts exactly at the end of what it has committed (so after a failed batch
 * every batch built on top of it is refused too, never committed with a gap).
 *
 * The worker is plain JavaScript given to `new Worker(code, { eval: true })`: it runs the same under tsx, tap
 * and the compiled dist/, with no TypeScript loader in the worker. better-sqlite3 is resolved here, by the
 * main thread, and required by absolute path.
 */
/**
 * The writer checkpoints the WAL once it holds this many pages (64 MiB with 4 KiB pages) rather than
 * SQLite's 1,000: a batch (or a copy into the filter index) dirties the last pages of its tables and indexes,
 * and the same pages are rewritten batch after batch, so checkpointing less often copies far fewer pages per
 * entry (about 10 % more appends per second measured at 256 appenders, with the indexes of schema version 2). The main connection leaves checkpoints to the writer (see
 * SqliteLogStore).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 16384

/** Meta values a row carries, in the order of the insert's columns after the hashes. */
const META_FIELDS = 10

const WORKER_SOURCE = `
'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path)
db.pragma('synchronous = FULL')
db.pragma('wal_autocheckpoint = ' + workerData.walAutocheckpoint)
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs)
if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error('the log database is not in WAL mode')
const sizeOf = db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries').pluck()
// Several rows a statement: each statement run has a fixed cost (bind, step, reset, trigger frames).
const ROWS = 32
const leafRow = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'
const leafSql = (n) => 'INSERT INTO log_entries (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref) VALUES ' + Array(n).fill(leafRow).join(', ')
const nodeSql = (n) => 'INSERT INTO log_nodes (level, last_leaf, hash) VALUES ' + Array(n).fill('(?, ?, ?)').join(', ')
const insertLeaf = db.prepare(leafSql(1))
const insertLeaves = db.prepare(leafSql(ROWS))
const insertNode = db.prepare(nodeSql(1))
const insertNodes = db.prepare(nodeSql(ROWS))
const META = ${META_FIELDS}
let size = sizeOf.get()
const statements = new Map()
const prepared = (sql) => {
  let statement = statements.get(sql)
  if (!statement) statements.set(sql, (statement = db.prepare(sql)))
  return statement
}
// Structured cloning turns a Buffer into a Uint8Array; better-sqlite3 binds Buffers.
const asBuffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v)
const buffers = (row) =>
  Array.isArray(row) ? row.map(asBuffer) : Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asBuffer(v)]))
const view = (bytes, start, end) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start)
const body = (m) => {
  let start = 0
  let params = []
  for (let i = 0; i < m.count; i++) {
    const end = m.leafEnds[i]
    const row = i * META
    params.push(m.first + i, view(m.leaves, start, end), view(m.leafHashes, i * 32, i * 32 + 32))
    for (let k = 0; k < META; k++) params.push(m.meta[row + k])
    start = end
    if (params.length === ROWS * (META + 3)) {
      insertLeaves.run(params)
      params = []
    }
  }
  for (let k = 0; k < params.length; k += META + 3) insertLeaf.run(params.slice(k, k + META + 3))
  // The state changes the entries record, after the leaves and before the nodes (see LogStore.appendBatch).
  for (const change of m.changes) {
    for (const step of change.steps) {
      const statement = prepared(step.sql)
      const held = step.expect === 'found' ? statement.get(step.params) !== undefined : statement.run(step.params).changes === 1
      if (!held) throw Object.assign(new Error('a change conflicts with one made meanwhile'), { conflictAt: change.at })
    }
  }
  params = []
  for (let i = 0; i < m.nodeLevels.length; i++) {
    params.push(m.nodeLevels[i], m.nodeLastLeaves[i], view(m.nodeHashes, i * 32, i * 32 + 32))
    if (params.length === ROWS * 3) {
      insertNodes.run(params)
      params = []
    }
  }
  for (let k = 0; k < params.length; k += 3) insertNode.run(params.slice(k, k + 3))
}
const write = db.transaction(body)
// The index (sqlite-filters.ts): copied once enough entries wait, right after the commit that made them enough
// was answered, so it delays only a commit sent meanwhile, by a copy of FILTER_INDEX_BATCH entries. (Not
// setImmediate: a port drains up to 1,000 queued messages before the loop reaches it, so under load the copies
// would lag by that many batches.) A copy lost in a crash is made again from what log_filters holds.
const copyFilters = db.prepare(workerData.copyFiltersSql)
const filtersEndOf = db.prepare(workerData.filtersEndSql).pluck()
let filtersEnd = filtersEndOf.get()
// A write without an fsync of its own (synchronous=NORMAL): the next durable commit's fsync covers it.
const withoutFsync = (work) => {
  db.pragma('synchronous = NORMAL')
  try { work() } finally { db.pragma('synchronous = FULL') }
}
const indexFilters = () => {
  try {
    withoutFsync(() => copyFilters.run(filtersEnd, size))
    filtersEnd = size
  } catch {
    // Left for the next commit; until then queries read the entries past the index from log_entries.
    try { filtersEnd = filtersEndOf.get() } catch {}
  }
}
const answer = (m, error, extra) =>
  parentPort.postMessage(error === undefined
    ? { id: m.id, ok: true }
    : { id: m.id, ok: false, message: String(error && error.message), code: error && error.code, ...extra })
// Fault injection (tests): 1 = die before the next batch, 2 = die after committing it, before answering.
const fault = new Int32Array(workerData.fault)
const die = () => setImmediate(() => { throw new Error('log writer crashed (injected)') })
parentPort.on('message', (m) => {
  if (Atomics.load(fault, 0) === 1) return die()
  if (m.type === 'close') {
    db.close()
    parentPort.close()
    return
  }
  if (m.type === 'probe') {
    // Takes the write lock and lets it go, writing nothing: fails when another connection holds the lock past
    // the busy timeout or the file cannot be written.
    try {
      db.exec('BEGIN IMMEDIATE')
      db.exec('ROLLBACK')
      answer(m)
    } catch (error) {
      answer(m, error)
    }
    return
  }
  if (m.type === 'exec') {
    // Other writes of the file (a signed checkpoint, a batch of quota counts), on this connection so that the
    // event loop never waits for the write lock or an fsync; in order with the batches.
    try {
      const statement = prepared(m.sql)
      const run = db.transaction(() => { for (const row of m.rows) statement.run(buffers(row)) })
      if (m.durable) run()
      else withoutFsync(run)
      answer(m)
    } catch (error) {
      answer(m, error)
    }
    return
  }
  if (m.first !== size) {
    answer(m, new Error('append at ' + m.first + ' but the log size is ' + size))
    return
  }
  try {
    write(m)
    size += m.count
    if (Atomics.load(fault, 0) === 2) return die()
    answer(m)
    if (size - filtersEnd >= workerData.filterIndexBatch) indexFilters()
  } catch (error) {
    try { size = sizeOf.get() } catch {}
    const conflict = error && error.conflictAt !== undefined ? m.first + error.conflictAt : undefined
    answer(m, error, { conflict })
  }
})
`

/** Why the writer refused or lost a batch; `code` is SQLite's (e.g. SQLITE_BUSY) when it has one. */
export class WriterError extends Error {
  readonly code: string | undefined
  constructor(message: string, code?: string) {
    super(message)
    this.name = 'WriterError'
    this.code = code
  }
}

interface InFlight {
  id: number
  resolve: () => void
  reject: (error: unknown) => void
}

export interface WorkerWriterOptions {
  /** The SQLite file (already created and migrated by openSqlite). */
  path: string
  busyTimeoutMs?: number
  /** Entries committed before they are copied into the filter index (FILTER_INDEX_BATCH). */
  filterIndexBatch?: number
}

/** One worker thread and its connection; once it has died it stays dead (the store starts another). */
export class WorkerWriter {
  readonly #worker: Worker
  readonly #inFlight = new Map<number, InFlight>()
  #nextId = 0
  readonly #fault = new Int32Array(new SharedArrayBuffer(4))
  #dead: Error | undefined
  #closing: Promise<void> | undefined

  constructor(options: WorkerWriterOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path: options.path,
        driver,
        busyTimeoutMs: options.busyTimeoutMs ?? 1000,
        walAutocheckpoint: WAL_AUTOCHECKPOINT_PAGES,
        copyFiltersSql: COPY_FILTERS_SQL,
        filtersEndSql: FILTERS_END_SQL,
        filterIndexBatch: options.filterIndexBatch ?? FILTER_INDEX_BATCH,
        fault: this.#fault.buffer,
      },
      // No loaders (tsx, tap) in the worker: its code is plain JavaScript.
      execArgv: [],
      env: {},
      stdout: false,
      stderr: false,
    })
    this.#worker.unref()
    this.#worker.on(
      'message',
      (reply: { id: number; ok: boolean; message?: string; code?: string; conflict?: number }) => {
        const waiting = this.#inFlight.get(reply.id)
        if (!waiting) return
        this.#inFlight.delete(reply.id)
        // Idle, the thread must not keep the process alive; closing, it must until it has stopped.
        if (this.#inFlight.size === 0 && this.#closing === undefined) this.#worker.unref()
        if (reply.ok) waiting.resolve()
        else if (reply.conflict !== undefined) waiting.reject(new ChangeConflict(reply.conflict))
        else waiting.reject(new WriterError(reply.message ?? 'the log writer refused the batch', reply.code))
      },
    )
    let error: Error | undefined
    this.#worker.on('error', (cause) => {
      error = cause
    })
    this.#worker.on('exit', (code) => {
      this.#dead = error ?? new WriterError(`the log writer stopped (exit code ${code})`)
      const lost = [...this.#inFlight.values()]
      this.#inFlight.clear()
      // Oldest first: the sequencer sees the first lost batch first.
      for (const batch of lost) {
        batch.reject(new WriterError(`the log writer stopped before committing: ${this.#dead.message}`))
      }
    })
  }

  get alive(): boolean {
    return this.#dead === undefined && this.#closing === undefined
  }

  /**
   * Resolves once the batch and the state changes its leaves carry are committed (synchronous=FULL:
   * fsync'd). Rejects with a ChangeConflict when a change's condition did not hold, or when the batch was
   * refused (nothing written either way), or when the worker died first (then the batch, changes and all,
   * may or may not be in the file: the caller re-reads the size).
   */
  append(leaves: LeafRecord[], nodes: TreeNode[]): Promise<void> {
    if (!this.alive) return Promise.reject(this.#dead ?? new WriterError('the log writer is closed'))
    const count = leaves.length
    let total = 0
    for (const record of leaves) total += record.leaf.length
    // Unpooled buffers of the exact size: structured cloning copies a view's whole backing store.
    const bytes = Buffer.allocUnsafeSlow(total)
    const leafHashes = Buffer.allocUnsafeSlow(count * 32)
    const leafEnds = new Array<number>(count)
    const meta = new Array<string | number | null>(count * META_FIELDS)
    let offset = 0
    for (let i = 0; i < count; i++) {
      const record = leaves[i]!
      offset += record.leaf.copy(bytes, offset)
      leafEnds[i] = offset
      record.leafHash.copy(leafHashes, i * 32)
      const m = record.meta
      const row = i * META_FIELDS
      meta[row] = m.time
      meta[row + 1] = m.actor ?? null
      meta[row + 2] = m.org ?? null
      meta[row + 3] = m.court ?? null
      meta[row + 4] = m.caseNo ?? null
      meta[row + 5] = m.grant ?? null
      meta[row + 6] = m.action
      meta[row + 7] = m.decision
      meta[row + 8] = m.phase
      meta[row + 9] = m.intent ?? null
    }
    const nodeHashes = Buffer.allocUnsafeSlow(nodes.length * 32)
    const nodeLevels = new Array<number>(nodes.length)
    const nodeLastLeaves = new Array<number>(nodes.length)
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!
      if (node.hash.length !== 32) return Promise.reject(new WriterError('a tree node hash is not 32 bytes'))
      nodeLevels[i] = node.level
      nodeLastLeaves[i] = lastLeafOf(node.level, node.index)
      node.hash.copy(nodeHashes, i * 32)
    }
    const changes: Array<{ at: number; steps: SqliteStep[] }> = []
    for (const [at, record] of leaves.entries()) {
      if (record.leafHash.length !== 32) return Promise.reject(new WriterError('a leaf hash is not 32 bytes'))
      if (record.change) changes.push({ at, steps: sqliteSteps(record.change) })
    }
    return this.#send({
      type: 'append',
      first: leaves[0]?.index ?? 0,
      count,
      leaves: bytes,
      leafEnds,
      leafHashes,
      meta,
      nodeLevels,
      nodeLastLeaves,
      nodeHashes,
      changes,
    })
  }

  /**
   * Runs `sql` once for each of `rows` (positional or named parameters) in one transaction, after the batches
   * already sent; resolves once committed: with an fsync when `durable`, else without one (synchronous=NORMAL:
   * the next durable commit's fsync covers it). Rejects with the statement's error (nothing of it written) or
   * when the worker died first.
   */
  exec(sql: string, rows: ReadonlyArray<unknown[] | Record<string, unknown>>, durable: boolean): Promise<void> {
    if (!this.alive) return Promise.reject(this.#dead ?? new WriterError('the log writer is closed'))
    return this.#send({ type: 'exec', sql, rows, durable })
  }

  /**
   * Resolves once the worker could take SQLite's write lock, in turn after the batches already sent; rejects
   * when it could not (locked past the busy timeout, a read-only file) or the worker is dead.
   */
  probe(): Promise<void> {
    if (!this.alive) return Promise.reject(this.#dead ?? new WriterError('the log writer is closed'))
    return this.#send({ type: 'probe' })
  }

  /** Sends a message that the worker answers by its id; the thread keeps the process alive until it has. */
  #send(message: Record<string, unknown>): Promise<void> {
    const id = this.#nextId++
    return new Promise<void>((resolve, reject) => {
      this.#inFlight.set(id, { id, resolve, reject })
      if (this.#inFlight.size === 1) this.#worker.ref()
      message.id = id
      this.#worker.postMessage(message)
    })
  }

  /**
   * Lets the batches already sent finish, then closes the worker's connection and stops it. (Never
   * `worker.terminate()`: stopping a thread inside a better-sqlite3 call aborts the whole process; a batch
   * cannot wait longer than the busy timeout for the lock.)
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#dead) return
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()))
      this.#worker.ref()
      this.#worker.postMessage({ type: 'close' })
      await exited
    })()
    return this.#closing
  }

  /**
   * For tests: makes the worker die (an uncaught exception) when it next takes a message, `before` writing
   * it or `after` committing it but before answering; resolves once it has died.
   */
  async crash(when: 'before' | 'after'): Promise<void> {
    if (this.#dead) return
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()))
    Atomics.store(this.#fault, 0, when === 'before' ? 1 : 2)
    this.#worker.ref()
    await exited
  }
}
