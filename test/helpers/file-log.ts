import { generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import { checkLogDatabase } from '../../src/accesslog/fsck.js'
import { verifierKey } from '../../src/accesslog/note.js'
import { SqliteLogStore, type SqliteLogStoreOptions } from '../../src/accesslog/sqlite-store.js'
import type { LogStore } from '../../src/accesslog/store.js'
import { openSqlite, type SqliteDatabase } from '../../src/storage/sqlite.js'

const ORIGIN = 'test.court-file-gateway/log'
const { privateKey, publicKey } = generateKeyPairSync('ed25519')

type Tap = { testdir(): string; teardown(fn: () => unknown): void }

/**
 * A log on a SQLite file (with the default writer its batches are committed by the writer thread), signing
 * checkpoints every 50 ms unless told otherwise, closed at the end of the test. `store` makes another store on
 * the database (one that fails on cue, say); `path` may be `:memory:`.
 */
export async function openFileLog<S extends LogStore = SqliteLogStore>(
  t: Tap,
  {
    path = join(t.testdir(), 'gateway.db'),
    writer,
    store: makeStore,
    checkpointIntervalMs = 50,
  }: {
    path?: string
    writer?: SqliteLogStoreOptions['writer']
    store?: (db: SqliteDatabase) => S
    checkpointIntervalMs?: number
  } = {},
) {
  const db = openSqlite(path)
  const store = (makeStore ? makeStore(db) : new SqliteLogStore(db, writer ? { writer } : {})) as S
  const log = await TransparencyLog.open({
    store,
    origin: ORIGIN,
    signingKey: privateKey,
    publicKey,
    checkpointIntervalMs,
  })
  t.teardown(async () => {
    await log.close()
    db.close()
  })
  return { db, store, log, path }
}

/** The offline check of the log file (`fsck`): the stored tree against its signed checkpoints. */
export function checkLogFile(path: string) {
  const db = new Database(path, { readonly: true })
  try {
    return checkLogDatabase(db, `${verifierKey(ORIGIN, publicKey)}\n`)
  } finally {
    db.close()
  }
}
