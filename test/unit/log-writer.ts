import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import t from 'tap'
import type { EntryInput } from '../../src/accesslog/entry.js'
import { built } from '../helpers/children.js'
import { checkLogFile, openFileLog } from '../helpers/file-log.js'

function event(n: number): EntryInput {
  return { action: 'grant.create', phase: 'event', decision: 'allow', detail: { n } }
}

t.test('appends commit on the writer thread, in order, and size() counts only durable entries', async (t) => {
  const { log, path } = await openFileLog(t)
  const first = log.append(event(0))
  t.equal(log.size(), 0, 'an append in flight is not counted')
  t.equal(await first, 0)
  t.equal(log.size(), 1)
  const indexes = await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(event(i + 1))))
  t.same(
    indexes,
    Array.from({ length: 1000 }, (_, i) => i + 1),
    'indexes in the order of the calls',
  )
  t.equal(log.size(), 1001)
  t.equal((await log.get(1000))?.entry.detail?.n, 1000, 'the main connection reads what the writer committed')
  await log.close()
  t.match(checkLogFile(path), { ok: true, size: 1001, problems: [] }, 'the stored tree and its checkpoints verify')
})

t.test('a failed batch fails every batch built on it, and the log goes on without a gap', async (t) => {
  const { log, path } = await openFileLog(t)
  t.equal(await log.append(event(-1)), 0)
  // Another connection holds the write lock: the batches in flight time out (busy_timeout) and fail.
  const locker = new Database(path)
  // Taken once the writer thread's own short writes (the index copies after a commit) are over.
  locker.pragma('busy_timeout = 10000')
  locker.exec('BEGIN EXCLUSIVE')
  const blocked = Promise.allSettled(Array.from({ length: 300 }, (_, i) => log.append(event(i))))
  await new Promise((resolve) => setImmediate(resolve))
  // More appends while the first batches are in flight: sequenced on the speculative tip, refused with them.
  const later = Promise.allSettled(Array.from({ length: 300 }, (_, i) => log.append(event(1000 + i))))
  const results = [...(await blocked), ...(await later)]
  locker.exec('ROLLBACK')
  locker.close()
  t.ok(
    results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ACCESS_LOG_UNAVAILABLE'),
    'every append that could not be written is refused (fail closed)',
  )
  t.equal(log.size(), 1, 'nothing of them counts')
  t.equal(await log.append(event(2)), 1, 'the next append continues right after the last durable entry')
  await log.close()
  t.match(checkLogFile(path), { ok: true, size: 2, problems: [] })
})

t.test('a crashed writer fails its appends closed, never hangs them, and is replaced', async (t) => {
  const { log, store, path } = await openFileLog(t)
  const refused = (results: PromiseSettledResult<number>[]) =>
    results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'ACCESS_LOG_UNAVAILABLE')
  const stored = () => {
    const db = new Database(path, { readonly: true })
    try {
      return db.prepare('SELECT COUNT(*) FROM log_entries').pluck().get() as number
    } finally {
      db.close()
    }
  }
  await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(event(i))))

  // Dies on taking the next batch: nothing of it is written.
  let crashed = store.crashWriter('before')
  let results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => log.append(event(100 + i))))
  await crashed
  t.ok(refused(results), 'every append in flight when the writer died is refused')
  t.equal(log.size(), 10)
  t.equal(await log.append(event(9999)), 10, 'a new writer takes over from what is durable')

  // Dies after committing a batch, before saying so: the appends are refused (their fate was unknown), and
  // the tree is rebuilt from the file, which has them.
  crashed = store.crashWriter('after')
  results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => log.append(event(200 + i))))
  await crashed
  t.ok(refused(results), 'every append whose commit was not confirmed is refused')
  const count = stored()
  t.ok(count > 11, `the batch committed before the crash is in the file (${count} entries)`)
  t.equal(await log.append(event(10_000)), count, 'the next append comes right after everything in the file')

  // Dying at a random moment: each append is either durable at the index it was given or refused.
  for (let round = 0; round < 6; round++) {
    const appends = Promise.allSettled(Array.from({ length: 400 }, (_, i) => log.append(event(i))))
    await new Promise((resolve) => setTimeout(resolve, round))
    crashed = store.crashWriter(round % 2 === 0 ? 'before' : 'after')
    const settled = await appends
    const outcomes = await Promise.all(
      settled.map(async (r) =>
        r.status === 'fulfilled'
          ? (await log.get(r.value))?.entry.detail !== undefined
          : (r.reason as { code?: string }).code === 'ACCESS_LOG_UNAVAILABLE',
      ),
    )
    t.ok(
      outcomes.every(Boolean),
      `round ${round}: ${settled.filter((r) => r.status === 'rejected').length} of 400 refused, the rest durable`,
    )
    // Makes the writer take a batch, so that a crash still pending happens; this append may be the batch it
    // dies on, and is then refused like the others.
    await log.append(event(-round)).catch((error: { code?: string }) => {
      if (error.code !== 'ACCESS_LOG_UNAVAILABLE') throw error
    })
    await crashed
  }
  t.equal(await log.append(event(20_000)), stored() - 1, 'no gap')
  await log.close()
  t.match(checkLogFile(path), { ok: true, size: stored(), problems: [] }, 'and the stored log verifies')
})

t.test('close() waits for the batches in flight and signs a checkpoint of them', async (t) => {
  const { log, path } = await openFileLog(t)
  const appends = Array.from({ length: 700 }, (_, i) => log.append(event(i)))
  await log.close()
  const indexes = await Promise.all(appends)
  t.equal(indexes.length, 700)
  t.equal(log.latestCheckpoint().size, 700, 'the final checkpoint covers every committed entry')
  await t.rejects(log.append(event(0)), { code: 'ACCESS_LOG_UNAVAILABLE' }, 'a closed log refuses appends')
  t.match(checkLogFile(path), { ok: true, size: 700, problems: [] })
})

t.test('a closed log restarted on the same file continues the same tree', async (t) => {
  const path = join(t.testdir(), 'gateway.db')
  const first = await openFileLog(t, { path })
  await Promise.all(Array.from({ length: 50 }, (_, i) => first.log.append(event(i))))
  await first.log.close()
  first.db.close()
  const second = await openFileLog(t, { path })
  t.equal(second.log.size(), 50)
  t.equal(await second.log.append(event(50)), 50)
  await second.log.close()
  t.match(checkLogFile(path), { ok: true, size: 51, problems: [] })
})

t.test('closing the writer while a readiness probe is in flight waits for the thread to stop', async (t) => {
  // In a process of its own, with nothing else keeping it alive: the probe's answer, arriving before the thread
  // has stopped, must not let the process end under close() (it once did, leaving the connection unclosed).
  const path = join(t.testdir(), 'gateway.db')
  const script = `
    const { openSqlite } = await import(${JSON.stringify(pathToFileURL(built('src/storage/sqlite.js')).href)})
    const { WorkerWriter } = await import(${JSON.stringify(pathToFileURL(built('src/accesslog/sqlite-writer.js')).href)})
    openSqlite(process.argv.at(-1)).close()
    const writer = new WorkerWriter({ path: process.argv.at(-1) })
    const probed = writer.probe()
    await writer.close()
    console.log('closed', await probed.then(() => 'after the probe', () => 'the probe refused'))
  `
  const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, path], (error, out) =>
      error && error.code === undefined
        ? reject(error)
        : resolve({ stdout: out, code: error ? Number(error.code) : 0 }),
    )
  })
  t.equal(stdout.trim(), 'closed after the probe')
  t.equal(code, 0)
})
