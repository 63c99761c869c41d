/**
 * Access-log benchmark on PostgreSQL (issue 11): durable appends per second with 1 and 3 gateway processes
 * appending to one log, against raw batched inserts of the same rows into the same database in the same run,
 * and inclusion-proof latency in a tree of a million entries.
 *
 *   npm run bench:pg -- [--quick] [--seconds 8] [--rounds 5] [--appenders 256] [--replicas 1,3] [--direct]
 *                       [--size 1000000] [--proofs 5000] [--url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * `--quick`: 3 s runs, 3 rounds, a tree of 100,000 entries, 2,000 proofs. `--size 0` or `--seconds 0` skips a
 * part. Each configuration runs `--rounds` times, the log and the baseline alternating; the summary takes the
 * medians. `--direct`: every replica appends on its own under the head lock (no sequencer), to compare.
 * Every part runs on its own throw-away database (cfg_bench_<random>, created on the server of `--url` or
 * CFG_BENCH_POSTGRES_URL, migrated like the gateway's, dropped at the end).
 *
 * The 3-replica run forks this script as child processes (`--child`), each with its own pool, TransparencyLog
 * and SequencedLog on the same database, as three gateway replicas are: one leads, the others forward to it.
 */
import { type ChildProcess, fork } from 'node:child_process'
import crypto from 'node:crypto'
import { once } from 'node:events'
import os from 'node:os'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { TransparencyLog } from '../src/accesslog/access-log.js'
import { leafHash } from '../src/accesslog/merkle/hash.js'
import { Frontier, type NodePosition } from '../src/accesslog/merkle/tree.js'
import { PostgresLogStore } from '../src/accesslog/postgres-store.js'
import { HeadMoved, type LeafRecord, type Rebase, type TreeNode } from '../src/accesslog/store.js'
import { SequencedLog } from '../src/accesslog/sequencer.js'
import { connectClient, createPool, migratePostgres } from '../src/storage/postgres.js'
import { metaOf, reading, syntheticLeaf } from './log-entries.js'
import { percentile, table, timeProofs } from './log-report.js'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    appenders: { type: 'string', default: '256' },
    replicas: { type: 'string', default: '1,3' },
    // Each configuration this many times, the log and the baseline alternating; the summary takes medians.
    rounds: { type: 'string' },
    size: { type: 'string' },
    proofs: { type: 'string' },
    url: {
      type: 'string',
      default: process.env.CFG_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    // Every replica appends on its own under the head lock, without a sequencer (as before issue 11's step 2).
    direct: { type: 'boolean', default: false },
    // Internal: run as one replica of the multi-process run.
    child: { type: 'string' },
  },
})
const QUICK = values.quick
const DIRECT = values.direct
const SECONDS = Number(values.seconds ?? (QUICK ? 3 : 8))
const APPENDERS = Number(values.appenders)
const REPLICAS = values.replicas
  .split(',')
  .filter((s) => s !== '')
  .map((s) => Number(s))
const ROUNDS = Number(values.rounds ?? (QUICK ? 3 : 5))
const SIZE = Number(values.size ?? (QUICK ? 100_000 : 1_000_000))
const PROOFS = Number(values.proofs ?? (QUICK ? 2000 : 5000))
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be at least 1: ${values.rounds}`)
for (const n of [SECONDS, APPENDERS, SIZE, PROOFS, ...REPLICAS]) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not a whole number: ${n}`)
}

const ORIGIN = 'bench.court-file-gateway/log'
const CHECKPOINT_MS = 1000

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const load = () => fmt(os.loadavg()[0]!, 2)
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
const say = (text: string) => process.stderr.write(`${text}\n`)

// ---------------------------------------------------------------------------------------------------------
// Databases

const databases: string[] = []

async function admin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: values.url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

/** A fresh database with the gateway's schema; dropped at the end of the run. */
async function freshDatabase(): Promise<string> {
  const name = `cfg_bench_${crypto.randomBytes(6).toString('hex')}`
  await admin((client) => client.query(`CREATE DATABASE ${name}`))
  databases.push(name)
  const url = new URL(values.url)
  url.pathname = `/${name}`
  const pool = createPool(url.toString(), 1)
  try {
    await migratePostgres(pool)
  } finally {
    await pool.end()
  }
  return url.toString()
}

async function dropDatabases(): Promise<void> {
  const names = databases.splice(0)
  if (names.length === 0) return
  await admin(async (client) => {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })
}

// ---------------------------------------------------------------------------------------------------------
// 1. Durable appends through TransparencyLog on PostgresLogStore, in one or several processes.

/** What one process measured: appends counted inside the common window, latencies in ms. */
interface ReplicaResult {
  count: number
  latencies: number[]
  batches: number
  entries: number
  rebased: number
  headMoved: number
  refused: number
  cpuMicros: number
}

/** A PostgresLogStore that counts the batches placed again (another process appended first) or refused. */
class CountingStore extends PostgresLogStore {
  rebased = 0
  headMoved = 0
  refused = 0
  override appendBatch(leaves: LeafRecord[], nodes: TreeNode[], rebase?: Rebase): Promise<void> {
    const counted: Rebase | undefined = rebase
      ? (size, read) => {
          this.rebased++
          return rebase(size, read)
        }
      : undefined
    const committed = super.appendBatch(leaves, nodes, counted)
    committed.catch((error: unknown) => {
      if (error instanceof HeadMoved) this.headMoved++
      else this.refused++
    })
    return committed
  }
}

/**
 * One replica: `appenders` loops, each awaiting its append (durable) before the next, from `start` to `end`
 * (wall-clock milliseconds, shared by every process of the run).
 */
async function replica(url: string, appenders: number, offset: number, start: number, end: number) {
  const pool = createPool(url)
  const store = new CountingStore(pool)
  let batches = 0
  let entries = 0
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
  const transparency = await TransparencyLog.open({
    store,
    origin: ORIGIN,
    signingKey: privateKey,
    publicKey,
    checkpointIntervalMs: CHECKPOINT_MS,
    onBatch: (size) => {
      batches++
      entries += size
    },
  })
  // As the gateway runs on PostgreSQL: one process sequences, the others forward to it (see sequencer.ts);
  // with --direct, every process appends on its own under the head lock.
  const log = DIRECT
    ? transparency
    : await SequencedLog.start({
        log: transparency,
        store,
        pool,
        connect: () => connectClient(url),
        listen: { host: '127.0.0.1', port: 0 },
        inDoubtAfterMs: 15_000,
        now: () => new Date(),
        onWarning: say,
      })
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())))
  const latencies: number[] = []
  let count = 0
  const cpuBefore = process.cpuUsage()
  await Promise.all(
    Array.from({ length: appenders }, async (_, worker) => {
      let i = offset + worker
      while (Date.now() < end) {
        const t0 = performance.now()
        await log.append(reading(i))
        if (Date.now() <= end) {
          latencies.push(performance.now() - t0)
          count++
        }
        i += appenders
      }
    }),
  )
  const cpu = process.cpuUsage(cpuBefore)
  const leading = log instanceof SequencedLog && log.leading
  say(
    `  replica ${offset / 1_000_000}${leading ? ' (sequencer)' : ''}: ${fmt(count)} appends, CPU ${fmt((cpu.user + cpu.system) / 1000)} ms` +
      (entries > 0 ? `, ${fmt((cpu.user + cpu.system) / entries, 1)} µs per entry sequenced (${fmt(entries)})` : ''),
  )
  await log.close()
  await pool.end()
  return {
    count,
    latencies,
    batches,
    entries,
    rebased: store.rebased,
    headMoved: store.headMoved,
    refused: store.refused,
    cpuMicros: cpu.user + cpu.system,
  } satisfies ReplicaResult
}

async function childMain(spec: string): Promise<void> {
  const { url, appenders, offset } = JSON.parse(spec) as { url: string; appenders: number; offset: number }
  // Opens nothing until told when to start: every child is then loaded and the window is common.
  process.send!({ ready: true })
  const [message] = (await once(process, 'message')) as [{ start: number; end: number }]
  const result = await replica(url, appenders, offset, message.start, message.end)
  // Disconnected only once the result is handed over: a large one is still being written otherwise.
  process.send!({ result }, () => process.disconnect())
}

interface AppendRun {
  replicas: number
  perSecond: number
  p50: number
  p99: number
  meanBatch: number
  batches: number
  rebased: number
  headMoved: number
  refused: number
  cpuPerAppend: number
  load: string
}

async function appendRun(url: string, replicas: number): Promise<AppendRun> {
  const split = Array.from(
    { length: replicas },
    (_, r) => Math.floor(APPENDERS / replicas) + (r < APPENDERS % replicas ? 1 : 0),
  )
  let results: ReplicaResult[]
  const window = SECONDS * 1000
  if (replicas === 1) {
    const start = Date.now() + 200
    results = [await replica(url, APPENDERS, 0, start, start + window)]
  } else {
    const children: ChildProcess[] = split.map((appenders, r) =>
      fork(
        import.meta.filename,
        ['--child', JSON.stringify({ url, appenders, offset: r * 1_000_000 }), ...(DIRECT ? ['--direct'] : [])],
        {
          execArgv: process.execArgv,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      ),
    )
    const answers = children.map(
      (child) =>
        new Promise<ReplicaResult>((resolve, reject) => {
          child.on('message', (message: { result?: ReplicaResult }) => {
            if (message.result) resolve(message.result)
          })
          child.on('exit', (code) => reject(new Error(`a replica exited with ${code} before reporting`)))
        }),
    )
    await Promise.all(children.map((child) => once(child, 'message')))
    // Time for every child to open its pool and log (a few round trips) before the common window.
    const start = Date.now() + 1000
    for (const child of children) child.send({ start, end: start + window })
    results = await Promise.all(answers)
  }
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const sum = (key: keyof Omit<ReplicaResult, 'latencies'>) => results.reduce((total, r) => total + r[key], 0)
  return {
    replicas,
    perSecond: sum('count') / SECONDS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    meanBatch: sum('entries') / Math.max(1, sum('batches')),
    batches: sum('batches'),
    rebased: sum('rebased'),
    headMoved: sum('headMoved'),
    refused: sum('refused'),
    cpuPerAppend: sum('cpuMicros') / Math.max(1, sum('count')),
    load: load(),
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2. The baseline: raw batched INSERTs of the same rows into tables of the same shape in the same database.

/** Rows as the log writes them (leaf bytes with the `prev` chain, hashes, filter columns), made beforehand. */
const ROW_POOL = 16_384
function rowPool(): LeafRecord[] {
  const records: LeafRecord[] = []
  let previous: Buffer | undefined
  for (let i = 0; i < ROW_POOL; i++) {
    const leaf = syntheticLeaf(i, previous)
    previous = leafHash(leaf)
    records.push({ index: i, leaf, leafHash: previous, meta: metaOf(i) })
  }
  return records
}

const RAW_LEAVES = `INSERT INTO raw_entries
  (idx, leaf, leaf_hash, time, actor, org, court, case_no, grant_id, action, decision, phase, intent_ref)
  SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])`
const RAW_NODES =
  'INSERT INTO raw_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])'

interface RawRun {
  writers: number
  batch: number
  perSecond: number
  p50: number
  p99: number
  load: string
}

/**
 * `writers` connections, each committing batches of `batch` rows (leaves and the subtree nodes they
 * complete, as the log writes them) one transaction after the other, for SECONDS: no head lock, no
 * sequencing, no hashing or serialising in the loop. Latency is per batch (the time an entry would wait).
 */
async function rawInserts(url: string, writers: number, batch: number): Promise<RawRun> {
  const pool = createPool(url, writers)
  await pool.query(`DROP TABLE IF EXISTS raw_entries, raw_nodes;
    CREATE TABLE raw_entries (LIKE log_entries INCLUDING ALL);
    CREATE TABLE raw_nodes (LIKE log_nodes INCLUDING ALL)`)
  const rows = rowPool()
  let next = 0
  let count = 0
  const latencies: number[] = []
  const start = performance.now()
  const end = start + SECONDS * 1000
  await Promise.all(
    Array.from({ length: writers }, async () => {
      const client = await pool.connect()
      try {
        while (performance.now() < end) {
          const first = next
          next += batch
          const leaves: unknown[][] = Array.from({ length: 13 }, () => [])
          const levels: number[] = []
          const idxs: number[] = []
          const hashes: Buffer[] = []
          for (let i = first; i < first + batch; i++) {
            const r = rows[i % ROW_POOL]!
            const m = r.meta
            const values: unknown[] = [i, r.leaf, r.leafHash, m.time, m.actor, m.org, m.court, m.caseNo, m.grant]
            values.push(m.action, m.decision, m.phase, null)
            for (let c = 0; c < 13; c++) leaves[c]!.push(values[c])
            // The nodes the log stores for leaf i: the leaf itself, then every subtree it completes.
            for (let level = 0; (i + 1) % 2 ** level === 0; level++) {
              levels.push(level)
              idxs.push((i + 1) / 2 ** level - 1)
              hashes.push(rows[(i + level) % ROW_POOL]!.leafHash)
            }
          }
          const t0 = performance.now()
          await client.query('BEGIN')
          // Named (prepared once per connection), as the log's own insert is.
          await client.query({ name: 'raw_leaves', text: RAW_LEAVES, values: leaves })
          await client.query({ name: 'raw_nodes', text: RAW_NODES, values: [levels, idxs, hashes] })
          await client.query('COMMIT')
          const t1 = performance.now()
          if (t1 <= end) {
            latencies.push(t1 - t0)
            count += batch
          }
        }
      } finally {
        client.release()
      }
    }),
  )
  const elapsed = (performance.now() - start) / 1000
  await pool.query('DROP TABLE raw_entries, raw_nodes')
  await pool.end()
  latencies.sort((a, b) => a - b)
  return {
    writers,
    batch,
    perSecond: count / Math.min(elapsed, SECONDS),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    load: load(),
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. Inclusion proofs at SIZE entries.

const CHUNK = 20_000

/**
 * Fills the log through PostgresLogStore.appendBatch, 20,000 entries a transaction, on connections with
 * synchronous_commit off and without the audit-filter indexes (proofs read only log_nodes; the indexes and
 * the flushes only make the build slower).
 */
async function buildTree(url: string, size: number): Promise<{ seconds: number; root: Buffer }> {
  const scoped = new URL(url)
  scoped.searchParams.set('options', '-c synchronous_commit=off')
  const pool = createPool(scoped.toString(), 2)
  for (const index of ['actor', 'org', 'court', 'case', 'grant', 'intent_ref', 'open_intents', 'intents_by_time']) {
    await pool.query(`DROP INDEX log_entries_${index}`)
  }
  const store = new PostgresLogStore(pool)
  const frontier = new Frontier()
  let previous: Buffer | undefined
  const started = performance.now()
  let lastReport = started
  let sent: Promise<void> = Promise.resolve()
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
    // Pipelined: the next chunk is made while the store writes this one (the store keeps them in order).
    await sent
    sent = store.appendBatch(records, nodes)
    if (performance.now() - lastReport > 10_000) {
      say(`  … ${fmt(start + CHUNK)} of ${fmt(size)} entries written`)
      lastReport = performance.now()
    }
  }
  await sent
  await store.close()
  await pool.query('CHECKPOINT')
  await pool.query('VACUUM ANALYZE log_nodes')
  await pool.end()
  return { seconds: (performance.now() - started) / 1000, root: frontier.root() }
}

async function proofLatency(size: number) {
  const url = await freshDatabase()
  say(`building a tree of ${fmt(size)} entries…`)
  const built = await buildTree(url, size)
  // Measured as the gateway runs: a fresh pool with the gateway's settings.
  const pool = createPool(url)
  let reads = 0
  const store = new (class extends PostgresLogStore {
    override readNodes(positions: NodePosition[]): Promise<Buffer[]> {
      reads += positions.length
      return super.readNodes(positions)
    }
  })(pool)
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
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
  const { rows } = await pool.query<{ bytes: number }>('SELECT pg_database_size(current_database()) AS bytes')
  await log.close()
  await pool.end()
  return {
    size,
    build: built.seconds,
    bytes: rows[0]!.bytes,
    readsPerProof: reads / PROOFS,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    load: load(),
  }
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = Date.now()
  const server = await admin(async (client) => {
    const setting = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0][name] as string
    return {
      version: (await client.query('SHOW server_version')).rows[0].server_version as string,
      synchronousCommit: await setting('synchronous_commit'),
      fsync: await setting('fsync'),
      sharedBuffers: await setting('shared_buffers'),
      commitDelay: await setting('commit_delay'),
    }
  })
  console.log(`court-file-gateway PostgreSQL access-log benchmark — ${new Date().toISOString()}`)
  console.log(
    `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM; load average ${load()}`,
  )
  console.log(
    `PostgreSQL ${server.version} at ${new URL(values.url).host} (synchronous_commit=${server.synchronousCommit}, fsync=${server.fsync}, commit_delay=${server.commitDelay}, shared_buffers=${server.sharedBuffers}); ${SECONDS} s per append run, ${APPENDERS} appenders in all, ${DIRECT ? 'every replica appending on its own (--direct)' : 'one sequencer, the other replicas forwarding'}`,
  )
  const summary: string[][] = []
  const appendRows: string[][] = []
  if (SECONDS > 0) {
    for (const replicas of REPLICAS) {
      const rates: number[] = []
      const raws: number[] = []
      const ratios: number[] = []
      // Rounds alternate the log and the baseline, each on a fresh database, so that a change in the
      // machine's load (other processes) moves both alike; the medians are what the summary reports.
      for (let round = 1; round <= ROUNDS; round++) {
        const url = await freshDatabase()
        const label = ROUNDS > 1 ? `${replicas} (round ${round})` : String(replicas)
        say(`appends with ${replicas} replica(s), ${APPENDERS} appenders, round ${round}… (load ${load()})`)
        const run = await appendRun(url, replicas)
        say(`  ${fmt(run.perSecond)}/s, mean batch ${fmt(run.meanBatch, 1)} (load ${run.load})`)
        const batch = Math.max(1, Math.round(run.meanBatch))
        say(`raw batched inserts, ${replicas} writer(s), ${batch} rows a batch… (load ${load()})`)
        const raw = await rawInserts(url, replicas, batch)
        say(`  ${fmt(raw.perSecond)}/s (load ${raw.load})`)
        rates.push(run.perSecond)
        raws.push(raw.perSecond)
        ratios.push(run.perSecond / raw.perSecond)
        appendRows.push([
          label,
          fmt(run.perSecond),
          fmt(run.meanBatch, 1),
          `${fmt(run.p50, 2)} / ${fmt(run.p99, 2)}`,
          `${fmt(run.batches)} / ${fmt(run.rebased)} / ${run.headMoved + run.refused}`,
          fmt(run.cpuPerAppend, 1),
          run.load,
          fmt(raw.perSecond),
          `${fmt(raw.p50, 2)} / ${fmt(raw.p99, 2)}`,
          raw.load,
          fmt(run.perSecond / raw.perSecond, 2),
        ])
      }
      if (ROUNDS > 1) {
        appendRows.push([
          `${replicas} (median)`,
          fmt(median(rates)),
          '',
          '',
          '',
          '',
          '',
          fmt(median(raws)),
          '',
          '',
          fmt(median(ratios), 2),
        ])
      }
      const what = ROUNDS > 1 ? ` (median of ${ROUNDS})` : ''
      summary.push([
        `appends/s, ${replicas} replica(s)${what}`,
        fmt(median(rates)),
        replicas >= 3 ? '≥ 10,000' : '—',
        load(),
      ])
      summary.push([`÷ raw batched inserts, ${replicas} replica(s)${what}`, fmt(median(ratios), 2), '≥ 0.5', load()])
    }
    table(
      `Durable appends per second on PostgreSQL (${APPENDERS} appenders in all, each awaiting its append; ${SECONDS} s)`,
      [
        'replicas',
        'appends/s',
        'mean batch',
        'latency p50 / p99 ms',
        'batches / rebased / refused',
        'CPU µs / append',
        'load',
        'raw inserts/s',
        'raw batch p50 / p99 ms',
        'load',
        'ratio',
      ],
      appendRows,
    )
  }
  if (SIZE > 0) {
    const r = await proofLatency(SIZE)
    table(
      `Inclusion proofs for ${fmt(PROOFS)} random indexes against the full tree (after 200 verified warm-up proofs)`,
      ['entries', 'build', 'database', 'node reads / proof', 'median', 'p99', 'load'],
      [
        [
          fmt(r.size),
          `${fmt(r.build, 1)} s`,
          `${fmt(r.bytes / 2 ** 30, 2)} GiB`,
          fmt(r.readsPerProof, 1),
          `${fmt(r.p50, 3)} ms`,
          `${fmt(r.p99, 3)} ms`,
          r.load,
        ],
      ],
    )
    summary.push([`inclusion proof median, ${fmt(r.size)} entries`, `${fmt(r.p50, 3)} ms`, '< 2 ms', r.load])
  }
  table('Summary', ['figure', 'measured', 'target', 'load'], summary)
  console.log(`\ntotal ${fmt((Date.now() - began) / 1000, 0)} s`)
}

if (values.child !== undefined) {
  await childMain(values.child)
} else {
  const stop = () => {
    void dropDatabases().finally(() => process.exit(130))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  try {
    await main()
  } finally {
    await dropDatabases()
  }
}
