/**
 * Access-log benchmark (issue 3): durable appends per second with group commit against one transaction per
 * append, inclusion-proof latency in big trees, and offline verification of a big export.
 *
 *   npm run bench:log -- [--sizes 1000000,10000000] [--seconds 4] [--export 1000000] [--proofs 20000]
 *
 * `--seconds` is the length of each append run, `--sizes` the trees to build for inclusion proofs, `--export`
 * the entries of the export to verify; 0 or an empty list skips a part.
 *
 * Everything runs on SQLite files in a temporary folder opened by openSqlite (WAL, synchronous=FULL), the
 * gateway's own configuration, and is removed at the end.
 */
import crypto from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import canonicalize from 'canonicalize'
import { TransparencyLog } from '../src/accesslog/access-log.js'
import { formatCheckpoint } from '../src/accesslog/checkpoint.js'
import type { EntryInput } from '../src/accesslog/entry.js'
import { leafHash } from '../src/accesslog/merkle/hash.js'
import { Frontier, type NodePosition } from '../src/accesslog/merkle/tree.js'
import { signNote, verifierKey } from '../src/accesslog/note.js'
import { SqliteLogStore } from '../src/accesslog/sqlite-store.js'
import type { LeafRecord, TreeNode } from '../src/accesslog/store.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { openSqlite } from '../src/storage/sqlite.js'
import { metaOf, reading, syntheticLeaf } from './log-entries.js'
import { percentile, table, timeProofs } from './log-report.js'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000,10000000' },
    seconds: { type: 'string', default: '4' },
    export: { type: 'string', default: '1000000' },
    proofs: { type: 'string', default: '20000' },
  },
})
const SIZES = values.sizes
  .split(',')
  .filter((s) => s !== '')
  .map((s) => Number(s))
const SECONDS = Number(values.seconds)
const EXPORT_SIZE = Number(values.export)
const PROOFS = Number(values.proofs)
for (const n of [...SIZES, SECONDS, EXPORT_SIZE, PROOFS]) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a whole number: ${n}`)
}

const ORIGIN = 'bench.court-file-gateway/log'
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
const KEY_TEXT = `${verifierKey(ORIGIN, publicKey)}\n`
const tmp = mkdtempSync(join(os.tmpdir(), 'cfg-bench-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))
let files = 0
const freshDb = () => join(tmp, `log-${files++}.db`)
const removeDb = (path: string) => {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ms = (ns: bigint | number) => Number(ns) / 1e6

// ---------------------------------------------------------------------------------------------------------
// 1. Durable appends: group commit through TransparencyLog.append against one transaction per append.

interface AppendResult {
  perSecond: number
  /** Process CPU time (user + system) per append: what the machine's other load does not change. */
  cpu: number
  meanBatch: number
  p50: number
  p99: number
}

/** `appenders` loops, each awaiting its append before the next, for `seconds`; every append is durable. */
async function runAppenders(append: (entry: EntryInput) => Promise<number>, appenders: number, seconds: number) {
  const latencies: number[] = []
  let count = 0
  const end = performance.now() + seconds * 1000
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  await Promise.all(
    Array.from({ length: appenders }, async (_, worker) => {
      let i = worker
      while (performance.now() < end) {
        const t0 = performance.now()
        await append(reading(i))
        latencies.push(performance.now() - t0)
        count++
        i += appenders
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const cpu = process.cpuUsage(cpuBefore)
  return {
    perSecond: count / elapsed,
    cpu: (cpu.user + cpu.system) / count,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  }
}

function mean(runs: AppendResult[]): AppendResult {
  const of = (key: keyof AppendResult) => runs.reduce((sum, run) => sum + run[key], 0) / runs.length
  return { perSecond: of('perSecond'), cpu: of('cpu'), meanBatch: of('meanBatch'), p50: of('p50'), p99: of('p99') }
}

async function groupCommit(appenders: number): Promise<AppendResult> {
  const path = freshDb()
  const db = openSqlite(path)
  let batches = 0
  let entries = 0
  const log = await TransparencyLog.open({
    store: new SqliteLogStore(db),
    origin: ORIGIN,
    signingKey: privateKey,
    publicKey,
    checkpointIntervalMs: 1000,
    onBatch: (size) => {
      batches++
      entries += size
    },
  })
  const result = await runAppenders((entry) => log.append(entry), appenders, SECONDS)
  await log.close()
  db.close()
  removeDb(path)
  return { ...result, meanBatch: entries / batches }
}

/**
 * The baseline a straightforward implementation would be: each append is its own transaction, so its own
 * fsync. Same entry format, hashing and tree nodes as the real log; only the batching differs.
 */
async function oneTransactionEach(appenders: number): Promise<AppendResult> {
  const path = freshDb()
  const db = openSqlite(path)
  // Inline: every commit on this thread, blocking, as a straightforward implementation would.
  const store = new SqliteLogStore(db, { writer: 'inline' })
  const frontier = new Frontier()
  let previous: Buffer | undefined
  const append = async (input: EntryInput): Promise<number> => {
    // Yield first, as a request handler would between appends; the commit itself blocks, as it must.
    await new Promise((resolve) => setImmediate(resolve))
    const entry = {
      v: 1,
      time: new Date().toISOString(),
      ...input,
      ...(previous ? { prev: previous.toString('base64') } : {}),
    }
    const leaf = Buffer.from(canonicalize(entry)!, 'utf8')
    const hash = leafHash(leaf)
    const index = frontier.size
    const nodes = frontier.append(hash)
    await store.appendBatch([{ index, leaf, leafHash: hash, meta: { ...metaOf(index), time: entry.time } }], nodes)
    previous = hash
    return index
  }
  const result = await runAppenders(append, appenders, SECONDS)
  db.close()
  removeDb(path)
  return { ...result, meanBatch: 1 }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Inclusion proofs in big trees, built directly through the store in large transactions.

const CHUNK = 50_000

/**
 * Fills a log of `size` entries through SqliteLogStore.appendBatch, 50,000 entries a transaction. The audit
 * filter indexes of log_entries are dropped first and the build runs with synchronous=OFF: proofs read only
 * log_nodes, and with the indexes ten million entries take several minutes longer to write.
 */
async function buildTree(path: string, size: number): Promise<{ seconds: number; root: Buffer }> {
  const db = openSqlite(path)
  for (const index of ['actor', 'org', 'court', 'case', 'grant', 'intent_ref', 'open_intents']) {
    db.exec(`DROP INDEX log_entries_${index}`)
  }
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -262144')
  // Inline: the pragmas above belong to this connection.
  const store = new SqliteLogStore(db, { writer: 'inline' })
  const frontier = new Frontier()
  let previous: Buffer | undefined
  const started = process.hrtime.bigint()
  let lastReport = started
  for (let start = 0; start < size; start += CHUNK) {
    const records: LeafRecord[] = []
    const nodes: TreeNode[] = []
    for (let i = start; i < Math.min(size, start + CHUNK); i++) {
      const leaf = syntheticLeaf(i, previous)
      const hash = leafHash(leaf)
      records.push({ index: i, leaf, leafHash: hash, meta: metaOf(i) })
      for (const node of frontier.append(hash)) nodes.push(node)
      previous = hash
    }
    await store.appendBatch(records, nodes)
    const now = process.hrtime.bigint()
    if (now - lastReport > 10_000_000_000n) {
      process.stderr.write(`  … ${fmt(start + CHUNK)} of ${fmt(size)} entries written\n`)
      lastReport = now
    }
  }
  const seconds = ms(process.hrtime.bigint() - started) / 1000
  db.close()
  return { seconds, root: frontier.root() }
}

async function proofLatency(size: number) {
  const path = freshDb()
  process.stderr.write(`building a tree of ${fmt(size)} entries…\n`)
  const built = await buildTree(path, size)
  // Measured as the gateway runs: a fresh connection with the gateway's settings.
  const db = openSqlite(path)
  let reads = 0
  // Counts node reads, to show a proof costs O(log n) of them.
  const store = new (class extends SqliteLogStore {
    override readNodes(positions: NodePosition[]): Promise<Buffer[]> {
      reads += positions.length
      return super.readNodes(positions)
    }
  })(db)
  const log = await TransparencyLog.open({
    store,
    origin: ORIGIN,
    signingKey: privateKey,
    publicKey,
    checkpointIntervalMs: 60_000,
  })
  if (!log.latestCheckpoint().root.equals(built.root)) throw new Error('the stored tree does not give the built root')
  const samples = await timeProofs(
    log,
    (index) => store.readLeaf(index),
    size,
    built.root,
    PROOFS,
    () => {
      reads = 0
    },
  )
  const readsPerProof = reads / PROOFS
  await log.close()
  db.close()
  const bytes = statSync(path).size
  removeDb(path)
  return {
    size,
    build: built.seconds,
    bytes,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    readsPerProof,
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Offline verification of an export, as `court-file-gateway verify --export` does it.

function offlineVerification(size: number) {
  process.stderr.write(`writing an export of ${fmt(size)} entries…\n`)
  const frontier = new Frontier()
  const parts: Buffer[] = []
  let previous: Buffer | undefined
  for (let i = 0; i < size; i++) {
    const leaf = syntheticLeaf(i, previous)
    previous = leafHash(leaf)
    frontier.push(previous)
    parts.push(leaf, Buffer.from('\n'))
  }
  const exportPath = join(tmp, 'export.ndjson')
  writeFileSync(exportPath, Buffer.concat(parts))
  parts.length = 0
  const checkpoint = signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: frontier.root() }), ORIGIN, privateKey)
  const started = process.hrtime.bigint()
  const exportText = readFileSync(exportPath)
  const read = ms(process.hrtime.bigint() - started) / 1000
  const result = verifyExport({ exportText, checkpointText: checkpoint, keyText: KEY_TEXT })
  const total = ms(process.hrtime.bigint() - started) / 1000
  if (!result.ok) throw new Error(`the export did not verify: ${result.message}`)
  const bytes = exportText.length
  rmSync(exportPath)
  return { size, bytes, read, total }
}

// ---------------------------------------------------------------------------------------------------------

const began = Date.now()
console.log(`court-file-gateway access-log benchmark — ${new Date().toISOString()}`)
console.log(
  `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM`,
)
console.log(`SQLite files in ${os.tmpdir()} (WAL, synchronous=FULL); ${SECONDS} s per append run`)

const appendRows: string[][] = []
for (const appenders of SECONDS > 0 ? [1, 16, 256] : []) {
  process.stderr.write(`appends with ${appenders} concurrent appender(s)…\n`)
  // Twice each, alternating, so that neither side always gets the warmer (or colder) disk and CPU.
  const runs = { group: [] as AppendResult[], naive: [] as AppendResult[] }
  for (let round = 0; round < 2; round++) {
    runs.group.push(await groupCommit(appenders))
    runs.naive.push(await oneTransactionEach(appenders))
  }
  const group = mean(runs.group)
  const naive = mean(runs.naive)
  appendRows.push([
    String(appenders),
    fmt(group.perSecond),
    fmt(group.meanBatch, 1),
    `${fmt(group.p50, 2)} / ${fmt(group.p99, 2)}`,
    fmt(group.cpu, 1),
    fmt(naive.perSecond),
    `${fmt(naive.p50, 2)} / ${fmt(naive.p99, 2)}`,
    `${fmt(group.perSecond / naive.perSecond, 1)}×`,
  ])
}
if (appendRows.length > 0)
  table(
    'Durable appends per second (each append resolves only after its transaction is fsynced)',
    [
      'appenders',
      'group commit /s',
      'mean batch',
      'latency p50 / p99 ms',
      'CPU µs / append',
      'one tx per append /s',
      'latency p50 / p99 ms',
      'speed-up',
    ],
    appendRows,
  )

const proofRows: string[][] = []
for (const size of SIZES) {
  const r = await proofLatency(size)
  proofRows.push([
    fmt(r.size),
    `${fmt(r.build, 1)} s`,
    `${fmt(r.bytes / 2 ** 30, 2)} GiB`,
    fmt(r.readsPerProof, 1),
    `${fmt(r.p50 * 1000, 1)} µs`,
    `${fmt(r.p99 * 1000, 1)} µs`,
  ])
}
if (proofRows.length > 0) {
  table(
    `Inclusion proofs for ${fmt(PROOFS)} random indexes against the full tree (after 200 verified warm-up proofs)`,
    ['entries', 'build', 'database', 'node reads / proof', 'median', 'p99'],
    proofRows,
  )
}

if (EXPORT_SIZE > 0) {
  const r = offlineVerification(EXPORT_SIZE)
  table(
    'Offline verification of an NDJSON export against a signed checkpoint (verifyExport, one core)',
    ['entries', 'export', 'read file', 'read + verify'],
    [[fmt(r.size), `${fmt(r.bytes / 2 ** 20, 0)} MiB`, `${fmt(r.read, 2)} s`, `${fmt(r.total, 2)} s`]],
  )
}
console.log(`\ntotal ${fmt((Date.now() - began) / 1000, 0)} s`)
