import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { PROJECT_ROOT } from '../../src/paths.js'
import { createGateway } from '../../src/server.js'
import { createPool, migratePostgres } from '../../src/storage/postgres.js'
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres-migrations.js'
import { openGrant, registerAdapter, startAdapter, startGateway, testConfig, tokenOf } from '../helpers/harness.js'
import { cliInProcess } from '../helpers/children.js'
import { verifiedLog } from '../helpers/log-check.js'
import { asRole, testDatabase } from '../helpers/postgres.js'

/** The gateway on PostgreSQL: the schema check at start, the migrate command, and HTTP end to end. */
const database = await testDatabase(t)

if (database) {
  t.test('the gateway refuses to start on a database older or newer than it knows', async (t) => {
    const url = await database.freshSchema()
    const config = testConfig(t.testdir(), { storage: { kind: 'postgres', url } })
    await t.rejects(createGateway(config), {
      name: 'SchemaVersionError',
      message: /schema version 0 is older than this gateway's \(4\): run `court-file-gateway migrate --config FILE`/,
    })
    const pool = createPool(url, 1)
    t.teardown(() => pool.end())
    const later = { version: 5, name: 'from the future', sql: 'CREATE TABLE later (x INT)' }
    await migratePostgres(pool, [...POSTGRES_MIGRATIONS, later])
    await t.rejects(createGateway(config), {
      name: 'SchemaVersionError',
      message: /schema version 5 is newer than this gateway's \(4\)/,
    })
  })

  t.test('the migrate command: applies, then applies nothing; serve refuses an unmigrated database', async (t) => {
    const url = await database.freshSchema()
    const dir = t.testdir()
    const config = join(dir, 'config.json')
    writeFileSync(
      config,
      JSON.stringify({
        storage: { kind: 'postgres', url },
        directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
        identity: { audience: 'court-file-gateway', issuers: [] },
        accessLog: { origin: 'o.example/log', signingKeyFile: 'log.pem' },
        adapters: { signingKeyFile: 'adapter.pem' },
        dev: { issuer: true, keyFile: 'dev.pem' },
      }),
    )
    const unmigrated = await cliInProcess(['serve', '--config', config])
    t.equal(unmigrated.code, 1, 'serve stops')
    t.match(
      unmigrated.stderr,
      /database schema version 0 is older than this gateway's \(4\): run `court-file-gateway migrate/,
    )
    const first = await cliInProcess(['migrate', '--config', config])
    t.equal(first.code, 0, first.stderr)
    t.match(first.stdout, /applied migration\(s\) 1, 2, 3, 4/)
    const second = await cliInProcess(['migrate', '--config', config])
    t.equal(second.code, 0, second.stderr)
    t.match(second.stdout, /up to date: nothing applied/)
  })

  t.test('the gateway on PostgreSQL: an adapter, a grant, a read, and a log that verifies', async (t) => {
    const url = await database.freshSchema()
    const pool = createPool(url, 1)
    await migratePostgres(pool)
    await pool.end()
    // As the gateway's own role, which cannot change a log row (see the role test).
    const h = await startGateway(t, { storage: { kind: 'postgres', url: asRole(url, 'cfg_gateway') } })
    const court = await startAdapter(t, h.url)
    await registerAdapter(h, court.url)
    const grant = await openGrant(h, 'prosecutor')
    t.equal(grant.status, 'active')
    const prosecutor = tokenOf(h, 'prosecutor')
    const volumes = await h.call('GET', `/v1/grants/${grant.id}/volumes`, { token: prosecutor })
    t.equal(volumes.status, 200, 'the volumes are listed')
    const doc = volumes.json.volumes.find((v: { kind: string }) => v.kind === 'main').documents[0]
    const read = await h.call('GET', `/v1/grants/${grant.id}/documents/${doc.id}`, { token: prosecutor })
    t.equal(read.status, 200, 'the document is served')
    t.equal(read.headers['content-type'], 'application/pdf')
    t.ok(read.bytes.length > 0)
    t.equal(
      (await h.call('GET', `/v1/grants/${grant.id}`, { token: prosecutor })).json.id,
      grant.id,
      'the grant reads back from PostgreSQL',
    )
    const log = await verifiedLog(h)
    t.equal(log.result.ok, true, `the exported log verifies (${log.size} entries)`)
    const reads = log.entries.filter((entry) => entry.action === 'document.read')
    t.same(
      reads.map((entry) => entry.phase),
      ['intent', 'outcome'],
      'the read is logged as an intent and its outcome',
    )
    const direct = new pg.Client({ connectionString: url })
    await direct.connect()
    t.teardown(() => direct.end())
    const stored = await direct.query<{ size: number }>('SELECT size FROM log_head')
    t.equal(Number(stored.rows[0]!.size), h.gateway.log.size(), 'the head in the database is the log’s size')
  })
}
