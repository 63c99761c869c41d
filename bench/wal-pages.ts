/**
 * What one access-log commit writes on SQLite: the WAL pages of single-entry commits (as at a low, fixed rate of
 * reads, when nothing batches), counted by the B-tree each page belongs to. Every page is a 4 KiB frame written
 * to the WAL and covered by the commit's fsync, so this is what each read's intent and outcome cost the writer.
 *
 *   node --import tsx bench/wal-pages.ts [--commits N]
 *
 * Keep N × pages under the writer's checkpoint mark (WAL_AUTOCHECKPOINT_PAGES): a checkpoint restarts the WAL.
 */
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { TransparencyLog } from '../src/accesslog/access-log.js'
import type { EntryInput } from '../src/accesslog/entry.js'
import { SqliteLogStore } from '../src/accesslog/sqlite-store.js'
import { openSqlite } from '../src/storage/sqlite.js'
import { reading } from './log-entries.js'

const { values } = parseArgs({
  options: { commits: { type: 'string', default: '200' } },
})
const commits = Number(values.commits)
const dir = mkdtempSync(join(tmpdir(), 'cfg-wal-pages-'))
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const db = openSqlite(join(dir, 'gateway.db'))
// The production writer: its own connection on a worker thread, synchronous=FULL.
const log = await TransparencyLog.open({
  store: new SqliteLogStore(db),
  origin: 'bench.gateway/log',
  signingKey: privateKey,
  publicKey,
  checkpointIntervalMs: 3_600_000,
})
/** A read's two entries, as the gateway appends them: the intent, then its outcome. */
const entry = (i: number): EntryInput =>
  i % 2 === 0
    ? reading(i)
    : ({
        ...reading(i - 1),
        phase: 'outcome',
        intent: i - 1,
        outcome: { result: 'completed', bytes: 20480, sha256: 'ab'.repeat(32) },
      } as EntryInput)
// A log of some size first, so that the B-trees have their depth and the first commits' schema pages are gone.
for (let i = 0; i < 2000; i++) await log.append(entry(i))
db.pragma('wal_checkpoint(TRUNCATE)')
const cpuBefore = writerCpuMs()
const started = performance.now()
const waits: number[] = []
for (let i = 2000; i < 2000 + commits; i++) {
  const sent = performance.now()
  await log.append(entry(i))
  waits.push((performance.now() - sent) * 1000)
}
const wallPerCommit = ((performance.now() - started) * 1000) / commits
waits.sort((a, b) => a - b)
const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))]!.toFixed(0)
const cpuAfter = writerCpuMs()

const wal = readFileSync(join(dir, 'gateway.db-wal'))
const pageSize = wal.readUInt32BE(8)
const owner = new Map(
  (db.prepare('SELECT name, pageno FROM dbstat').all() as Array<{ name: string; pageno: number }>).map((row) => [
    row.pageno,
    row.name,
  ]),
)
const byTree = new Map<string, number>()
let frames = 0
for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
  const tree = owner.get(wal.readUInt32BE(at)) ?? '(free or new)'
  byTree.set(tree, (byTree.get(tree) ?? 0) + 1)
  frames++
}
console.log(`${commits} single-entry commits (intent, outcome, ...) by the writer thread; ${pageSize}-byte pages`)
console.log(
  `WAL frames per commit: ${(frames / commits).toFixed(2)} (${((frames * (pageSize + 24)) / commits / 1024).toFixed(1)} KiB)\n`,
)
console.log(
  `writer thread CPU per commit: ${(((cpuAfter.user - cpuBefore.user) * 1000) / commits).toFixed(0)} µs user + ${(((cpuAfter.sys - cpuBefore.sys) * 1000) / commits).toFixed(0)} µs system; from append to durable ${wallPerCommit.toFixed(0)} µs on average, p50 ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)} µs\n`,
)
console.log('| B-tree | pages per commit |\n| --- | --: |')
for (const [tree, count] of [...byTree].sort((a, b) => b[1] - a[1]))
  console.log(`| ${tree} | ${(count / commits).toFixed(2)} |`)
await log.close()
db.close()

/** User and system CPU ms of this process's unnamed worker threads: the log writer is the only one. */
function writerCpuMs(): { user: number; sys: number } {
  const sum = { user: 0, sys: 0 }
  for (const tid of readdirSync('/proc/self/task')) {
    if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'WorkerThread') continue
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    sum.user += Number(fields[11]) * 10
    sum.sys += Number(fields[12]) * 10
  }
  return sum
}
rmSync(dir, { recursive: true, force: true })
