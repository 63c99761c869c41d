import { join } from 'node:path'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import {
  BatchedDocumentReadCounter,
  cstDay,
  DOCUMENT_READS_UPSERT_SQL,
  cstDayStart,
  DocumentQuota,
  nextCstMidnight,
  readerKey,
  SqliteDocumentReadCounter,
} from '../../src/files/quota.js'
import { SqliteLogStore } from '../../src/accesslog/sqlite-store.js'
import { openSqlite, openSqliteStorage, type SqliteDatabase } from '../../src/storage/sqlite.js'
import {
  eventually,
  PEOPLE,
  registerAdapter,
  startAdapter,
  startGateway,
  testClock,
  tokenOf,
} from '../helpers/harness.js'

const CASE = '（2023）黑01民终1234号'

/** A batch writer on `db` itself (an inline log store's execute), for counters over a bare database. */
const writeOn = (db: SqliteDatabase) => {
  const store = new SqliteLogStore(db, { writer: 'inline' })
  return (rows: Array<[string, string, number]>) => store.execute(DOCUMENT_READS_UPSERT_SQL, rows, { durable: false })
}

t.test('cstDay and nextCstMidnight count days in UTC+8', async (t) => {
  const cases: Array<[string, string, string]> = [
    // [instant, CST day, next CST midnight]
    ['2024-05-01T00:00:00.000Z', '2024-05-01', '2024-05-01T16:00:00.000Z'],
    ['2024-05-01T15:59:59.999Z', '2024-05-01', '2024-05-01T16:00:00.000Z'],
    ['2024-05-01T16:00:00.000Z', '2024-05-02', '2024-05-02T16:00:00.000Z'],
    ['2024-04-30T23:00:00.000Z', '2024-05-01', '2024-05-01T16:00:00.000Z'],
    ['2024-12-31T16:00:00.000Z', '2025-01-01', '2025-01-01T16:00:00.000Z'],
    ['2024-02-28T16:30:00.000Z', '2024-02-29', '2024-02-29T16:00:00.000Z'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01', '1970-01-01T16:00:00.000Z'],
  ]
  for (const [instant, day, midnight] of cases) {
    t.equal(cstDay(new Date(instant)), day, `${instant} is ${day} in China`)
    t.equal(nextCstMidnight(new Date(instant)).toISOString(), midnight, `${instant}: the next day starts ${midnight}`)
  }
  // Summer or winter makes no difference: China keeps no daylight saving time.
  t.equal(cstDay(new Date('2024-07-15T16:00:00Z')), '2024-07-16')
  t.equal(cstDay(new Date('2024-01-15T16:00:00Z')), '2024-01-16')
})

t.test('the SQLite counter is atomic, bounded and durable', async (t) => {
  const path = join(t.testdir(), 'quota.db')
  const db = openSqlite(path)
  const counter = new SqliteDocumentReadCounter(db)
  const reader = readerKey('230100', 'zhang.wei')
  t.same(counter.take(reader, '2024-05-01', 2), { allowed: true, count: 1 })
  t.same(counter.take(reader, '2024-05-01', 2), { allowed: true, count: 2 })
  t.same(counter.take(reader, '2024-05-01', 2), { allowed: false, count: 2 }, 'the third read is refused')
  t.same(counter.take(reader, '2024-05-01', 2), { allowed: false, count: 2 }, 'refusals are not counted')
  t.same(counter.take(reader, '2024-05-02', 2), { allowed: true, count: 1 }, 'a new day starts at zero')
  t.same(
    counter.take(readerKey('230103', 'zhang.wei'), '2024-05-01', 2),
    { allowed: true, count: 1 },
    'same sub, other org',
  )
  t.same(counter.take('x', '2024-05-01', 0), { allowed: false, count: 0 }, 'a limit below one allows nothing')
  db.close()

  // Another connection, as another replica or a restarted gateway would have, sees the same counts and
  // cannot push them past the limit either.
  const again = new SqliteDocumentReadCounter(openSqlite(path))
  t.equal(again.count(reader, '2024-05-01'), 2, 'the count survives a restart')
  t.equal(again.take(reader, '2024-05-01', 2).allowed, false)
  const raw = new Database(path, { readonly: true })
  t.same(raw.prepare('SELECT reader, day, count FROM document_reads ORDER BY reader, day').all(), [
    { reader: '230100:zhang.wei', day: '2024-05-01', count: 2 },
    { reader: '230100:zhang.wei', day: '2024-05-02', count: 1 },
    { reader: '230103:zhang.wei', day: '2024-05-01', count: 1 },
  ])
  raw.close()
})

t.test('the batched counter counts in memory, writes in batches and starts from the logged reads', async (t) => {
  const path = join(t.testdir(), 'batched.db')
  const db = openSqlite(path)
  const reader = readerKey('230100', 'zhang.wei')
  const stored = new SqliteDocumentReadCounter(db)
  stored.take(reader, '2024-05-01', 10)

  // The log says three reads were served today; the table, one (a crash lost the rest of the counts).
  const logged = Array.from({ length: 3 }, () => ({ reader, day: '2024-05-01' }))
  const counter = new BatchedDocumentReadCounter(db, { logged, flushIntervalMs: 60_000, write: writeOn(db) })
  t.equal(counter.count(reader, '2024-05-01'), 3, 'the larger of the table and the log')
  t.same(counter.take(reader, '2024-05-01', 4), { allowed: true, count: 4 })
  t.same(counter.take(reader, '2024-05-01', 4), { allowed: false, count: 4 }, 'refused at the limit')
  t.same(counter.take(reader, '2024-05-01', 0), { allowed: false, count: 4 }, 'a limit below 1 refuses')
  t.same(counter.take('230100:li.na', '2024-05-01', 4), { allowed: true, count: 1 }, 'another person')
  t.equal(stored.count(reader, '2024-05-01'), 1, 'nothing written before the batch')

  await counter.flush()
  t.equal(stored.count(reader, '2024-05-01'), 4, 'the batch wrote the count')
  t.equal(stored.count('230100:li.na', '2024-05-01'), 1)
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'the connection is back to synchronous=FULL')

  // A batch never lowers a stored count (say, one written by an earlier run that counted further).
  stored.take(reader, '2024-05-01', 10)
  stored.take(reader, '2024-05-01', 10)
  const later = new BatchedDocumentReadCounter(db, { write: writeOn(db) })
  t.equal(later.count(reader, '2024-05-01'), 6)
  counter.take('230100:li.na', '2024-05-01', 4)
  await counter.close()
  t.equal(stored.count(reader, '2024-05-01'), 6, 'max(), not overwrite')
  t.equal(stored.count('230100:li.na', '2024-05-01'), 2, 'close writes what is pending')
  db.close()
})

t.test(
  'through the log writer, neither counts nor checkpoints make the event loop wait for the write lock',
  async (t) => {
    const path = join(t.testdir(), 'locked.db')
    const storage = openSqliteStorage(path)
    t.teardown(() => storage.close())
    const counter = new BatchedDocumentReadCounter(storage.db, {
      flushIntervalMs: 60_000,
      write: (rows) => storage.log.execute(DOCUMENT_READS_UPSERT_SQL, rows, { durable: false }),
    })
    const reader = readerKey('230100', 'zhang.wei')
    counter.take(reader, '2024-05-01', 5)
    await storage.log.probe()
    // Another connection holds the write lock, as the writer does through each commit and its fsync.
    const locker = new Database(path)
    locker.exec('BEGIN IMMEDIATE')
    let settled = 0
    const flushed = counter.flush().then(() => settled++)
    const checkpointed = storage.log
      .putCheckpoint({ size: 0, root: Buffer.alloc(32), text: 'a checkpoint\n' })
      .then(() => settled++)
    // A timer runs while both wait: the event loop is free (on the caller's connection, better-sqlite3 would
    // have slept in SQLite's busy handler, then failed with SQLITE_BUSY).
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.equal(settled, 0, 'both wait for the lock, off the event loop')
    locker.exec('ROLLBACK')
    locker.close()
    await Promise.all([flushed, checkpointed])
    t.equal(new SqliteDocumentReadCounter(storage.db).count(reader, '2024-05-01'), 1, 'the count is written')
    t.match(await storage.log.latestCheckpoint(), { size: 0, text: 'a checkpoint\n' }, 'the checkpoint is written')
    await t.rejects(
      storage.log.execute('INSERT INTO nowhere VALUES (?)', [[1]], { durable: false }),
      /no such table: nowhere/,
      "a statement's error reaches its caller",
    )
    counter.take(reader, '2024-05-01', 5)
    await counter.flush()
    t.equal(new SqliteDocumentReadCounter(storage.db).count(reader, '2024-05-01'), 2, 'and the writer goes on')
    await counter.close()
  },
)

/**
 * A counter on a fresh database whose batches are written only when released (`held`, in order), as by a
 * writer thread busy with other work; its errors are collected.
 */
function heldCounter(t: Test, flushIntervalMs: number) {
  const db = openSqlite(join(t.testdir(), 'held.db'))
  t.teardown(() => db.close())
  const write = writeOn(db)
  const held: Array<(fail?: Error) => void> = []
  const errors: unknown[] = []
  const counter = new BatchedDocumentReadCounter(db, {
    flushIntervalMs,
    onError: (e) => errors.push(e),
    write: (rows) =>
      new Promise<void>((resolve, reject) =>
        held.push((fail) => (fail ? reject(fail) : write(rows).then(resolve, reject))),
      ),
  })
  return { db, held, errors, counter }
}

/** One turn of the event loop: a batch whose turn has come is handed to the writer. */
const aTurn = () => new Promise((resolve) => setImmediate(resolve))

t.test('batches are written one at a time: a count is dropped from memory only once written', async (t) => {
  const { db, held, errors, counter } = heldCounter(t, 60_000)
  const day = '2024-05-01'
  // More counts held than the memory bound, so that a written batch drops what it may.
  for (let i = 0; i < 10_001; i++) counter.take(readerKey('230100', `p${i}`), day, 100)
  const first = counter.flush()
  await aTurn()
  const victim = readerKey('230100', 'victim')
  for (let i = 0; i < 5; i++) counter.take(victim, day, 5)
  const second = counter.flush()
  await aTurn()
  t.equal(held.length, 1, 'the second batch waits for the first')
  held.shift()!()
  await first
  t.same(counter.take(victim, day, 5), { allowed: false, count: 5 }, 'the count in flight is kept: the limit holds')
  // The second batch fails: its counts are pending again, with their values.
  await aTurn()
  held.shift()!(new Error('the writer is busy'))
  await second
  const third = counter.flush()
  await aTurn()
  held.shift()!()
  await third
  t.equal(errors.length, 1, 'only the failure injected')
  t.equal(new SqliteDocumentReadCounter(db).count(victim, day), 5, 'written with the next batch')
})

t.test('close waits for the batch in flight and tries a failed one no more', async (t) => {
  const { held, errors, counter } = heldCounter(t, 10)
  counter.take(readerKey('230100', 'zhang.wei'), '2024-05-01', 10)
  const inFlight = counter.flush()
  await aTurn()
  let closed = false
  const closing = counter.close().then(() => {
    closed = true
  })
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(closed, false, 'close waits for the batch in flight')
  held.shift()!(new Error('the writer is busy'))
  await inFlight
  // Close's own batch: what the failed one left pending.
  await aTurn()
  t.equal(held.length, 1, 'close writes what is pending after the batch in flight')
  held.shift()!(new Error('the log store is closed'))
  await closing
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(held.length, 0, 'a batch that failed at close is not tried again')
  t.equal(errors.length, 2)
})

t.test('a batch that cannot be written is kept and written with the next one', async (t) => {
  const db = openSqlite(join(t.testdir(), 'failing.db'))
  t.teardown(() => db.close())
  const errors: unknown[] = []
  const counter = new BatchedDocumentReadCounter(db, {
    flushIntervalMs: 60_000,
    onError: (e) => errors.push(e),
    write: writeOn(db),
  })
  const reader = readerKey('230100', 'zhang.wei')
  counter.take(reader, '2024-05-01', 5)
  const schema = db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'document_reads'").pluck().get() as string
  db.exec('DROP TABLE document_reads')
  await counter.flush()
  t.equal(errors.length, 1, 'the failure is reported')
  t.equal(counter.count(reader, '2024-05-01'), 1, 'the count stays in memory')
  db.exec(schema)
  counter.take(reader, '2024-05-01', 5)
  await counter.close()
  t.equal(new SqliteDocumentReadCounter(db).count(reader, '2024-05-01'), 2, 'written with the next batch')
  t.equal(errors.length, 1)
})

t.test('counts beyond the memory bound are dropped once written, and reload from the table', async (t) => {
  const db = openSqlite(join(t.testdir(), 'many.db'))
  t.teardown(() => db.close())
  const counter = new BatchedDocumentReadCounter(db, { flushIntervalMs: 60_000, write: writeOn(db) })
  for (let i = 0; i <= 10_000; i++) counter.take(readerKey('230100', `p${i}`), '2024-05-01', 5)
  counter.take(readerKey('230100', 'p0'), '2024-05-01', 5)
  await counter.flush()
  // Changed behind the counter's back: only a count reloaded from the table can see it.
  db.prepare("UPDATE document_reads SET count = 4 WHERE reader = ? AND day = '2024-05-01'").run(
    readerKey('230100', 'p0'),
  )
  t.equal(counter.count(readerKey('230100', 'p0'), '2024-05-01'), 4, 'reloaded from the table')
  t.same(counter.take(readerKey('230100', 'p1'), '2024-05-01', 1), { allowed: false, count: 1 })
})

t.test('cstDayStart is the midnight in China before the instant', async (t) => {
  t.equal(cstDayStart(new Date('2024-05-01T15:59:59.999Z')).toISOString(), '2024-04-30T16:00:00.000Z')
  t.equal(cstDayStart(new Date('2024-05-01T16:00:00.000Z')).toISOString(), '2024-05-01T16:00:00.000Z')
})

t.test('after a crash the quota is rebuilt from the intents in the access log', async (t) => {
  const clock = testClock('2024-05-01T10:00:00.000Z')
  const dir = t.testdir()
  const first = await startGateway(t, { limits: { documentsPerDay: 2 } }, dir, { now: clock.now })
  const court = await startAdapter(t, first.url)
  await registerAdapter(first, court.url)
  const prosecutor = tokenOf(first, 'prosecutor')
  const created = await first.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { court: '黑01', caseNo: CASE, supervisionCase: 'Q-5', volumes: ['main'], reason: 'quota' },
  })
  t.equal(created.status, 201, created.text)
  const path = `/v1/grants/${created.json.id}/documents/main-01-appeal`
  t.equal((await first.call('GET', path, { token: prosecutor })).status, 200)
  t.equal((await first.call('GET', path, { token: prosecutor })).status, 200)
  await first.gateway.close()

  // What a crash before the batch was written would leave: the intents, and no counts.
  const raw = new Database(join(dir, 'gateway.db'))
  raw.prepare('DELETE FROM document_reads').run()
  raw.close()

  const second = await startGateway(t, { limits: { documentsPerDay: 2 } }, dir, { now: clock.now })
  const refused = await second.call('GET', path, { token: tokenOf(second, 'prosecutor') })
  t.equal(refused.status, 429, 'the two reads served before the crash still count')
  t.equal(refused.json.code, 'RATE_LIMITED')
})

t.test('DocumentQuota says when the quota renews', async (t) => {
  const clock = testClock('2024-05-01T15:30:00.000Z')
  const db = openSqlite(':memory:')
  t.teardown(() => db.close())
  const quota = new DocumentQuota(new SqliteDocumentReadCounter(db), 1, clock.now)
  t.match(await quota.take('230100', 'zhang.wei'), { allowed: true, used: 1, limit: 1 })
  t.same(await quota.take('230100', 'zhang.wei'), {
    allowed: false,
    used: 1,
    limit: 1,
    day: '2024-05-01',
    retryAfterSeconds: 1800,
    resetsAt: '2024-05-01T16:00:00.000Z',
  })
  clock.advance(30 * 60_000)
  t.match(
    await quota.take('230100', 'zhang.wei'),
    { allowed: true, used: 1 },
    'half an hour later it is a new day in China',
  )
})

t.test('the daily document quota through HTTP', async (t) => {
  // 23:30 in Harbin, 15:30 UTC: the quota day ends in 30 minutes, long before the UTC day does.
  const clock = testClock('2024-05-01T15:30:00.000Z')
  const h = await startGateway(t, { limits: { documentsPerDay: 3 } }, undefined, { now: clock.now })
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const created = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { court: '黑01', caseNo: CASE, supervisionCase: 'Q-1', volumes: ['main'], reason: 'quota' },
  })
  t.equal(created.status, 201, created.text)
  const grant = created.json.id as string
  const read = (token: string, doc = 'main-01-appeal', g = grant) =>
    h.call('GET', `/v1/grants/${g}/documents/${doc}`, { token })

  // Re-reads count like first reads; listings and case summaries do not count.
  t.equal((await read(prosecutor)).status, 200)
  t.equal((await read(prosecutor)).status, 200, 'a re-read')
  t.equal((await h.call('GET', `/v1/grants/${grant}/volumes`, { token: prosecutor })).status, 200)
  t.equal((await h.call('GET', `/v1/grants/${grant}/case`, { token: prosecutor })).status, 200)
  t.equal((await read(prosecutor, 'main-02-answer')).status, 200, 'another document')

  const auditor = tokenOf(h, 'auditor')
  const intents = async () => {
    const entries = await h.call('GET', `/v1/audit/entries?grant=${grant}&action=document.read&limit=1000`, {
      token: auditor,
    })
    return (entries.json.items as Array<{ entry: any }>).filter((i) => i.entry.phase === 'intent').length
  }
  const before = await intents()
  t.equal(before, 3)

  const refused = await read(prosecutor)
  t.equal(refused.status, 429, refused.text)
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(refused.json.code, 'RATE_LIMITED')
  t.equal(refused.headers['retry-after'], '1800', 'until midnight China Standard Time')
  t.match(refused.json.detail, /2024-05-01T16:00:00\.000Z/)
  t.equal(refused.json.limit, 3)
  t.equal(await intents(), before, 'a refused read logs no intent and reaches no court')

  const denied = await eventually(async () => {
    const entries = await h.call('GET', `/v1/audit/entries?grant=${grant}&decision=deny&limit=1000`, { token: auditor })
    return (entries.json.items as Array<{ entry: any }>).find((i) => i.entry.reason === 'RATE_LIMITED')
  })
  t.equal(denied.entry.action, 'document.read')
  t.equal(denied.entry.actor.sub, PEOPLE.prosecutor.sub)
  t.equal(denied.entry.resource.document, 'main-01-appeal')
  t.match(denied.entry.detail, { quota: 'documentsPerDay', limit: 3, day: '2024-05-01' })

  // The quota is the person's, not the grant's and not the sub's: a colleague named as a member reads on.
  const withMember = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: {
      court: '黑01',
      caseNo: CASE,
      supervisionCase: 'Q-2',
      volumes: ['main'],
      reason: 'quota',
      members: ['li.na'],
    },
  })
  t.equal(withMember.status, 201, withMember.text)
  t.equal((await read(prosecutor, 'main-01-appeal', withMember.json.id)).status, 429, 'another grant does not help')
  t.equal(
    (await read(tokenOf(h, 'colleague'), 'main-01-appeal', withMember.json.id)).status,
    200,
    'a colleague has their own',
  )

  // Same sub in another procuratorate: a different person with a quota of their own.
  const nangang = tokenOf(h, 'otherProsecutor')
  const theirs = await h.call('POST', '/v1/grants', {
    token: nangang,
    body: { court: '黑01', caseNo: CASE, supervisionCase: 'Q-3', volumes: ['main'], reason: 'quota' },
  })
  t.equal(theirs.status, 201, theirs.text)
  t.equal(
    (await read(nangang, 'main-01-appeal', theirs.json.id)).status,
    200,
    'zhang.wei of 230103 is not zhang.wei of 230100',
  )

  // Half an hour on it is 2 May in China (still 1 May in UTC): the quota is fresh.
  clock.advance(30 * 60_000)
  t.equal((await read(prosecutor)).status, 200, 'a new CST day, a new quota')
})

t.test('concurrent reads never get past the quota together', async (t) => {
  const h = await startGateway(t, { limits: { documentsPerDay: 3 } })
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const created = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { court: '黑01', caseNo: CASE, supervisionCase: 'Q-4', volumes: ['main'], reason: 'quota' },
  })
  const reads = await Promise.all(
    Array.from({ length: 8 }, () =>
      h.call('GET', `/v1/grants/${created.json.id}/documents/main-01-appeal`, { token: prosecutor }),
    ),
  )
  const statuses = reads.map((r) => r.status).sort()
  t.same(statuses, [200, 200, 200, 429, 429, 429, 429, 429])
})
