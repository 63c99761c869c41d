import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type pg from 'pg'
import { postgresSteps } from '../storage/postgres-changes.js'
import { ChangeConflict } from '../storage/state-change.js'
import { canonicalJson } from './canonical-json.js'
import { type Entry, type EntryInput, ENTRY_VERSION } from './entry.js'
import type { NodePosition } from './merkle/tree.js'
import {
  type EntryFilter,
  HeadMoved,
  type LeafRecord,
  type LoggedIntent,
  type LogStore,
  type Rebase,
  type OrphanedIntent,
  type StoredCheckpoint,
  type TreeNode,
} from './store.js'

const SQL = {
  size: 'SELECT size FROM log_head',
  lockHead: 'SELECT size FROM log_head FOR UPDATE',
  // One round trip (simple protocol, several statements): the transaction starts, waits for the pipelined
  // batches in flight (the lock each holds shared: 0x63666703, see log_append), takes the head lock and reads
  // the right edge of the committed tree (the nodes a Frontier of that size loads, and the last leaf), which a
  // batch another process overtook is rebased on (see #commit).
  beginLocked: `BEGIN; SELECT pg_advisory_xact_lock(1667655427, hashtext(current_schema()));
    SELECT size FROM log_head FOR UPDATE;
    SELECT n.level, n.idx, n.hash FROM log_head h
      CROSS JOIN LATERAL (SELECT l AS level, (h.size >> l) - 1 AS idx FROM generate_series(0, 62) AS l
        WHERE (h.size >> l) & 1 = 1 UNION SELECT 0, h.size - 1) p
      JOIN log_nodes n ON n.level = p.level AND n.idx = p.idx`,
  // One statement a batch whatever its size: the columns go as arrays and unnest back into rows.
  insertLeaves: `INSERT INTO log_entries
    (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
    SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[],
      $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])`,
  insertNodes:
    'INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])',
  // Leaves and nodes in one statement (one round trip), for a batch that carries no state change.
  insertLeavesAndNodes: `WITH leaves AS (INSERT INTO log_entries
    (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
    SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[],
      $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[]))
    INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($14::smallint[], $15::bigint[], $16::bytea[])`,
  readNodes: `SELECT n.hash FROM unnest($1::smallint[], $2::bigint[]) WITH ORDINALITY AS p(level, idx, ord)
    LEFT JOIN log_nodes n ON n.level = p.level AND n.idx = p.idx ORDER BY p.ord`,
  readLeaf: 'SELECT leaf FROM log_entries WHERE idx = $1',
  readLeaves: 'SELECT idx AS "index", leaf FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx',
  openIntents: `SELECT e.idx AS "index" FROM log_entries e WHERE e.phase = 'intent'
    AND NOT EXISTS (SELECT 1 FROM log_entries o WHERE o.intent_ref = e.idx) ORDER BY e.idx`,
  // DO NOTHING never fires the append-only UPDATE trigger: a checkpoint of a size already stored is skipped.
  putCheckpoint: 'INSERT INTO log_checkpoints (size, root, text) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING',
  latestCheckpoint: 'SELECT size, root, text FROM log_checkpoints ORDER BY size DESC LIMIT 1',
  openIntent: 'INSERT INTO open_intents (idx, instance) SELECT * FROM unnest($1::bigint[], $2::text[])',
  // A batch without state changes in one round trip: rows, intents, head and COMMIT (migration 4).
  append: `SELECT log_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
    $20, $21, $22)`,
  closeIntents: 'DELETE FROM open_intents WHERE idx = ANY($1::bigint[]) RETURNING idx',
  renewLease: `INSERT INTO gateway_instances (instance, started_at, renewed_at, expires_at) VALUES ($1, $2, $2, $3)
    ON CONFLICT (instance) DO UPDATE SET renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at`,
  forgetExpired: `DELETE FROM gateway_instances g WHERE g.expires_at <= $1 AND g.instance <> $2
    AND NOT EXISTS (SELECT 1 FROM open_intents o WHERE o.instance = g.instance)`,
  releaseLease: 'DELETE FROM gateway_instances WHERE instance = $1',
  orphanedIntents: `SELECT o.idx AS "index", o.instance FROM open_intents o
    LEFT JOIN gateway_instances g ON g.instance = o.instance
    WHERE o.instance <> $2 AND (g.instance IS NULL OR g.expires_at <= $1) ORDER BY o.idx`,
  // Candidates for an entry whose append's answer was lost (see sequencer.ts): same time, phase and action.
  findEntry: `SELECT idx AS "index", leaf FROM log_entries WHERE idx >= $1 AND time = $2 AND phase = $3
    AND action = $4 ORDER BY idx`,
  intentOpen: 'SELECT 1 FROM open_intents WHERE idx = $1',
  allowedIntentsSince: `SELECT org, actor, time FROM log_entries
    WHERE phase = 'intent' AND action = $1 AND decision = 'allow' AND time >= $2 ORDER BY idx DESC`,
} as const

const READ_PAGE = 1000

/**
 * Pipelined batches unanswered at once: one flushing its COMMIT while the next inserts its rows. More only
 * queue behind the head's row lock, holding their rows' index entries locked meanwhile.
 */
const PIPELINE = 2

const FILTER_COLUMNS: Record<keyof EntryFilter, string> = {
  actor: 'actor =',
  org: 'org =',
  court: 'court =',
  caseNo: 'case_no =',
  grant: 'grant_id =',
  action: 'action =',
  decision: 'decision =',
  since: 'time >=',
  until: 'time <',
}

/**
 * The access log in PostgreSQL. A batch is one transaction that first locks the log head (the one-row table
 * `log_head`, FOR UPDATE) and commits only at the committed size: appends from any number of gateway
 * processes on the database are sequenced one after the other. A batch built before another process
 * appended (its first index is below the committed size) is rebased by its sequencer inside the transaction,
 * on the committed tree read in the same round trip as the lock (see Rebase); without a rebase it is refused
 * with HeadMoved. Durability is the server's synchronous commit (the default, `synchronous_commit = on`):
 * COMMIT returns once the WAL is flushed. A batch takes three round trips (begin and lock; the inserts;
 * the head and COMMIT), more when its entries carry state changes.
 *
 * Batches of this process are committed strictly in the order of the calls, one transaction at a time.
 */
export class PostgresLogStore implements LogStore {
  readonly #pool: pg.Pool
  /** Settles once every batch sent so far is answered. */
  #tail: Promise<unknown> = Promise.resolve()
  /** Settles once every batch sent so far has started (been sent to the database). */
  #sent: Promise<unknown> = Promise.resolve()
  /** Pipelined batches not yet answered, oldest first. */
  #inPipeline: Array<Promise<unknown>> = []
  #sequencing = false
  /**
   * The last leaf of the last pipelined batch sent (none after a refusal): the next one, if it follows on,
   * commits only on top of that very leaf, so a batch never lands on a tree another process extended to
   * exactly its first index after the batch it was built on was refused.
   */
  #lastSent: LeafRecord | undefined
  #closed = false
  /** Commits refused so far: a batch queued before a refusal is refused too (see appendBatch). */
  #failures = 0

  readonly instance: string

  /** `instance` names this process among those sharing the database (see LogStore.instance). */
  constructor(pool: pg.Pool, instance: string = newInstanceId()) {
    this.#pool = pool
    this.instance = instance
  }

  async size(): Promise<number> {
    const { rows } = await this.#pool.query<{ size: number }>(SQL.size)
    if (!rows[0]) throw new Error('the log head is missing: is the schema migrated?')
    return rows[0].size
  }

  /**
   * Whether this process sequences the log for every process on the database (see sequencer.ts): its
   * batches without state changes are then pipelined, one round trip each (see #commitPipelined). Any
   * process may still append meanwhile: the head check refuses whichever batch was overtaken.
   */
  set sequencing(value: boolean) {
    this.#sequencing = value
  }

  get sequencing(): boolean {
    return this.#sequencing
  }

  appendBatch(leaves: LeafRecord[], nodes: TreeNode[], rebase?: Rebase): Promise<void> {
    if (leaves.length === 0) return Promise.resolve()
    if (this.#closed) return Promise.reject(new Error('the log store is closed'))
    // A batch is built on the ones sent before it: once one of them is refused, so is this one. The index
    // check alone does not catch it when another process moved the head exactly to this batch's first index;
    // committing it then would break the chain and the tree.
    const failuresBefore = this.#failures
    const refusedBefore = () => this.#failures !== failuresBefore
    const before = this.#tail
    let committed: Promise<void>
    if (this.#sequencing && leaves.every((record) => !record.change)) {
      // Sent once the batch before it was sent and at most PIPELINE - 1 are unanswered: its rows go in while
      // the one before is flushed, and its head update waits for that one's COMMIT (in the database).
      const slot = this.#inPipeline.length >= PIPELINE ? this.#inPipeline[0]! : undefined
      const started = Promise.all([this.#sent, slot]).then(() => {
        if (refusedBefore()) throw new Error('a batch this one was built on was refused')
      })
      this.#sent = started.catch(() => {})
      const answered = started.then(() => this.#commitPipelined(leaves, nodes))
      const done = answered.catch(() => {})
      this.#inPipeline.push(done)
      void done.then(() => this.#inPipeline.splice(this.#inPipeline.indexOf(done), 1))
      // Answered in the order sent: the database commits them in that order, the answers may cross.
      committed = before.then(() => answered)
    } else {
      // Holds the head lock from its start: only once every batch before it is answered.
      committed = before.then(() =>
        refusedBefore()
          ? Promise.reject(new Error('a batch this one was built on was refused'))
          : this.#commit(leaves, nodes, rebase),
      )
      this.#sent = committed.catch(() => {})
    }
    this.#tail = committed.catch(() => {})
    return committed
  }

  /**
   * One statement, one round trip, its own transaction: log_append (migration 4) inserts the rows and the
   * intents, then moves the head from exactly `first` with the leaf before it being the one this batch's
   * `prev` names, and the statement's implicit COMMIT returns once the WAL is flushed (synchronous_commit
   * stays on). A refusal is a HeadMoved (the head or the leaf before moved, or another process wrote those
   * indexes) or a ChangeConflict (an outcome of an intent that is not open); nothing of the batch is written.
   */
  async #commitPipelined(leaves: LeafRecord[], nodes: TreeNode[]): Promise<void> {
    const first = leaves[0]!.index
    const { intents, outcomes } = leases(leaves)
    const previous = this.#lastSent
    this.#lastSent = leaves[leaves.length - 1]
    try {
      await this.#pool.query({
        name: 'cfg_log_append',
        text: SQL.append,
        values: [
          first,
          // The leaf this batch is chained to, when it was sent just before (see #lastSent).
          previous?.index === first - 1 ? previous.leafHash : null,
          // Bytes as one binary parameter each (the driver sends a Buffer as it is; arrays of bytea would go
          // as hex text, escaped element by element: a fifth of the sequencer's time per append).
          Buffer.concat(leaves.map((record) => record.leaf)),
          leafEnds(leaves),
          Buffer.concat(leaves.map((record) => record.leafHash)),
          ...metaColumns(leaves),
          nodes.map((node) => node.level),
          nodes.map((node) => node.index),
          Buffer.concat(nodes.map((node) => node.hash)),
          intents.map((record) => record.index),
          intents.map((record) => record.instance ?? this.instance),
          outcomes.map((record) => record.meta.intent),
          outcomes.map((record) => record.index),
        ],
      })
    } catch (error) {
      this.#failures++
      this.#lastSent = undefined
      const code = (error as { code?: unknown }).code
      const detail = Number((error as { detail?: unknown }).detail)
      if (code === 'CFG01') throw new ChangeConflict(detail, (error as Error).message)
      // Another process appended (the head, or the rows at these indexes): sequenced again on what it wrote.
      if (code === 'CFG02' || code === '23505' || code === '40P01') throw new HeadMoved(first, detail)
      throw error
    }
  }

  async #commit(leaves: LeafRecord[], nodes: TreeNode[], rebase: Rebase | undefined): Promise<void> {
    const client = await this.#pool.connect()
    let broken: unknown
    try {
      const [, , locked, edge] = (await client.query(SQL.beginLocked)) as unknown as [
        unknown,
        unknown,
        pg.QueryResult<{ size: number }>,
        pg.QueryResult<{ level: number; idx: number; hash: Buffer }>,
      ]
      const size = locked.rows[0]?.size
      if (size === undefined) throw new Error('the log head is missing: is the schema migrated?')
      if (size !== leaves[0]!.index) {
        // Another process appended first. Holding the head lock, the batch is placed on what is committed
        // (read on this connection, inside this transaction), rather than refused and sent again to find
        // the head moved once more by then.
        if (!rebase || size < leaves[0]!.index) throw new HeadMoved(leaves[0]!.index, size)
        const known = new Map(edge.rows.map((row) => [`${row.level}/${row.idx}`, row.hash]))
        const read = async (positions: NodePosition[]) => {
          const hashes = positions.map(({ level, index }) => known.get(`${level}/${index}`))
          return hashes.every((hash) => hash !== undefined) ? hashes : readNodesOn(client, positions)
        }
        ;({ leaves, nodes } = await rebase(size, read))
        if (leaves[0]?.index !== size) throw new HeadMoved(leaves[0]?.index ?? Number.NaN, size)
      }
      const first = size
      const nodeColumns = [
        nodes.map((node) => node.level),
        nodes.map((node) => node.index),
        nodes.map((node) => node.hash),
      ]
      if (leaves.every((record) => !record.change)) {
        await client.query({
          name: 'cfg_log_insert',
          text: SQL.insertLeavesAndNodes,
          values: [...leafColumns(leaves), ...nodeColumns],
        })
      } else {
        await client.query(SQL.insertLeaves, leafColumns(leaves))
        // The state changes the entries record, after the leaves and before the nodes (see LogStore.appendBatch).
        for (const record of leaves) {
          if (!record.change) continue
          for (const step of postgresSteps(record.change)) {
            const result = await client.query(step.text, step.values)
            const held = step.expect === 'found' ? result.rows.length > 0 : result.rowCount === 1
            if (!held) throw new ChangeConflict(record.index)
          }
        }
        if (nodes.length > 0) await client.query(SQL.insertNodes, nodeColumns)
      }
      // Which process owns each intent now in the log, and which intents the outcomes close (intent leases).
      await this.#trackIntents(client, leaves)
      // One round trip for both; the size is a whole number computed here, never text from outside.
      const next = first + leaves.length
      if (!Number.isSafeInteger(next)) throw new RangeError(`log size out of range: ${next}`)
      await client.query(`UPDATE log_head SET size = ${next}; COMMIT`)
      this.#lastSent = leaves[leaves.length - 1]
    } catch (error) {
      this.#lastSent = undefined
      // A failed ROLLBACK means the connection is unusable: it is destroyed rather than reused.
      await client.query('ROLLBACK').catch((cause: unknown) => {
        broken = cause
      })
      this.#failures++
      throw error
    } finally {
      client.release(broken instanceof Error ? broken : undefined)
    }
  }

  /**
   * Records the batch's intents as this process's open ones and closes those its outcomes refer to. An
   * outcome of an intent that is not open (closed already, by this process or by a peer that found its lease
   * expired) is a ChangeConflict: an intent never gets two outcomes.
   */
  async #trackIntents(client: pg.PoolClient, leaves: LeafRecord[]): Promise<void> {
    const { intents, outcomes } = leases(leaves)
    if (intents.length > 0) {
      await client.query(SQL.openIntent, [intents.map((r) => r.index), intents.map((r) => r.instance ?? this.instance)])
    }
    if (outcomes.length === 0) return
    const { rows } = await client.query<{ idx: number }>(SQL.closeIntents, [outcomes.map((r) => r.meta.intent)])
    const closed = new Set(rows.map((row) => row.idx))
    for (const record of outcomes) {
      // Deleting the row once lets only the first of two outcomes of one intent in a batch through.
      if (!closed.delete(record.meta.intent!)) {
        throw new ChangeConflict(record.index, `the intent at ${record.meta.intent} already has an outcome`)
      }
    }
  }

  /**
   * The index of `entry` (as handed to the log, without `prev`) if it was appended at or after `from`: for an
   * entry whose append's answer was lost. Compared byte for byte on the canonical JSON, `prev` left out.
   */
  async findEntry(entry: EntryInput & { time: string }, from: number): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ index: number; leaf: Buffer }>(SQL.findEntry, [
      from,
      entry.time,
      entry.phase,
      entry.action,
    ])
    const wanted = canonicalJson({ v: ENTRY_VERSION, ...entry })
    for (const { index, leaf } of rows) {
      const { prev: _prev, ...stored } = JSON.parse(leaf.toString('utf8')) as Entry
      if (canonicalJson(stored) === wanted) return index
    }
    return undefined
  }

  /** Whether the intent at `index` has no outcome yet (see intent leases). */
  async intentOpen(index: number): Promise<boolean> {
    const { rows } = await this.#pool.query(SQL.intentOpen, [index])
    return rows.length > 0
  }

  async renewLease(now: Date, ttlMs: number): Promise<void> {
    await this.#pool.query(SQL.renewLease, [this.instance, now, new Date(now.getTime() + ttlMs)])
    await this.#pool.query(SQL.forgetExpired, [now, this.instance])
  }

  async releaseLease(): Promise<void> {
    await this.#pool.query(SQL.releaseLease, [this.instance])
  }

  async orphanedIntents(now: Date): Promise<OrphanedIntent[]> {
    const { rows } = await this.#pool.query<{ index: number; instance: string }>(SQL.orphanedIntents, [
      now,
      this.instance,
    ])
    // The empty instance stands for intents appended before processes held leases (migration 3).
    return rows.map(({ index, instance }) => (instance ? { index, instance } : { index }))
  }

  /**
   * Resolves when a batch could be committed now (the head lock can be taken within a second), writing
   * nothing; rejects otherwise. Waits behind the batches already sent. For readiness checks.
   */
  probe(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the log store is closed'))
    const probed = this.#tail.then(async () => {
      const client = await this.#pool.connect()
      try {
        await client.query('BEGIN')
        await client.query("SET LOCAL lock_timeout = '1s'")
        await client.query(SQL.lockHead)
      } finally {
        await client.query('ROLLBACK').catch(() => {})
        client.release()
      }
    })
    this.#tail = probed.catch(() => {})
    return probed
  }

  /**
   * The people (org and sub) of the allowed intents of `action` logged at or after `since` (an ISO time),
   * newest first: what a restarted quota counter starts from.
   */
  async allowedIntentsSince(action: string, since: string): Promise<LoggedIntent[]> {
    const { rows } = await this.#pool.query<LoggedIntent>(SQL.allowedIntentsSince, [action, since])
    return rows
  }

  readNodes(positions: NodePosition[]): Promise<Buffer[]> {
    return readNodesOn(this.#pool, positions)
  }

  async readLeaf(index: number): Promise<Buffer | undefined> {
    const { rows } = await this.#pool.query<{ leaf: Buffer }>(SQL.readLeaf, [index])
    return rows[0]?.leaf
  }

  async *readLeaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }> {
    for (let start = from; start < to; start += READ_PAGE) {
      const { rows } = await this.#pool.query<{ index: number; leaf: Buffer }>(SQL.readLeaves, [
        start,
        Math.min(to, start + READ_PAGE),
      ])
      yield* rows
    }
  }

  async query(filter: EntryFilter, after: number, limit: number): Promise<Array<{ index: number; leaf: Buffer }>> {
    const values: unknown[] = [after]
    const clauses = ['idx > $1']
    for (const [key, column] of Object.entries(FILTER_COLUMNS) as Array<[keyof EntryFilter, string]>) {
      const value = filter[key]
      if (value !== undefined) {
        values.push(value)
        clauses.push(`${column} $${values.length}`)
      }
    }
    values.push(limit)
    const text = `SELECT idx AS "index", leaf FROM log_entries WHERE ${clauses.join(' AND ')} ORDER BY idx LIMIT $${values.length}`
    const { rows } = await this.#pool.query<{ index: number; leaf: Buffer }>(text, values)
    return rows
  }

  async openIntents(): Promise<number[]> {
    const { rows } = await this.#pool.query<{ index: number }>(SQL.openIntents)
    return rows.map((row) => row.index)
  }

  async putCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.#pool.query(SQL.putCheckpoint, [checkpoint.size, checkpoint.root, checkpoint.text])
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.#pool.query<StoredCheckpoint>(SQL.latestCheckpoint)
    return rows[0]
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#tail
  }
}

async function readNodesOn(client: pg.Pool | pg.PoolClient, positions: NodePosition[]): Promise<Buffer[]> {
  if (positions.length === 0) return []
  const { rows } = await client.query<{ hash: Buffer | null }>({
    // Named: parsed and planned once per connection, not on every proof.
    name: 'cfg_log_read_nodes',
    text: SQL.readNodes,
    values: [positions.map((p) => p.level), positions.map((p) => p.index)],
  })
  return positions.map(({ level, index }, i) => {
    const hash = rows[i]?.hash
    if (!hash) throw new Error(`missing tree node level ${level} index ${index}`)
    return hash
  })
}

/** Where each leaf ends in the leaves laid end to end. */
function leafEnds(leaves: LeafRecord[]): number[] {
  const ends: number[] = []
  let end = 0
  for (const record of leaves) {
    end += record.leaf.length
    ends.push(end)
  }
  return ends
}

function leafColumns(leaves: LeafRecord[]): unknown[] {
  return [leaves.map((r) => r.index), leaves.map((r) => r.leaf), leaves.map((r) => r.leafHash), ...metaColumns(leaves)]
}

/** The searchable columns of the leaves (see LeafMeta), one array each. */
function metaColumns(leaves: LeafRecord[]): unknown[] {
  const column = <T>(pick: (record: LeafRecord) => T) => leaves.map(pick)
  return [
    column((r) => r.meta.time),
    column((r) => r.meta.actor ?? null),
    column((r) => r.meta.org ?? null),
    column((r) => r.meta.court ?? null),
    column((r) => r.meta.caseNo ?? null),
    column((r) => r.meta.grant ?? null),
    column((r) => r.meta.action),
    column((r) => r.meta.decision),
    column((r) => r.meta.phase),
    column((r) => r.meta.intent ?? null),
  ]
}

/** The batch's intents (opened as this process's, or the forwarding one's) and the outcomes that close one. */
function leases(leaves: LeafRecord[]): { intents: LeafRecord[]; outcomes: LeafRecord[] } {
  return {
    intents: leaves.filter((record) => record.meta.phase === 'intent'),
    outcomes: leaves.filter((record) => record.meta.phase === 'outcome' && record.meta.intent !== undefined),
  }
}

/**
 * A name for one opening of the store by one process: the host and process id say to an operator where it
 * ran, the random part keeps a restarted process (or one on a host sharing a name) from passing for another.
 */
export function newInstanceId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`
}
