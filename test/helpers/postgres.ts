import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import { createPool, migratePostgres } from '../../src/storage/postgres.js'

/** Where the PostgreSQL tests run: this machine's server unless CFG_TEST_POSTGRES_URL points elsewhere. */
export const POSTGRES_URL = process.env.CFG_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export interface TestDatabase {
  /** The fresh database, dropped at the end of the test. */
  url: string
  /** A fresh, empty schema in it (its own tables), as a URL whose connections use it. */
  freshSchema(): Promise<string>
}

/**
 * Creates a fresh database for this test run (cfg_test_<random>) and drops it at teardown. When no server
 * answers, says so with a skip and returns undefined: the caller then runs nothing, never passes silently.
 */
export async function testDatabase(t: Test): Promise<TestDatabase | undefined> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 })
  try {
    await admin.connect()
  } catch (error) {
    await admin.end().catch(() => {})
    const why = `no PostgreSQL server reachable at ${redacted(POSTGRES_URL)} (${String(error)}); set CFG_TEST_POSTGRES_URL`
    t.skip(`PostgreSQL tests skipped: ${why}`, () => {})
    return undefined
  }
  const name = `cfg_test_${randomBytes(6).toString('hex')}`
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  let schemas = 0
  return {
    url: url.toString(),
    async freshSchema() {
      const schema = `s${schemas++}`
      const client = new pg.Client({ connectionString: url.toString() })
      await client.connect()
      try {
        await client.query(`CREATE SCHEMA ${schema}`)
      } finally {
        await client.end()
      }
      const scoped = new URL(url)
      scoped.searchParams.set('options', `-c search_path=${schema}`)
      return scoped.toString()
    },
  }
}

/** `url` whose connections act as `role` (SET ROLE at connection start), e.g. cfg_gateway. */
export function asRole(url: string, role: string): string {
  const scoped = new URL(url)
  scoped.searchParams.set('options', `${scoped.searchParams.get('options') ?? ''} -c role=${role}`.trim())
  return scoped.toString()
}

function redacted(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}

/** Migrates the database at `url` and opens a client on it for the test's own queries, closed at teardown. */
export async function migratedClient(t: Test, url: string): Promise<pg.Client> {
  const pool = createPool(url, 1)
  await migratePostgres(pool)
  await pool.end()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  return client
}
