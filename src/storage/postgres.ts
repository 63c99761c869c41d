import pg from 'pg'
import type { TransparencyLog } from '../accesslog/access-log.js'
import { newInstanceId, PostgresLogStore } from '../accesslog/postgres-store.js'
import { SequencedLog, type SequencerOptions } from '../accesslog/sequencer.js'
import { PostgresAdapterStore } from '../adapters/postgres-store.js'
import { PostgresDocumentReadCounter } from '../files/postgres-quota.js'
import { cstDay, cstDayStart, readerKey } from '../files/quota.js'
import { PostgresGrantStore } from '../grants/postgres-store.js'
import { type Migration, POSTGRES_MIGRATIONS } from './postgres-migrations.js'
import { markStorageFailure, type Storage } from './storage.js'

const INT8_OID = 20

/**
 * A connection pool to the gateway's database. BIGINT columns (log indexes and sizes) come back as numbers:
 * they never exceed 2^53 - 1, the limit of the Merkle math (see merkle/tree.ts).
 */
export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  })
  // An idle connection that the server drops (a restart, a failover) emits 'error' on the pool: without a
  // listener that would end the process. The next query gets a new connection or fails with its own error.
  pool.on('error', () => {})
  // A connection checked out of the pool has no listener of the pool's: one the server drops while it is out
  // (between two statements of a transaction) would emit an unhandled 'error' and end the process. Its next
  // statement fails instead, and the holder releases it broken.
  pool.on('connect', (client) => client.on('error', () => {}))
  // Whatever the pool fails with is the database's failure, answered 503 (see markStorageFailure). (The pool's
  // own query() takes its connection through connect() with a callback: that form is passed through as it is.)
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>
  pool.query = ((...args: unknown[]) =>
    query(...args).catch((error: unknown) => Promise.reject(markStorageFailure(error)))) as typeof pool.query
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => Promise<pg.PoolClient> | undefined
  pool.connect = ((...args: unknown[]) =>
    args.length > 0
      ? connect(...args)
      : connect()!.catch((error: unknown) => Promise.reject(markStorageFailure(error)))) as typeof pool.connect
  return pool
}

/** A connection of its own, outside any pool (the sequencer's session lock lives as long as it does). */
export async function connectClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  // Dropped by the server: the holder sees its next query fail (and listens for 'error' itself).
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Serialises `migrate` runs across processes: two replicas started together must not both apply one. */
const MIGRATION_LOCK = 0x63666701

/**
 * Applies the migrations the database has not had, in one transaction under an advisory lock; returns the
 * versions applied. Run twice, the second run applies nothing. Refuses a database newer than this gateway.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS cfg_schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
    const current = await versionOn(client)
    const known = latestVersion(migrations)
    if (current > known) throw new SchemaVersionError(current, known)
    const applied: number[] = []
    for (const migration of migrations) {
      if (migration.version <= current) continue
      await client.query(migration.sql)
      await client.query('INSERT INTO cfg_schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ])
      applied.push(migration.version)
    }
    await client.query('COMMIT')
    return applied
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}

/** The database's schema is not the one this gateway knows: it must not start on it. */
export class SchemaVersionError extends Error {
  constructor(found: number, expected: number) {
    super(
      found < expected
        ? `database schema version ${found} is older than this gateway's (${expected}): run \`court-file-gateway migrate --config FILE\` first`
        : `database schema version ${found} is newer than this gateway's (${expected}): run a gateway of the same or a newer version`,
    )
    this.name = 'SchemaVersionError'
  }
}

/** Throws a SchemaVersionError unless the database has exactly the migrations this gateway knows. */
export async function checkSchemaVersion(
  pool: pg.Pool,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<void> {
  const found = await versionOn(pool)
  const expected = latestVersion(migrations)
  if (found !== expected) throw new SchemaVersionError(found, expected)
}

async function versionOn(client: pg.Pool | pg.PoolClient): Promise<number> {
  const table = await client.query<{ name: string | null }>("SELECT to_regclass('cfg_schema_migrations')::text AS name")
  if (!table.rows[0]?.name) return 0
  const { rows } = await client.query<{ version: number | null }>(
    'SELECT MAX(version) AS version FROM cfg_schema_migrations',
  )
  return rows[0]?.version ?? 0
}

function utcDay(time: number): string {
  return new Date(time).toISOString().slice(0, 10)
}

function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, migration) => Math.max(max, migration.version), 0)
}

/**
 * The stores on a PostgreSQL database, after checking its schema version (the process must not start on a
 * database it does not know; `court-file-gateway migrate` brings it up to date). `now` is the gateway's clock,
 * for the day whose quota counts are rebuilt from the log.
 */
/** What the gateway's configuration says about the sequencer (see SequencerOptions). */
export type SequencerSettings = Omit<SequencerOptions, 'log' | 'store' | 'pool' | 'connect'>

export async function openPostgresStorage(
  url: string,
  now: () => Date = () => new Date(),
): Promise<
  Storage & {
    readonly log: PostgresLogStore
    readonly documentReads: PostgresDocumentReadCounter
    /** The log with one sequencer for every process on the database (see sequencer.ts). */
    sequence(log: TransparencyLog, settings: SequencerSettings): Promise<SequencedLog>
  }
> {
  const pool = createPool(url)
  const log = new PostgresLogStore(pool, newInstanceId())
  let documentReads: PostgresDocumentReadCounter
  try {
    await checkSchemaVersion(pool)
    // As on SQLite (see BatchedDocumentReadCounter): the counts written last may have been lost with a process,
    // the day's allowed read intents in the log were not, and each of them is a read that may have been served.
    const logged = await log.allowedIntentsSince('document.read', cstDayStart(now()).toISOString())
    // From yesterday: a day in China Standard Time starts before the same day in UTC.
    documentReads = await PostgresDocumentReadCounter.open(
      pool,
      utcDay(now().getTime() - 86_400_000),
      logged.map((intent) => ({
        reader: readerKey(intent.org ?? '', intent.actor ?? ''),
        day: cstDay(new Date(intent.time)),
      })),
    )
  } catch (error) {
    await pool.end()
    throw error
  }
  return {
    log,
    grants: new PostgresGrantStore(pool),
    adapters: new PostgresAdapterStore(pool),
    documentReads,
    sequence: (transparency, settings) =>
      SequencedLog.start({ ...settings, log: transparency, store: log, pool, connect: () => connectClient(url) }),
    async close() {
      await log.close()
      await documentReads.close()
      await pool.end()
    },
  }
}
