import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { Agent, request } from 'undici'
import { openCheckpoint } from '../src/accesslog/checkpoint.js'
import type { Entry } from '../src/accesslog/entry.js'
import { parseVerifierKey } from '../src/accesslog/note.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import { createPool, migratePostgres } from '../src/storage/postgres.js'
import { cli } from './helpers/children.js'
import { freePort, serveGateway, waitReady, writeGatewayConfig } from './helpers/gateway-process.js'
import { type Harness, httpCaller, MAIN_GRANT, PEOPLE, registerAdapter, startAdapter } from './helpers/harness.js'
import { ownPostgres } from './helpers/own-postgres.js'
import { waitFor } from './helpers/wait.js'

/**
 * Issue 11, faults: the PostgreSQL server under a gateway stops (a crash: immediate mode) while reads and
 * grant changes run, and starts again. Meanwhile every request fails closed — 503 problem+json, never a 200
 * whose read is not logged, never a hang past its deadline, never a crash — and afterwards the gateway serves
 * again, and every entry it acknowledged is in the log exactly once. The server is the test's own (see
 * helpers/own-postgres.ts), never the machine's shared one.
 */
const CLIENTS = 4
const DOCUMENTS = ['main-01-appeal', 'main-02-answer']
/** No request may take longer than this, database or not. */
const REQUEST_DEADLINE_MS = 20_000
/** Requests started while the server is down before it is started again. */
const DURING_OUTAGE = 24

type Phase = 'before' | 'down' | 'restarting' | 'after'
interface Answer {
  phase: Phase
  what: string
  status: number | string
  problem: boolean
  code?: string
  index?: number
  grant?: string
}

t.test('PostgreSQL stops under load and starts again: fail closed, then resume, nothing lost', async (t) => {
  const server = await ownPostgres(t)
  if (!server) return
  const dir = t.testdir()
  const pool = createPool(server.url, 1)
  await migratePostgres(pool)
  await pool.end()
  t.match(
    await cli(['migrate', '--config', writeConfig()]),
    { code: 0, stdout: /nothing applied/ },
    '`migrate`, run again, is a no-op',
  )

  function writeConfig() {
    return writeGatewayConfig(dir, 'migrate', { port: 1, databaseUrl: server!.url, origin: 'restart.test/log' })
  }
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const gateway = serveGateway(
    t,
    writeGatewayConfig(dir, 'gateway', { port, databaseUrl: server.url, origin: 'restart.test/log' }),
  )
  await waitReady(url, gateway)
  const issuer = loadDevIssuer(join(dir, 'dev.pem'))
  const mint = (person: keyof typeof PEOPLE) => {
    const { sub, org, roles } = PEOPLE[person]
    return issuer.mint({ sub, org, roles, audience: 'court-file-gateway' })
  }
  const h = {
    url,
    token: (sub: string, org: string, roles: never) => issuer.mint({ sub, org, roles, audience: 'court-file-gateway' }),
    call: httpCaller(url),
  } as unknown as Harness
  const court = await startAdapter(t, url)
  await registerAdapter(h, court.url)
  const prosecutor = mint('prosecutor')
  const auditor = mint('auditor')

  const agent = new Agent({
    connections: CLIENTS * 2,
    headersTimeout: REQUEST_DEADLINE_MS,
    bodyTimeout: REQUEST_DEADLINE_MS,
  })
  t.teardown(() => agent.destroy())
  let phase: Phase = 'before'
  const answers: Answer[] = []
  /** One request with its deadline; what it answered, recorded under the phase it was sent in. */
  const send = async (what: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> => {
    const sentIn = phase
    let answer: Answer
    try {
      const response = await request(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${prosecutor}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        dispatcher: agent,
        signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
      })
      const type = String(response.headers['content-type'] ?? '')
      const problem = type.startsWith('application/problem+json')
      const index = response.headers['access-log-index']
      const text = await response.body.text()
      const json = problem || type.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : {}
      answer = {
        phase: sentIn,
        what,
        status: response.statusCode,
        problem,
        ...(typeof json.code === 'string' ? { code: json.code } : {}),
        ...(typeof index === 'string' ? { index: Number(index) } : {}),
        ...(typeof json.id === 'string' ? { grant: json.id } : {}),
      }
    } catch (error) {
      answer = { phase: sentIn, what, status: `no answer: ${(error as Error).name}`, problem: false }
    }
    answers.push(answer)
    return answer
  }

  // Clients open a grant, read through it and revoke it, over and over, until told to stop.
  let stopping = false
  t.teardown(() => {
    stopping = true
  })
  const client = async (n: number) => {
    for (let round = 0; !stopping; round++) {
      const opened = await send('grant.create', 'POST', '/v1/grants', {
        ...MAIN_GRANT,
        supervisionCase: `S-${n}-${round}`,
      })
      if (opened.status !== 201) continue
      for (const document of DOCUMENTS) {
        await send('document.read', 'GET', `/v1/grants/${opened.grant}/documents/${document}`)
      }
      const revoked = await send('grant.revoke', 'POST', `/v1/grants/${opened.grant}/revoke`, {})
      if (revoked.status === 200) revoked.grant = opened.grant!
    }
  }
  const load = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)))
  await waitFor(() => (answers.filter((a) => a.status === 200).length >= 20 ? true : undefined), {
    what: 'reads served before the stop',
  })

  await server.stop('immediate')
  phase = 'down'
  await waitFor(() => (answers.filter((a) => a.phase === 'down').length >= DURING_OUTAGE ? true : undefined), {
    deadlineMs: 120_000,
    what: `${DURING_OUTAGE} answers while the server is down`,
  })
  if (gateway.child.exitCode !== null) {
    stopping = true
    t.fail('the gateway ended while the server was down', { output: gateway.output() })
    return
  }
  const ready = await request(`${url}/readyz`)
  await ready.body.dump()
  t.equal(ready.statusCode, 503, 'readiness says the gateway cannot serve')

  phase = 'restarting'
  await server.start()
  await waitFor(
    async () => {
      if (gateway.child.exitCode !== null) throw new Error(`the gateway exited: ${gateway.output()}`)
      const answer = await send('probe', 'GET', `/v1/grants?limit=1`)
      return answer.status === 200 ? true : undefined
    },
    { deadlineMs: 120_000, what: 'the gateway serving again' },
  )
  phase = 'after'
  const resumed = answers.length
  await waitFor(() => (answers.slice(resumed).filter((a) => a.status === 200).length >= 20 ? true : undefined), {
    deadlineMs: 120_000,
    what: 'reads served after the restart',
  })
  stopping = true
  await load
  // Reads cut by the outage leave intents whose outcome, or whose own append, failed in doubt: the log
  // closes each as interrupted once it reads PostgreSQL back, while the gateway lives.
  const db = new pg.Client({ connectionString: server.url })
  await db.connect()
  t.teardown(() => db.end())
  await waitFor(
    async () => {
      const { rows } = await db.query<{ open: number }>('SELECT COUNT(*)::int AS open FROM open_intents')
      return rows[0]!.open === 0 ? true : undefined
    },
    { what: 'every intent closed after the restart, the gateway still running' },
  )
  // One more read once every client has stopped: each append acknowledged before it has a lower index, so a
  // checkpoint covering this read covers every acknowledged entry (grant changes answer without an index).
  const last = await send('grant.create', 'POST', '/v1/grants', { ...MAIN_GRANT, supervisionCase: 'S-last' })
  const marker = await send('document.read', 'GET', `/v1/grants/${last.grant}/documents/${DOCUMENTS[0]}`)
  t.equal(marker.status, 200, 'a read after the load is served')

  const down = answers.filter((a) => a.phase === 'down')
  t.same(
    down.filter((a) => a.status !== 503 || !a.problem),
    [],
    `the ${down.length} requests sent while the server was down were refused, 503 problem+json`,
  )
  t.same(
    down.filter((a) => a.code !== 'ACCESS_LOG_UNAVAILABLE' && a.code !== 'STORAGE_UNAVAILABLE'),
    [],
    'each with a code that says the log or the storage cannot be used',
  )
  t.same(
    answers.filter((a) => typeof a.status === 'string'),
    [],
    `every one of the ${answers.length} requests was answered within ${REQUEST_DEADLINE_MS} ms`,
  )
  t.same(
    answers.filter((a) => ![200, 201, 503].includes(a.status as number)),
    [],
    'nothing but success or 503, before, during and after',
  )
  t.same(
    answers.filter((a) => a.phase === 'after' && a.status !== 200 && a.status !== 201),
    [],
    'once serving again, every request succeeds',
  )
  t.equal(gateway.child.exitCode, null, 'the gateway never stopped')

  // The log: every acknowledged read and grant change is in it, once; the export verifies.
  const key = parseVerifierKey((await h.call('GET', '/v1/audit/key', { token: auditor })).text.trim())
  const served = answers.filter((a) => a.what === 'document.read' && a.status === 200)
  const highest = marker.index!
  const checkpoint = await waitFor(async () => {
    const text = (await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text
    const opened = openCheckpoint(text, [key])
    return opened.size > highest ? { ...opened, text } : undefined
  })
  const exported = await h.call('GET', `/v1/audit/export?to=${checkpoint.size}`, { token: auditor })
  const keyText = (await h.call('GET', '/v1/audit/key', { token: auditor })).text
  t.same(
    verifyExport({ exportText: exported.bytes, checkpointText: checkpoint.text, keyText }),
    { ok: true, origin: 'restart.test/log', size: checkpoint.size, rootHash: checkpoint.rootHash },
    `the export of ${checkpoint.size} entries verifies`,
  )
  const entries = exported.text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Entry)
  const indexes = served.map((a) => a.index!)
  t.equal(new Set(indexes).size, indexes.length, `no index was handed out twice (${indexes.length} reads served)`)
  t.same(
    indexes.filter((index) => entries[index]?.phase !== 'intent' || entries[index]?.action !== 'document.read'),
    [],
    'every served read is a logged read intent',
  )
  const changes = answers.filter(
    (a) => (a.what === 'grant.create' && a.status === 201) || (a.what === 'grant.revoke' && a.status === 200),
  )
  t.same(
    changes.filter(
      (a) =>
        entries.filter((e) => e.action === a.what && e.resource?.grant === a.grant && e.phase !== 'outcome').length !==
        1,
    ),
    [],
    `each of the ${changes.length} acknowledged grant changes is logged once`,
  )
  const outcomes = new Map<number, number>()
  for (const entry of entries) {
    if (entry.phase === 'outcome') outcomes.set(entry.intent!, (outcomes.get(entry.intent!) ?? 0) + 1)
  }
  t.same(
    [...outcomes].filter(([, count]) => count > 1),
    [],
    'no intent has two outcomes',
  )
  t.same(
    entries.flatMap((entry, index) =>
      entry.phase === 'intent' && index !== marker.index && !outcomes.has(index) ? [index] : [],
    ),
    [],
    'every intent but the last read’s (its outcome follows its response) has its outcome',
  )

  gateway.child.kill('SIGTERM')
  t.equal((await gateway.finished).code, 0, 'the gateway stops cleanly')
})
