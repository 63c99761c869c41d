/**
 * Offline check of the access log as stored in a gateway's SQLite file (`court-file-gateway verify --db`).
 *
 * The triggers only stop ordinary UPDATE and DELETE; someone with the file can drop them. This recomputes
 * everything the log's integrity rests on from the leaf bytes up: each leaf hash, each stored subtree hash,
 * the `prev` chain, the filter columns and their index, and each checkpoint's root and signature, and names
 * the exact entry, node or checkpoint that does not match. Memory stays bounded: leaves are read in blocks of
 * 2^BLOCK_LEVEL and only block roots are kept, so a 10-million-entry log is checked in one pass.
 */
import Database from 'better-sqlite3'
import { parseCheckpoint } from './checkpoint.js'
import { FILTERS_END_SQL } from './sqlite-filters.js'
import { nodeIndexOf } from './sqlite-nodes.js'
import { EMPTY_ROOT, leafHash, nodeHash } from './merkle/hash.js'
import { Frontier } from './merkle/tree.js'
import { type NoteVerifierKey, openNote, parseVerifierKey } from './note.js'
import type { SqliteDatabase } from '../storage/sqlite.js'

export type Problem =
  | { kind: 'leaf'; index: number; message: string }
  | { kind: 'node'; level: number; index: number; message: string }
  | { kind: 'checkpoint'; size: number; message: string }

export interface CheckResult {
  ok: boolean
  /** Entries in the log (one past the highest index). */
  size: number
  nodes: number
  checkpoints: number
  /** Whether checkpoint signatures were checked (a key was given). */
  signatures: boolean
  problems: Problem[]
  /** More problems were found than are listed. */
  truncated: boolean
}

const BLOCK_LEVEL = 10
const BLOCK = 2 ** BLOCK_LEVEL
const MAX_PROBLEMS = 1000

type Hash = Buffer | undefined

interface LeafRow {
  idx: number
  leaf: Buffer
  leaf_hash: Buffer
  time: string
  actor: string | null
  org: string | null
  court: string | null
  case_no: string | null
  grant_id: string | null
  action: string
  decision: string
  phase: string
  intent_ref: number | null
  /** 1 when the entry's row in log_filters agrees with it (only read where the table exists). */
  indexed?: number
}

/** Opens a gateway database for checking only; errors say what is wrong with the file, for a person. */
export function openLogDatabase(path: string): SqliteDatabase {
  let db: SqliteDatabase
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new Error(`cannot open the database file ${path}: ${(err as Error).message}`)
  }
  try {
    const tables = db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('log_entries', 'log_nodes', 'log_checkpoints')`,
      )
      .pluck()
      .all()
    if (tables.length !== 3) throw new Error('it has no access-log tables (log_entries, log_nodes, log_checkpoints)')
  } catch (err) {
    db.close()
    throw new Error(`${path} is not a gateway database: ${(err as Error).message}`)
  }
  return db
}

/** Stored node hashes of one level, indexes `from` (inclusive) to `to`, each undefined where none is stored. */
type StoredNodes = (level: number, from: number, to: number) => Hash[]

type NodeRow = { last_leaf: number; level: number; hash: Buffer }

/** Whether the file's tree nodes are keyed by their last leaf (schema version 4, src/accesslog/sqlite-nodes.ts). */
function nodesKeyedByLastLeaf(db: SqliteDatabase): boolean {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('log_nodes')`).pluck().all() as string[]
  return columns.includes('last_leaf')
}

/** A file from before schema version 4 (a backup checked as it is): nodes read by (level, idx). */
function nodesByLevel(db: SqliteDatabase): StoredNodes {
  const nodesIn = db.prepare('SELECT idx, hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx')
  return (level, from, to) => {
    const out: Hash[] = new Array(Math.max(0, to - from)).fill(undefined)
    for (const row of nodesIn.all(level, from, to) as Array<{ idx: number; hash: Buffer }>)
      out[row.idx - from] = row.hash
    return out
  }
}

/**
 * Nodes keyed by their last leaf: those up to BLOCK_LEVEL of one block of leaves are one range of the key, read
 * at once when the check reaches the block; those above, few, in one scan. A row whose key is the end of no
 * subtree of its level cannot be found by any lookup and was forged: it is reported as it is read.
 */
function nodeBlocks(db: SqliteDatabase, size: number, report: (problem: Problem) => void): StoredNodes {
  const blockRows = db.prepare(
    'SELECT last_leaf, level, hash FROM log_nodes WHERE last_leaf >= ? AND last_leaf < ? AND level <= ?',
  )
  let blockStart = -1
  let block = new Map<number, Map<number, Buffer>>()
  const byLevel = (rows: NodeRow[]) => {
    const levels = new Map<number, Map<number, Buffer>>()
    for (const row of rows) {
      const index = nodeIndexOf(row.level, row.last_leaf)
      if (!Number.isInteger(index)) {
        report({
          kind: 'node',
          level: row.level,
          index: Math.floor(index),
          message: `a tree node row of level ${row.level} ends at entry ${row.last_leaf}, where no subtree of that level ends: it was forged`,
        })
        continue
      }
      const level = levels.get(row.level) ?? new Map<number, Buffer>()
      levels.set(row.level, level.set(index, row.hash))
    }
    return levels
  }
  // Rows at or beyond the log's size are reported once, by the check for nodes beyond it.
  const upper = byLevel(
    db
      .prepare('SELECT last_leaf, level, hash FROM log_nodes WHERE level > ? AND last_leaf < ?')
      .all(BLOCK_LEVEL, size) as NodeRow[],
  )
  return (level, from, to) => {
    let levels: Map<number, Map<number, Buffer>>
    if (level <= BLOCK_LEVEL) {
      const start = Math.floor((from * 2 ** level) / BLOCK) * BLOCK
      if (start !== blockStart) {
        blockStart = start
        block = byLevel(blockRows.all(start, Math.min(start + BLOCK, size), BLOCK_LEVEL) as NodeRow[])
      }
      levels = block
    } else {
      levels = upper
    }
    const stored = levels.get(level)
    const out: Hash[] = new Array(Math.max(0, to - from)).fill(undefined)
    for (let index = from; index < to; index++) out[index - from] = stored?.get(index)
    return out
  }
}

const range = (level: number, index: number) => {
  const width = 2 ** level
  return width === 1 ? `entry ${index}` : `entries ${index * width}–${(index + 1) * width - 1}`
}

/**
 * Checks the log in `db`. With `keyText` (the text of GET /v1/audit/key) checkpoint signatures are checked
 * too; without it only that each checkpoint's signed text agrees with its stored size and root, and that its
 * root is the root of the stored leaves. Throws only on a malformed key or an unreadable database.
 */
export function checkLogDatabase(db: SqliteDatabase, keyText?: string | Uint8Array): CheckResult {
  let key: NoteVerifierKey | undefined
  if (keyText !== undefined) {
    try {
      key = parseVerifierKey(Buffer.from(keyText).toString('utf8').trim())
    } catch (err) {
      throw new Error(`the key file is not a usable verifier key: ${(err as Error).message}`)
    }
  }

  const problems: Problem[] = []
  let truncated = false
  const report = (problem: Problem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(problem)
    else truncated = true
  }
  // Entries whose bytes are wrong: the link after them and the checkpoints above them break as a consequence.
  const alteredLeaves = new Set<number>()
  let firstAltered = Number.POSITIVE_INFINITY
  const leafProblem = (index: number, reasons: string[], altered: boolean) => {
    if (altered) {
      alteredLeaves.add(index)
      firstAltered = Math.min(firstAltered, index)
    }
    report({ kind: 'leaf', index, message: `entry ${index}: ${reasons.join('; ')}` })
  }

  const size = (db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries').pluck().get() as number) ?? 0
  const nodeCount = db.prepare('SELECT COUNT(*) FROM log_nodes').pluck().get() as number
  // The index (schema version 3, sqlite-filters.ts) must hold every entry below its end, with the entry's
  // columns: a row missing or changed there hides the entry from filtered queries, or an intent from the sweep
  // that closes intents left open.
  const indexed =
    db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_filters'`).pluck().get() !== undefined
  const filtersEnd = indexed ? (db.prepare(FILTERS_END_SQL).pluck().get() as number) : 0
  const leavesIn = db.prepare(
    `SELECT e.idx, e.leaf, e.leaf_hash, e.time, e.actor, e.org, e.court, e.case_no, e.grant_id, e.action, e.decision,
       e.phase, e.intent_ref${
         indexed
           ? `, f.idx IS NOT NULL AND f.actor IS e.actor AND f.org IS e.org AND f.court IS e.court
       AND f.case_no IS e.case_no AND f.grant_id IS e.grant_id AND f.phase IS e.phase AND f.intent_ref IS e.intent_ref
       AS indexed`
           : ''
       }
     FROM log_entries e${indexed ? ' LEFT JOIN log_filters f ON f.idx = e.idx' : ''}
     WHERE e.idx >= ? AND e.idx < ? ORDER BY e.idx`,
  )
  const byLastLeaf = nodesKeyedByLastLeaf(db)
  const storedNodes = byLastLeaf ? nodeBlocks(db, size, report) : nodesByLevel(db)

  // Checkpoint roots are recomputed from the leaf bytes as the leaves stream past.
  const checkpointSizes = db.prepare('SELECT size FROM log_checkpoints ORDER BY size').pluck().all() as number[]
  const trueRoots = new Map<number, Buffer>()
  let nextCheckpoint = 0
  const frontier = new Frontier()
  const recordRoots = () => {
    while (nextCheckpoint < checkpointSizes.length && checkpointSizes[nextCheckpoint]! <= frontier.size) {
      if (checkpointSizes[nextCheckpoint] === frontier.size) trueRoots.set(frontier.size, frontier.root())
      nextCheckpoint++
    }
  }
  recordRoots()

  /**
   * One level up: `trueChildren` are hashes recomputed from the leaves, `storedChildren` the stored ones, both
   * starting at child index 2 × `first`. A stored node is named only when it differs from the recomputed value
   * *and* from the hash of its own stored children: otherwise the difference comes from below, and what is
   * below is named instead (so one altered node is reported once, not with all its ancestors).
   */
  const upOneLevel = (level: number, first: number, count: number, trueChildren: Hash[], storedChildren: Hash[]) => {
    const stored = storedNodes(level, first, first + count)
    const truth: Hash[] = []
    for (let j = 0; j < count; j++) {
      const index = first + j
      const [tl, tr] = [trueChildren[2 * j], trueChildren[2 * j + 1]]
      const [sl, sr] = [storedChildren[2 * j], storedChildren[2 * j + 1]]
      const t = tl && tr ? nodeHash(tl, tr) : undefined
      const s = stored[j]
      truth.push(t ?? s)
      if (!s) {
        report({
          kind: 'node',
          level,
          index,
          message: `tree node level ${level} index ${index} (${range(level, index)}) is missing`,
        })
      } else if (t && !s.equals(t) && !(sl && sr && s.equals(nodeHash(sl, sr)))) {
        report({
          kind: 'node',
          level,
          index,
          message: `tree node level ${level} index ${index} (${range(level, index)}) was altered: it is not the hash of the nodes below it`,
        })
      }
    }
    return { truth, stored }
  }

  // Blocks of leaves, with every complete node inside each block.
  const blockTruth: Hash[] = []
  const blockStored: Hash[] = []
  let previous: Hash
  for (let lo = 0; lo < size; lo += BLOCK) {
    const hi = Math.min(size, lo + BLOCK)
    const rows = leavesIn.all(lo, hi) as LeafRow[]
    const stored0 = storedNodes(0, lo, hi)
    const truth0: Hash[] = new Array(hi - lo).fill(undefined)
    let r = 0
    for (let index = lo; index < hi; index++) {
      const row = rows[r]?.idx === index ? rows[r++] : undefined
      const node0 = stored0[index - lo]
      if (!row) {
        leafProblem(index, ['it is missing from the log (deleted)'], true)
        truth0[index - lo] = node0
        previous = undefined
        if (node0) frontier.push(node0)
        recordRoots()
        continue
      }
      const hash = leafHash(row.leaf)
      truth0[index - lo] = hash
      const reasons: string[] = []
      let altered = false
      const columnAltered = !row.leaf_hash.equals(hash)
      const nodeAltered = node0 !== undefined && !node0.equals(hash)
      if (columnAltered && (nodeAltered || !node0)) {
        reasons.push('its bytes were altered: they no longer hash to the leaf hash stored with them and in the tree')
        altered = true
      } else if (columnAltered) {
        reasons.push('its stored leaf_hash was altered')
      } else if (nodeAltered) {
        report({
          kind: 'node',
          level: 0,
          index,
          message: `tree node level 0 index ${index} (entry ${index}) was altered: it is not the hash of entry ${index}`,
        })
      }
      if (!node0)
        report({
          kind: 'node',
          level: 0,
          index,
          message: `tree node level 0 index ${index} (entry ${index}) is missing`,
        })
      let entry: Record<string, unknown> | undefined
      try {
        const parsed: unknown = JSON.parse(row.leaf.toString('utf8'))
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
          entry = parsed as Record<string, unknown>
      } catch {
        // reported below
      }
      if (!entry) {
        reasons.push('its bytes are not a JSON object')
        altered = true
      } else {
        const expected = index === 0 ? undefined : previous?.toString('base64')
        const linkKnown = index === 0 || (previous !== undefined && !alteredLeaves.has(index - 1))
        if (linkKnown && entry.prev !== expected) {
          altered = true
          reasons.push(
            index === 0
              ? 'the first entry has a prev link'
              : `its prev is not the hash of entry ${index - 1}: entry ${index - 1} or this entry was altered`,
          )
        }
        const columns = columnMismatches(row, entry)
        if (columns.length > 0) {
          reasons.push(
            `its filter columns (${columns.join(', ')}) disagree with its bytes, so filtered queries show it wrongly`,
          )
        }
      }
      if (index < filtersEnd && row.indexed !== 1) {
        reasons.push(
          'its row in the index (log_filters) is missing or disagrees with it, so filtered queries, or the search for open intents, miss it',
        )
      }
      if (reasons.length > 0) leafProblem(index, reasons, altered)
      previous = hash
      frontier.push(hash)
      recordRoots()
    }
    let truth = truth0
    let stored = stored0
    for (let level = 1, first = lo / 2; level <= BLOCK_LEVEL; level++, first /= 2) {
      const count = Math.floor(hi / 2 ** level) - first
      if (count <= 0) break
      ;({ truth, stored } = upOneLevel(level, first, count, truth, stored))
    }
    if (hi - lo === BLOCK) {
      blockTruth.push(truth[0])
      blockStored.push(stored[0])
    }
  }
  // Above the blocks: few enough nodes to hold a level at a time.
  let truth = blockTruth
  let stored = blockStored
  for (let level = BLOCK_LEVEL + 1; 2 ** level <= size; level++) {
    ;({ truth, stored } = upOneLevel(level, 0, Math.floor(size / 2 ** level), truth, stored))
  }

  // Index rows of entries the log does not have: only ever forged (a copy takes committed entries only), and an
  // outcome among them would hide an open intent from the sweep that closes it.
  if (indexed) {
    for (const index of db
      .prepare('SELECT idx FROM log_filters WHERE idx >= ? ORDER BY idx')
      .pluck()
      .all(size) as number[])
      leafProblem(index, [`the index (log_filters) has a row for it, but the log holds ${size} entries`], false)
  }

  // Nodes the tree cannot have: beyond its size (rows are never deleted, so a surplus means they were forged).
  // A node exists once its last leaf does: (idx + 1) · 2^level ≤ size.
  const beyond = byLastLeaf
    ? 'SELECT DISTINCT level FROM log_nodes WHERE last_leaf >= ? ORDER BY level'
    : 'SELECT level FROM log_nodes GROUP BY level HAVING ((MAX(idx) + 1) << level) > ? ORDER BY level'
  for (const level of db.prepare(beyond).pluck().all(size) as number[]) {
    const expected = Math.floor(size / 2 ** level)
    report({
      kind: 'node',
      level,
      index: expected,
      message: `tree node level ${level} index ${expected} and up should not exist: the log holds ${size} entries`,
    })
  }

  let origin: string | undefined
  let checkpoints = 0
  for (const row of db
    .prepare('SELECT size, root, text FROM log_checkpoints ORDER BY size')
    .iterate() as IterableIterator<{
    size: number
    root: Buffer
    text: string
  }>) {
    checkpoints++
    const reasons: string[] = []
    let body: ReturnType<typeof parseCheckpoint> | undefined
    try {
      const text = key ? openNote(row.text, [key]).text : unsignedBody(row.text)
      body = parseCheckpoint(text)
    } catch (err) {
      reasons.push(
        key
          ? `its signed text does not verify with key ${key.name}: ${(err as Error).message}`
          : (err as Error).message,
      )
    }
    if (body) {
      if (body.size !== row.size) reasons.push(`its signed text says size ${body.size}`)
      if (!body.rootHash.equals(row.root))
        reasons.push('its signed text has a different root hash than the one stored with it')
      if (origin === undefined) origin = body.origin
      else if (body.origin !== origin)
        reasons.push(`its origin ${JSON.stringify(body.origin)} differs from ${JSON.stringify(origin)}`)
    }
    if (row.size > size) {
      reasons.push(`it covers ${row.size} entries but the log holds ${size}`)
    } else {
      const root = row.size === 0 ? EMPTY_ROOT : trueRoots.get(row.size)
      // A mismatch above an altered entry is that entry's doing, and the entry is named already.
      if (root && !root.equals(row.root) && firstAltered >= row.size) {
        reasons.push(`its root hash is not the root of the first ${row.size} stored entries`)
      }
    }
    if (reasons.length > 0)
      report({ kind: 'checkpoint', size: row.size, message: `checkpoint of size ${row.size}: ${reasons.join('; ')}` })
  }

  return {
    ok: problems.length === 0,
    size,
    nodes: nodeCount,
    checkpoints,
    signatures: key !== undefined,
    problems,
    truncated,
  }
}

/** The text of a signed note without checking its signatures: everything up to the last blank line. */
function unsignedBody(note: string): string {
  const split = note.lastIndexOf('\n\n')
  if (split < 0) throw new Error('its text is not a signed note (no blank line before the signatures)')
  return note.slice(0, split + 1)
}

/** The filter columns that do not say what the entry says (they were written from it, see access-log.ts). */
function columnMismatches(row: LeafRow, entry: Record<string, unknown>): string[] {
  const actor = (entry.actor ?? {}) as Record<string, unknown>
  const resource = (entry.resource ?? {}) as Record<string, unknown>
  const expected: Array<[string, unknown, unknown]> = [
    ['time', row.time, entry.time],
    ['actor', row.actor, actor.sub],
    ['org', row.org, actor.org],
    ['court', row.court, resource.court],
    ['case_no', row.case_no, resource.caseNo],
    ['grant_id', row.grant_id, resource.grant],
    ['action', row.action, entry.action],
    ['decision', row.decision, entry.decision],
    ['phase', row.phase, entry.phase],
    ['intent_ref', row.intent_ref, entry.intent],
  ]
  return expected.filter(([, column, value]) => (column ?? undefined) !== value).map(([name]) => name)
}

/** Lines for a person: what was checked, or each problem. */
export function describeCheck(result: CheckResult, file: string): string[] {
  if (result.ok) {
    const signatures = result.signatures
      ? 'signatures verified'
      : 'signatures not checked (give --key KEYFILE to check them)'
    return [
      `OK: the access log in ${file} is intact: ${result.size} entries, ${result.nodes} tree nodes, ${result.checkpoints} checkpoints (${signatures})`,
    ]
  }
  const lines = [
    `FAILED: the access log in ${file} has ${result.truncated ? 'more than ' : ''}${result.problems.length} problem(s):`,
  ]
  for (const problem of result.problems) lines.push(`  ${problem.message}`)
  if (result.truncated) lines.push(`  … and more (only the first ${MAX_PROBLEMS} are listed)`)
  const firstLeaf = result.problems.find((p) => p.kind === 'leaf')
  if (firstLeaf) lines.push(`first bad index: ${firstLeaf.index}`)
  return lines
}
