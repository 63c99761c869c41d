import t from 'tap'
import { request } from 'undici'
import { buildCourtAdapter } from '../examples/court-adapter/app.js'
import { shippedCasesDir } from '../examples/court-adapter/paths.js'
import type { Entry } from '../src/accesslog/entry.js'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import { GATEWAY_ISSUER } from '../src/server.js'
import type { Running } from './helpers/children.js'
import { replicaConfigs, serveGateway, waitReady } from './helpers/gateway-process.js'
import { type Harness, httpCaller, MAIN_GRANT, PEOPLE, registerAdapter } from './helpers/harness.js'
import { migratedClient, testDatabase } from './helpers/postgres.js'
import { waitFor } from './helpers/wait.js'
import { join } from 'node:path'

/**
 * Intents belong to the process that appended them (issue 11): with several gateway processes on one
 * PostgreSQL log, a restarting replica must not close a live peer's read in flight, and the reads of a
 * replica killed for good must still be closed, as `interrupted`, by a peer once its lease has expired.
 * Real processes, a real database, and a court that holds document requests until the test lets them go.
 */
/** Short, to keep the test short, yet long enough that a live process on a busy machine keeps its lease. */
const LEASE_MS = 3000
const DOCUMENT = 'main-01-appeal'

const database = await testDatabase(t)

if (database) {
  t.test('a restarting replica leaves a live peer’s read alone; a killed one’s is closed by a peer', async (t) => {
    const dir = t.testdir()
    const db = await migratedClient(t, database.url)
    const { urls, configs } = await replicaConfigs(dir, ['a', 'b'], {
      databaseUrl: database.url,
      origin: 'intent-leases.test/log',
      accessLog: { leaseTtlMs: LEASE_MS },
      // Far beyond the time a read is held at the court here: only the test ends it.
      adapters: { timeoutMs: 120_000 },
    })
    const [urlA, urlB] = urls as [string, string]
    const a = serveGateway(t, configs[0]!)
    await waitReady(urlA, a)
    let b: Running = serveGateway(t, configs[1]!)
    await waitReady(urlB, b)

    // The court: the reference adapter, whose document requests wait while `holding`.
    const court = await buildCourtAdapter({
      casesDir: shippedCasesDir(),
      courts: ['黑01', '黑0103'],
      gatewayIssuer: GATEWAY_ISSUER,
      jwks: new URL(`${urlA}/.well-known/jwks.json`),
    })
    let holding = false
    let held: Array<() => void> = []
    let documentRequests = 0
    const release = () => {
      holding = false
      for (const resume of held) resume()
      held = []
    }
    court.addHook('onRequest', async (req) => {
      if (!req.url.includes('/documents/')) return
      documentRequests++
      if (holding) await new Promise<void>((resume) => held.push(resume))
    })
    await court.listen({ host: '127.0.0.1', port: 0 })
    t.teardown(async () => {
      release()
      await court.close()
    })
    const courtUrl = `http://127.0.0.1:${(court.server.address() as { port: number }).port}`

    const issuer = loadDevIssuer(join(dir, 'dev.pem'))
    const h = {
      url: urlA,
      token: (sub: string, org: string, roles: never) =>
        issuer.mint({ sub, org, roles, audience: 'court-file-gateway' }),
      call: httpCaller(urlA),
    } as unknown as Harness
    await registerAdapter(h, courtUrl)
    const { sub, org, roles } = PEOPLE.prosecutor
    const prosecutor = issuer.mint({ sub, org, roles, audience: 'court-file-gateway' })
    const opened = await h.call('POST', '/v1/grants', { token: prosecutor, body: MAIN_GRANT })
    t.equal(opened.status, 201, 'a grant is opened')
    const grant = opened.json.id as string

    const read = (url: string) =>
      request(`${url}/v1/grants/${grant}/documents/${DOCUMENT}`, { headers: { authorization: `Bearer ${prosecutor}` } })
    /** The one open intent and its owner, once the read's request has reached the court. */
    const heldRead = async (seen: number) => {
      await waitFor(() => (documentRequests > seen ? true : undefined), { what: 'the read at the court' })
      const { rows } = await db.query<{ idx: string; instance: string }>('SELECT idx, instance FROM open_intents')
      t.equal(rows.length, 1, 'one intent is open: the read held at the court')
      return { index: Number(rows[0]!.idx), instance: rows[0]!.instance }
    }
    const outcomesOf = async (index: number) =>
      (
        await db.query<{ leaf: Buffer }>("SELECT leaf FROM log_entries WHERE phase = 'outcome' AND intent_ref = $1", [
          index,
        ])
      ).rows.map((row) => JSON.parse(row.leaf.toString('utf8')) as Entry)
    const renewedAt = async (pid: number) =>
      (
        await db.query<{ instance: string; renewed: Date }>(
          'SELECT instance, renewed_at AS renewed FROM gateway_instances',
        )
      ).rows.find((row) => row.instance.split('/')[1] === String(pid))

    // 1. A read through a is in flight when b is killed and started again.
    holding = true
    const readThroughA = read(urlA)
    const inA = await heldRead(documentRequests)
    t.equal(inA.instance.split('/')[1], String(a.child.pid), 'the intent is a’s own')
    const oldB = b.child.pid!
    b.child.kill('SIGKILL')
    await b.finished
    b = serveGateway(t, configs[1]!)
    await waitReady(urlB, b)
    // Past the old b's lease: a peer's renewal forgets it (nothing of it was open), and the new b has since
    // renewed three times, so that at least one whole round of renewal and sweep began after it was gone.
    await waitFor(async () => ((await renewedAt(oldB)) ? undefined : true), {
      what: 'the killed b’s lease forgotten',
    })
    const renewals = new Set<number>()
    await waitFor(
      async () => {
        const lease = await renewedAt(b.child.pid!)
        if (lease) renewals.add(lease.renewed.getTime())
        return renewals.size >= 3 ? true : undefined
      },
      { what: 'two sweeps of the new b' },
    )
    t.same(await outcomesOf(inA.index), [], 'a’s read in flight was not closed by b’s restart or sweeps')

    release()
    const answered = await readThroughA
    await answered.body.dump({ limit: 1 << 20 })
    t.equal(answered.statusCode, 200, 'a’s read completes')
    t.equal(answered.headers['access-log-index'], String(inA.index))
    const closedByA = await waitFor(async () => {
      const outcomes = await outcomesOf(inA.index)
      return outcomes.length > 0 ? outcomes : undefined
    })
    t.match(closedByA, [{ outcome: { result: 'completed' } }], 'with its one outcome, completed')
    t.equal(closedByA.length, 1)

    // 2. A read through b is in flight when b is killed for good: a closes it once b's lease has expired.
    holding = true
    const readThroughB = read(urlB).then(
      (response) => response.body.dump({ limit: 1 << 20 }).then(() => response.statusCode),
      () => 'cut off',
    )
    const inB = await heldRead(documentRequests)
    const killedB = b.child.pid!
    t.equal(inB.instance.split('/')[1], String(killedB), 'the intent is b’s own')
    b.child.kill('SIGKILL')
    await b.finished
    t.equal(await readThroughB, 'cut off', 'b’s client is cut off')
    const closedByPeer = await waitFor(
      async () => {
        const outcomes = await outcomesOf(inB.index)
        return outcomes.length > 0 ? outcomes : undefined
      },
      { what: 'an outcome for the killed b’s read' },
    )
    t.match(
      closedByPeer,
      [{ phase: 'outcome', intent: inB.index, outcome: { result: 'interrupted' }, detail: { instance: inB.instance } }],
      'a closed it as interrupted, naming the instance that left it open',
    )
    t.equal(closedByPeer.length, 1, 'once')
    t.same((await db.query('SELECT idx FROM open_intents')).rows, [], 'nothing is left open')
    release()

    a.child.kill('SIGTERM')
    t.equal((await a.finished).code, 0, 'a stops cleanly')
    t.equal(await renewedAt(a.child.pid!), undefined, 'and gives up its lease as it stops')
  })
}
