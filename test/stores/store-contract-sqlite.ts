import { join } from 'node:path'
import t from 'tap'
import { openSqliteStorage } from '../../src/storage/sqlite.js'
import { storeContract } from '../helpers/store-contract.js'

/**
 * The store contract on SQLite, a fresh file for each case: batches committed by the writer thread, or inline.
 * The filter index is copied every 4 entries, so that queries cross its end in logs of a few entries.
 */
let files = 0
for (const writer of ['thread', 'inline'] as const) {
  t.test(`${writer} writer`, async (t) => {
    storeContract(t, async () =>
      openSqliteStorage(join(t.testdir(), `gateway-${files++}.db`), { writer, filterIndexBatch: 4 }),
    )
  })
}
