import t from 'tap'
import { PostgresDocumentReadCounter } from '../src/files/postgres-quota.js'
import { createPool, migratePostgres } from '../src/storage/postgres.js'
import { testDatabase } from './helpers/postgres.js'

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
}
