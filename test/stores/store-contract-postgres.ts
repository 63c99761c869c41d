import t from 'tap'
import { createPool, migratePostgres, openPostgresStorage } from '../../src/storage/postgres.js'
import { testDatabase } from '../helpers/postgres.js'
import { storeContract } from '../helpers/store-contract.js'

/**
 * The store contract on PostgreSQL: a fresh database for the run (see helpers/postgres.ts), a fresh schema
 * migrated from nothing for each case; once as any process appends, once as the sequencer does.
 */
const database = await testDatabase(t)
if (database) {
  storeContract(t, async () => {
    const url = await database.freshSchema()
    const pool = createPool(url, 1)
    try {
      await migratePostgres(pool)
    } finally {
      await pool.end()
    }
    return openPostgresStorage(url)
  })
  // As the process that sequences for its peers runs it: batches without changes pipelined, one round trip.
  t.test('as the sequencer', async (t) => {
    storeContract(t, async () => {
      const url = await database.freshSchema()
      const pool = createPool(url, 1)
      try {
        await migratePostgres(pool)
      } finally {
        await pool.end()
      }
      const storage = await openPostgresStorage(url)
      storage.log.sequencing = true
      return storage
    })
  })
}
