import { generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import { checkLogDatabase } from '../../src/accesslog/fsck.js'
import { verifierKey } from '../../src/accesslog/note.js'
import { SqliteLogStore, type SqliteLogStoreOptions } from '../../src/accesslog/sqlite-store.js'
import { openSqlite } from '../../src/storage/sqlite.js'

const ORIGIN = 'test.court-file-gateway/log'
const { privateKey, publicKey } = generateKeyPairSync('ed25519')

type Tap = { testdir(): string; teardown(fn: () => unknown): void }

/**
 * A log on a SQLite file (with the default writer its batches are committed by the writer thread), signing
 * checkpoints every 50 ms, closed at the end of the test.
 */
export async function openFileLog(
  t: Tap,
  { path = join(t.testdir(), 'gateway.db'), writer }: { path?: string; writer?: SqliteLogStoreOptions['writer'] } = {},
) {
  const db = openSqlite(path)
  const store = new SqliteLogStore(db, writer ? { writer } : {})
  const log = await TransparencyLog.open({
    store,
    origin: ORIGIN,
    signingKey: privateKey,
    publicKey,
    checkpointIntervalMs: 50,
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
