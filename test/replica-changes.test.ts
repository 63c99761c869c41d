import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { Agent, request } from 'undici'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import { createPool, migratePostgres } from '../src/storage/postgres.js'
import { freePort, serveGateway, waitReady, writeGatewayConfig } from './helpers/gateway-process.js'
import { type Harness, httpCaller, MAIN_GRANT, PEOPLE, type Person, registerAdapter } from './helpers/harness.js'
import { startHostileCourt } from './helpers/hostile-court.js'
import { testDatabase } from './helpers/postgres.js'
import { waitFor } from './helpers/wait.js'

/**
 * Grants and adapters are kept in each replica's memory (docs/architecture.md#grants-and-adapters-in-memory).
 * Three gateway processes on one PostgreSQL database: A makes the changes; B (stateStalenessMs 60 s) must see
 * each of them through PostgreSQL's notification, long before its bound could explain it; C (500 ms) reaches
 * the database through a proxy that silently stalls its listening connection, and must still refuse a revoked
 * grant once its bound has passed since A acknowledged the revocation, while serving everything else.
 */
const DOCUMENT = 'honest'
const ORIGIN = 'replica-changes.test/log'
const BOUND_MS = 500
/** B's bound: far longer than any wait of this test, so that only a notification can make B see a change. */
const LONG_BOUND_MS = 60_000
/** How long B may take to hear of a change: generous for a busy machine, far below LONG_BOUND_MS. */
const HEARD_WITHIN_MS = 30_000

const database = await testDatabase(t)

/**
 * A TCP proxy to PostgreSQL that can stall the connections that LISTEN on the state channel: the server's bytes
 * to them are held back (as on a half-open connection), everything else flows.
 */
async function stallingProxy(target: URL) {
  const listeners = new Set<{ stalled: boolean; held: Buffer[]; client: Socket }>()
  /** Every connection ever stalled, also once the gateway has given it up and closed it. */
  const stalled = new Set<{ stalled: boolean; held: Buffer[]; client: Socket }>()
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) })
    const connection = { stalled: false, held: [] as Buffer[], client }
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('LISTEN cfg_state_changes')) listeners.add(connection)
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => {
      if (connection.stalled) connection.held.push(chunk)
      else client.write(chunk)
    })
    const close = () => {
      listeners.delete(connection)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', close).on('error', close)
    upstream.on('close', close).on('error', close)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = new URL(target)
  url.host = `127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    url: url.toString(),
    /** Holds back what the server sends to every connection listening now; returns how many there are. */
    stall(): number {
      for (const connection of listeners) {
        connection.stalled = true
        stalled.add(connection)
      }
      return listeners.size
    },
    /** Whether a stalled connection holds back a notification naming `text`. */
    holds(text: string): boolean {
      return [...stalled].some((c) => c.held.some((chunk) => chunk.includes(text)))
    },
    close() {
      for (const connection of listeners) connection.client.destroy()
      server.close()
    },
  }
}

if (database) {
  t.test(
    'a change made on one replica is in force on the others: at once when notified, within the bound anyway',
    async (t) => {
      const dir = t.testdir()
      const pool = createPool(database.url, 1)
      await migratePostgres(pool)
      await pool.end()
      const db = new pg.Client({ connectionString: database.url })
      await db.connect()
      t.teardown(() => db.end())
      const proxy = await stallingProxy(new URL(database.url))
      t.teardown(() => proxy.close())

      const replicas = [
        { name: 'a', databaseUrl: database.url, storage: {} },
        {
          name: 'b',
          databaseUrl: database.url,
          storage: { stateStalenessMs: LONG_BOUND_MS },
          // A transfer's deadline far away: a read cut below is cut by the revocation.
          adapters: { timeoutMs: 120_000 },
        },
        { name: 'c', databaseUrl: proxy.url, storage: { stateStalenessMs: BOUND_MS } },
      ]
      const urls: string[] = []
      const configs: string[] = []
      for (const replica of replicas) {
        const port = await freePort()
        urls.push(`http://127.0.0.1:${port}`)
        configs.push(writeGatewayConfig(dir, replica.name, { port, origin: ORIGIN, ...replica }))
      }
      // The first creates the keys; the others then read them.
      const first = serveGateway(t, configs[0]!)
      await waitReady(urls[0]!, first)
      const others = configs.slice(1).map((config) => serveGateway(t, config))
      await Promise.all(others.map((running, i) => waitReady(urls[i + 1]!, running)))

      const issuer = loadDevIssuer(join(dir, 'dev.pem'))
      const token = (person: Person) => {
        const { sub, org, roles } = PEOPLE[person]
        return issuer.mint({ sub, org, roles, audience: 'court-file-gateway' })
      }
      const agent = new Agent({ connections: 8 })
      t.teardown(() => agent.destroy())
      const [a, b, c] = urls.map((url) => httpCaller(url, () => agent)) as [
        Harness['call'],
        Harness['call'],
        Harness['call'],
      ]
      const h = {
        url: urls[0],
        token: (sub: string, org: string, roles: never) =>
          issuer.mint({ sub, org, roles, audience: 'court-file-gateway' }),
        call: a,
      } as unknown as Harness
      // Every replica signs court requests with the same key, which A publishes.
      const court = await startHostileCourt(t, (await a('GET', '/.well-known/jwks.json')).json)
      const adapterId = await registerAdapter(h, court.url)

      const prosecutor = token('prosecutor')
      const operator = token('operator')
      const open = async (supervisionCase: string) => {
        const opened = await a('POST', '/v1/grants', { token: prosecutor, body: { ...MAIN_GRANT, supervisionCase } })
        if (opened.status !== 201) throw new Error(`open: ${opened.status} ${opened.text}`)
        return opened.json.id as string
      }
      const read = async (call: Harness['call'], grant: string) =>
        (await call('GET', `/v1/grants/${grant}/documents/${DOCUMENT}`, { token: prosecutor })).json?.code ?? 'read'
      const readStatus = async (call: Harness['call'], grant: string) =>
        (await call('GET', `/v1/grants/${grant}/documents/${DOCUMENT}`, { token: prosecutor })).status
      /** Waits until B answers a read of `grant` with `code` ('read' for a document served). */
      const heardOnB = (grant: string, code: string) =>
        waitFor(async () => ((await read(b, grant)) === code ? true : undefined), {
          deadlineMs: HEARD_WITHIN_MS,
          intervalMs: 10,
          what: `replica B answering ${code}`,
        })

      const revoked = await open('S-revoked')
      const silent = await open('S-silent')
      const kept = await open('S-kept')
      for (const grant of [revoked, silent, kept]) {
        t.equal(await readStatus(b, grant), 200, 'B reads (and keeps the grant and the registry)')
        t.equal(await readStatus(c, grant), 200, 'C reads too')
      }

      await t.test('B serves the grant from memory: a change made behind the log is not seen', async (t) => {
        // Not something the gateway ever does (every change goes through the log, which notifies): it shows that B
        // answers from memory, so that what B refuses below it refuses because it was told.
        const { rows } = await db.query<{ doc: string }>('SELECT doc FROM grants WHERE id = $1', [silent])
        const doc = JSON.stringify({ ...JSON.parse(rows[0]!.doc), status: 'revoked' })
        await db.query("UPDATE grants SET status = 'revoked', doc = $2 WHERE id = $1", [silent, doc])
        t.equal(await read(b, silent), 'read', 'B still serves it, from memory')
        t.equal(await read(a, silent), 'GRANT_NOT_ACTIVE', 'A, which has not read it since, reads the database')
      })

      await t.test('a revocation on A: refused on A at once, on B once notified', async (t) => {
        const done = await a('POST', `/v1/grants/${revoked}/revoke`, { token: prosecutor, body: {} })
        t.equal(done.status, 200, 'A acknowledges the revocation')
        t.equal(await read(a, revoked), 'GRANT_NOT_ACTIVE', 'A refuses the next read')
        await heardOnB(revoked, 'GRANT_NOT_ACTIVE')
        t.pass('B refuses it, within seconds of a 60 s bound: it was notified')
        t.equal(await read(b, kept), 'read', 'B still serves the grant that was not revoked')
      })

      await t.test('a suspension, a re-activation and an update of the adapter on A reach B', async (t) => {
        const suspended = await a('POST', `/v1/adapters/${adapterId}/suspend`, { token: operator, body: {} })
        t.equal(suspended.status, 200, 'A suspends the adapter')
        t.equal(await read(a, kept), 'ADAPTER_UNAVAILABLE', 'A refuses at once')
        await heardOnB(kept, 'ADAPTER_UNAVAILABLE')
        t.pass('B refuses reads through the suspended adapter')

        const activated = await a('POST', `/v1/adapters/${adapterId}/activate`, { token: operator, body: {} })
        t.equal(activated.status, 200, 'A activates it again')
        t.equal(await read(a, kept), 'read', 'A serves again at once')
        await heardOnB(kept, 'read')
        t.pass('B serves again')

        const admin = PEOPLE.courtAdmin
        const updated = await a('PATCH', `/v1/adapters/${adapterId}`, {
          token: issuer.mint({ sub: admin.sub, org: admin.org, roles: admin.roles, audience: 'court-file-gateway' }),
          body: { description: 'moved' },
        })
        t.equal(updated.status, 200, 'A updates it')
        t.equal(updated.json.status, 'pending', 'an updated adapter waits for its checks again')
        t.equal(await read(a, kept), 'ADAPTER_UNAVAILABLE', 'A refuses at once')
        await heardOnB(kept, 'ADAPTER_UNAVAILABLE')
        t.pass('B refuses reads through the updated, pending adapter')

        const again = await a('POST', `/v1/adapters/${adapterId}/activate`, { token: operator, body: {} })
        t.equal(again.status, 200, 'A activates it once more')
        await heardOnB(kept, 'read')
      })

      await t.test('a read streaming on B through a grant revoked on A is cut once B is notified', async (t) => {
        // From here on the court lists its slow document (and no longer passes an activation's checks).
        court.misbehave()
        const grant = await open('S-streaming')
        const streaming = await request(`${urls[1]}/v1/grants/${grant}/documents/slow`, {
          headers: { authorization: `Bearer ${prosecutor}` },
          dispatcher: agent,
        })
        t.equal(streaming.statusCode, 200, 'the transfer started on B')
        const received = (async () => {
          let bytes = 0
          try {
            for await (const chunk of streaming.body) bytes += (chunk as Buffer).length
            return { bytes, clean: true }
          } catch {
            return { bytes, clean: false }
          }
        })()
        await waitFor(() => (court.requests.some((r) => r.id === 'slow' && r.sent > 0) ? true : undefined), {
          deadlineMs: HEARD_WITHIN_MS,
          what: 'the slow document streaming',
        })
        const done = await a('POST', `/v1/grants/${grant}/revoke`, { token: prosecutor, body: {} })
        t.equal(done.status, 200, 'A acknowledges the revocation')
        const got = await received
        t.notOk(got.clean, `B's client sees the transfer cut (${got.bytes} bytes), not ended as if complete`)
        const intent = Number(streaming.headers['access-log-index'])
        const outcome = await waitFor(
          async () => {
            const page = await a('GET', `/v1/audit/entries?grant=${grant}&limit=1000`, { token: token('auditor') })
            return (page.json.items as Array<{ entry: { phase: string; intent?: number } }>).find(
              (item) => item.entry.phase === 'outcome' && item.entry.intent === intent,
            )?.entry as { outcome: { result: string }; reason: string } | undefined
          },
          { deadlineMs: HEARD_WITHIN_MS, what: "the outcome of B's read" },
        )
        t.equal(outcome.outcome.result, 'revoked', 'logged by B as stopped by the revocation')
        t.equal(outcome.reason, 'GRANT_NOT_ACTIVE')
      })

      await t.test('C, its notifications stalled, refuses a revoked grant once its bound has passed', async (t) => {
        const grant = await open('S-stalled')
        t.equal(await read(c, grant), 'read', 'C reads, and keeps the grant')
        t.ok(proxy.stall() >= 1, "C's listening connection is stalled")
        const done = await a('POST', `/v1/grants/${grant}/revoke`, { token: prosecutor, body: {} })
        t.equal(done.status, 200, 'A acknowledges the revocation')
        // The bound counts from A's acknowledgement: past it, C may not serve the grant, told or not.
        await new Promise((resolve) => setTimeout(resolve, BOUND_MS))
        t.equal(await read(c, grant), 'GRANT_NOT_ACTIVE', `C refuses it ${BOUND_MS} ms after the acknowledgement`)
        t.ok(proxy.holds(`grant:${grant}`), 'while the notification of the revocation is still held back from C')
        t.equal(await read(c, kept), 'read', 'C keeps serving other grants, from the database')
      })
    },
  )
}
