import { join } from 'node:path'
import t from 'tap'
import { openSqliteStorage } from '../src/storage/sqlite.js'
import { storeContract } from './helpers/store-contract.js'

/** The store contract on SQLite: a fresh file for each case, its batches committed by the writer thread. */
let files = 0
storeContract(t, async () => openSqliteStorage(join(t.testdir(), `gateway-${files++}.db`)))
