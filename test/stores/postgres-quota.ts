import crypto from 'node:crypto'
import t from 'tap'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import { PostgresDocumentReadCounter } from '../../src/files/postgres-quota.js'
import { createPool, migratePostgres, openPostgresStorage } from '../../src/storage/postgres.js'
import { testDatabase } from '../helpers/postgres.js'

/** The quota counter on PostgreSQL: counts in memory, written in batches, loaded again on the next start. */
const database = await testDatabase(t)

if (database) {
  t.test('counts up to the limit, refuses beyond it, and starts again from what it wrote', async (t) => {
    const pool = createPool(await database.freshSchema(), 2)
    t.teardown(() => pool.end())
    await migratePostgres(pool)
    const counter = await PostgresDocumentReadCounter.open(pool, '2026-05-01')
    t.same(counter.take('230100:zhang.wei', '2026-05-01', 2), { allowed: true, count: 1 })
    t.same(counter.take('230100:zhang.wei', '2026-05-01', 2), { allowed: true, count: 2 })
    t.same(counter.take('230100:zhang.wei', '2026-05-01', 2), { allowed: false, count: 2 }, 'the third is refused')
    t.same(counter.take('230100:zhang.wei', '2026-05-02', 2), { allowed: true, count: 1 }, 'a new day')
    t.same(counter.take('230100:li.na', '2026-05-01', 0), { allowed: false, count: 0 }, 'a limit of 0 allows nothing')
    await counter.close()
    const { rows } = await pool.query('SELECT reader, day, count FROM document_reads ORDER BY day, reader')
    t.same(rows, [
      { reader: '230100:zhang.wei', day: '2026-05-01', count: 2 },
      { reader: '230100:zhang.wei', day: '2026-05-02', count: 1 },
    ])
    const again = await PostgresDocumentReadCounter.open(pool, '2026-05-02')
    t.teardown(() => again.close())
    t.equal(again.count('230100:zhang.wei', '2026-05-02'), 1, 'loaded from the table')
    t.equal(again.count('230100:zhang.wei', '2026-05-01'), 0, 'days before the one asked are not loaded')
    t.same(again.take('230100:zhang.wei', '2026-05-02', 2), { allowed: true, count: 2 })
    t.same(again.take('230100:zhang.wei', '2026-05-02', 2), { allowed: false, count: 2 })
  })

  t.test('a restart counts the day’s reads from the log where their counts were never written', async (t) => {
    const url = await database.freshSchema()
    const pool = createPool(url, 1)
    await migratePostgres(pool)
    await pool.end()
    let clock = new Date('2026-04-30T15:59:00.000Z') // 23:59 on 30 April in China Standard Time
    const now = () => clock
    const first = await openPostgresStorage(url, now)
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
    const log = await TransparencyLog.open({
      store: first.log,
      origin: 'quota.test/log',
      signingKey: privateKey,
      publicKey,
      checkpointIntervalMs: 60_000,
      now,
    })
    const actor = { sub: 'zhang.wei', org: '230100', roles: ['prosecutor'], issuer: 'quota.test' }
    const read = (decision: 'allow' | 'deny' = 'allow', action = 'document.read') =>
      log.append({ action, phase: 'intent', decision, actor })
    await read() // the day before, in CST
    clock = new Date('2026-04-30T16:00:00.000Z') // midnight, 1 May in CST
    await Promise.all([read(), read(), read(), read('deny'), read('allow', 'volumes.read')])
    // The process ends before its counter wrote anything: the counts are lost, the intents are not.
    await log.close()
    await first.close()
    const again = await openPostgresStorage(url, now)
    t.teardown(() => again.close())
    t.equal(
      again.documentReads.count('230100:zhang.wei', '2026-05-01'),
      3,
      'the three allowed reads of 1 May in the log',
    )
    t.equal(again.documentReads.count('230100:zhang.wei', '2026-04-30'), 0, 'the day before is not the quota’s day')
    t.same(again.documentReads.take('230100:zhang.wei', '2026-05-01', 4), { allowed: true, count: 4 })
    t.same(
      again.documentReads.take('230100:zhang.wei', '2026-05-01', 4),
      { allowed: false, count: 4 },
      'the fifth is refused',
    )
  })
}
