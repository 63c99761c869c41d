import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { Agent, request } from 'undici'
import { openCheckpoint } from '../src/accesslog/checkpoint.js'
import type { Entry } from '../src/accesslog/entry.js'
import { verifyConsistency } from '../src/accesslog/merkle/tree.js'
import { parseVerifierKey } from '../src/accesslog/note.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { createPool, migratePostgres } from '../src/storage/postgres.js'
import { type Running, startBuilt } from './helpers/children.js'
import {
  type Harness,
  httpCaller,
  MAIN_GRANT,
  PEOPLE,
  type Person,
  registerAdapter,
  startAdapter,
} from './helpers/harness.js'
import { testDatabase } from './helpers/postgres.js'
import { waitFor } from './helpers/wait.js'

/**
 * Issue 11, part 3: three gateway processes on one PostgreSQL database append to one log. Reads and grant
 * changes go through all three at once, one is killed with SIGKILL in the middle, and the log is then one
 * tree: every acknowledged index is there once, every intent closed once, every checkpoint any replica served
 * consistent with every other, and the export verifies.
 */
const DOCUMENTS = ['main-01-appeal', 'main-02-answer', 'main-03-evidence', 'main-04-hearing']
const REPLICAS = 3
const KILLED = 2
/** Clients per replica, each reading and changing grants in a loop until the load ends. */
const CLIENTS = 6
const ROUNDS = 6
/** The victim is killed once it has acknowledged this many read intents. */
const KILL_AFTER = 15
const ORIGIN = 'replicas.test/log'

const database = await testDatabase(t)

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function waitReady(url: string, running: Running): Promise<void> {
  await waitFor(
    async () => {
      if (running.child.exitCode !== null) throw new Error(`the gateway exited: ${running.output()}`)
      try {
        const response = await request(`${url}/readyz`)
        await response.body.dump()
        return response.statusCode === 200 ? true : undefined
      } catch {
        return undefined // not listening yet
      }
    },
    { deadlineMs: 120_000, what: `a ready gateway at ${url}` },
  )
}

interface Seen {
  replica: number
  size: number
  rootHash: Buffer
  text: string
}

if (database) {
  t.test('three replicas, one SIGKILLed mid-load, write one consistent log', async (t) => {
    const dir = t.testdir()
    const pool = createPool(database.url, 1)
    await migratePostgres(pool)
    await pool.end()
    const db = new pg.Client({ connectionString: database.url })
    await db.connect()
    t.teardown(() => db.end())

    // One set of keys for all replicas: they sign checkpoints of one log and requests to one court.
    const configs: string[] = []
    const urls: string[] = []
    for (let i = 0; i < REPLICAS; i++) {
      const port = await freePort()
      urls.push(`http://127.0.0.1:${port}`)
      const file = join(dir, `replica-${i}.json`)
      writeFileSync(
        file,
        JSON.stringify({
          server: { host: '127.0.0.1', port },
          storage: { kind: 'postgres', url: database.url },
          identity: { audience: 'court-file-gateway', issuers: [] },
          directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
          accessLog: { origin: ORIGIN, signingKeyFile: join(dir, 'log.pem'), checkpointIntervalMs: 100 },
          adapters: {
            allowHttp: true,
            allowedNetworks: ['127.0.0.0/8'],
            timeoutMs: 5000,
            signingKeyFile: join(dir, 'adapter.pem'),
          },
          limits: { requestsPerMinute: 1_000_000, documentsPerDay: 1_000_000 },
          dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
        }),
      )
      configs.push(file)
    }
    const start = (i: number) =>
      startBuilt(t, 'src/cli.js', ['serve', '--config', configs[i]!], { env: { LOG_LEVEL: 'warn' } })
    // The first creates the keys; the others then read them.
    const running: Running[] = [start(0)]
    await waitReady(urls[0]!, running[0]!)
    for (let i = 1; i < REPLICAS; i++) running.push(start(i))
    await Promise.all(running.map((r, i) => waitReady(urls[i]!, r)))

    const issuer = loadDevIssuer(join(dir, 'dev.pem'))
    const token = (person: Person) => {
      const { sub, org, roles } = PEOPLE[person]
      return issuer.mint({ sub, org, roles, audience: 'court-file-gateway' })
    }
    // Own connection pools per replica: sockets to the killed one must not be reused for its successor.
    const agents = urls.map(() => new Agent({ connections: CLIENTS * 2 + 4 }))
    t.teardown(() => Promise.all(agents.map((agent) => agent.destroy())))
    const calls = urls.map((url, i) => httpCaller(url, () => agents[i]!))
    const h = {
      url: urls[0],
      token: (sub: string, org: string, roles: never) =>
        issuer.mint({ sub, org, roles, audience: 'court-file-gateway' }),
      call: calls[0],
    } as unknown as Harness
    // The court trusts the keys published by replica 0, which every replica signs with.
    const court = await startAdapter(t, urls[0]!)
    await registerAdapter(h, court.url)

    const auditor = token('auditor')
    const prosecutor = token('prosecutor')
    const key = parseVerifierKey((await calls[0]!('GET', '/v1/audit/key', { token: auditor })).text.trim())

    // Every checkpoint any replica serves while the load runs, polled from each of them.
    const seen: Seen[] = []
    let polling = true
    t.teardown(() => {
      polling = false
    })
    const pollers = urls.map(async (url, replica) => {
      while (polling) {
        try {
          const response = await request(`${url}/v1/audit/checkpoint`, {
            headers: { authorization: `Bearer ${auditor}` },
            dispatcher: agents[replica],
          })
          const text = await response.body.text()
          if (response.statusCode === 200) seen.push({ replica, ...openCheckpoint(text, [key]), text })
        } catch {
          // the killed replica, from its kill to its restart
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })

    // The load: on every replica, clients open a grant, read documents through it and revoke some grants.
    const reads: Array<{ replica: number; index: number }> = []
    const changes: Array<{ replica: number; action: string; grant: string }> = []
    const failures = { killed: 0, others: [] as string[] }
    let killed = false
    let onEnough: () => void = () => {}
    const enough = new Promise<void>((resolve) => (onEnough = resolve))
    const client = async (replica: number, n: number) => {
      const url = urls[replica]!
      for (let round = 0; round < ROUNDS; round++) {
        try {
          const opened = await request(`${url}/v1/grants`, {
            method: 'POST',
            headers: { authorization: `Bearer ${prosecutor}`, 'content-type': 'application/json' },
            body: JSON.stringify({ ...MAIN_GRANT, supervisionCase: `S-${replica}-${n}-${round}` }),
            dispatcher: agents[replica],
          })
          const grant = (await opened.body.json()) as { id: string }
          if (opened.statusCode !== 201) throw new Error(`open ${opened.statusCode}`)
          changes.push({ replica, action: 'grant.create', grant: grant.id })
          for (const [d, document] of DOCUMENTS.entries()) {
            if ((n + round + d) % 2 === 1) continue
            const read = await request(`${url}/v1/grants/${grant.id}/documents/${document}`, {
              headers: { authorization: `Bearer ${prosecutor}` },
              dispatcher: agents[replica],
            })
            const index = read.headers['access-log-index']
            // Recorded before the body: the intent was durable before the headers were sent.
            if (typeof index === 'string') {
              reads.push({ replica, index: Number(index) })
              if (reads.filter((r) => r.replica === KILLED).length >= KILL_AFTER) onEnough()
            }
            await read.body.dump({ limit: 1 << 20 })
            if (read.statusCode !== 200) throw new Error(`read ${read.statusCode}`)
          }
          if (round % 2 === 0) {
            const revoked = await request(`${url}/v1/grants/${grant.id}/revoke`, {
              method: 'POST',
              headers: { authorization: `Bearer ${prosecutor}`, 'content-type': 'application/json' },
              body: '{}',
              dispatcher: agents[replica],
            })
            await revoked.body.dump()
            if (revoked.statusCode !== 200) throw new Error(`revoke ${revoked.statusCode}`)
            changes.push({ replica, action: 'grant.revoke', grant: grant.id })
          }
        } catch (error) {
          if (replica === KILLED && killed) {
            failures.killed++
            return // its process is gone: this client stops
          }
          failures.others.push(`replica ${replica}: ${String(error)}`)
        }
      }
    }
    const load = urls.flatMap((_, replica) => Array.from({ length: CLIENTS }, (_, n) => client(replica, n)))
    const all = Promise.all(load)
    await Promise.race([enough, all])
    const victim = running[KILLED]!
    killed = true
    victim.child.kill('SIGKILL')
    t.match(await victim.finished, { signal: 'SIGKILL' }, `replica ${KILLED} is killed mid-load`)
    await all
    t.same(failures.others, [], 'the surviving replicas served every request')
    t.ok(failures.killed > 0, `requests to the killed replica were cut off (${failures.killed} clients)`)

    // What the killed replica left open, once the survivors have logged the outcomes of their reads (after
    // the response, so a client can be done before its outcome is).
    const openIntents = async () =>
      (
        await db.query<{ idx: string }>(
          `SELECT idx FROM log_entries e WHERE phase = 'intent'
            AND NOT EXISTS (SELECT 1 FROM log_entries o WHERE o.intent_ref = e.idx) ORDER BY idx`,
        )
      ).rows.map((row) => Number(row.idx))
    const survivors = new Set(reads.filter((r) => r.replica !== KILLED).map((r) => r.index))
    const leftOpen = await waitFor(
      async () => {
        const open = await openIntents()
        return open.some((index) => survivors.has(index)) ? undefined : open
      },
      { deadlineMs: 120_000, what: 'the outcomes of the survivors’ reads' },
    )
    t.ok(leftOpen.length > 0, `${leftOpen.length} intents were left open by the kill`)

    // Recovery: the killed replica restarts on the same database and closes what it left open. Only after the
    // load: a starting gateway closes every open intent in the log (closeInterruptedIntents), a live peer's
    // read in flight included, which would then get a second outcome.
    running[KILLED] = start(KILLED)
    await waitReady(urls[KILLED]!, running[KILLED]!)
    const head = Number((await db.query<{ size: string }>('SELECT size FROM log_head')).rows[0]!.size)

    // Every replica comes to serve a checkpoint of the whole log. (Each checkpoint asked for is itself logged,
    // as an `audit.query` event, so the log keeps growing by such events while this waits.)
    polling = false
    await Promise.all(pollers)
    const finals = await Promise.all(
      urls.map((_, replica) =>
        waitFor(
          async () => {
            const text = (await calls[replica]!('GET', '/v1/audit/checkpoint', { token: auditor })).text
            const opened = openCheckpoint(text, [key])
            return opened.size >= head ? { replica, ...opened, text } : undefined
          },
          { deadlineMs: 120_000, what: `a checkpoint of at least ${head} entries from replica ${replica}` },
        ),
      ),
    )
    seen.push(...finals)
    const last = finals.reduce((a, b) => (b.size > a.size ? b : a))
    const size = last.size

    const exported = await calls[0]!('GET', `/v1/audit/export?to=${size}`, { token: auditor })
    t.equal(exported.status, 200)
    const keyText = (await calls[1]!('GET', '/v1/audit/key', { token: auditor })).text
    t.same(
      verifyExport({ exportText: exported.bytes, checkpointText: last.text, keyText }),
      { ok: true, origin: ORIGIN, size, rootHash: last.rootHash },
      `the export of ${size} entries verifies against replica ${last.replica}'s checkpoint`,
    )
    const entries = exported.text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as Entry)
    t.equal(entries.length, size)

    // Every acknowledged index is there, and was handed to one client only.
    const indexes = reads.map((r) => r.index)
    t.equal(new Set(indexes).size, indexes.length, `no index was handed out twice (${indexes.length} reads)`)
    t.same(
      indexes.filter((index) => entries[index]?.phase !== 'intent' || entries[index]?.action !== 'document.read'),
      [],
      `all ${indexes.length} acknowledged read indexes are read intents`,
    )
    const perReplica = urls.map((_, replica) => reads.filter((r) => r.replica === replica).length)
    t.ok(
      perReplica.every((count) => count > 0),
      `reads were acknowledged by every replica (${perReplica.join(', ')})`,
    )
    const notOnce = changes.filter(
      ({ action, grant }) =>
        entries.filter((e) => e.action === action && e.resource?.grant === grant && e.phase !== 'outcome').length !== 1,
    )
    t.same(notOnce, [], `each of the ${changes.length} acknowledged grant changes is logged once`)

    const outcomesOf = new Map<number, number[]>()
    for (const [index, entry] of entries.entries()) {
      if (entry.phase === 'outcome') outcomesOf.set(entry.intent!, [...(outcomesOf.get(entry.intent!) ?? []), index])
    }
    const intents = entries.flatMap((entry, index) => (entry.phase === 'intent' ? [index] : []))
    t.same(
      intents.filter((index) => outcomesOf.get(index)?.length !== 1),
      [],
      `each of the ${intents.length} intents has exactly one outcome`,
    )
    t.same(
      [...outcomesOf.keys()].filter((index) => entries[index]?.phase !== 'intent'),
      [],
      'every outcome closes an intent',
    )
    t.same(
      entries
        .flatMap((entry) => (entry.outcome?.result === 'interrupted' ? [entry.intent] : []))
        .sort((a, b) => a! - b!),
      leftOpen,
      'exactly the intents the killed replica left open are closed, as interrupted',
    )

    // Every checkpoint any replica served is consistent with every other (one tree, never a fork).
    const bySize = new Map<number, Seen>()
    for (const checkpoint of seen) {
      const same = bySize.get(checkpoint.size)
      if (same && !same.rootHash.equals(checkpoint.rootHash)) {
        t.fail(`replicas ${same.replica} and ${checkpoint.replica} signed different roots for size ${checkpoint.size}`)
      }
      bySize.set(checkpoint.size, checkpoint)
    }
    const signers = new Set(seen.map((checkpoint) => checkpoint.replica))
    t.equal(signers.size, REPLICAS, 'checkpoints were seen from every replica')
    // Each size against the last and against the next: both prove every pair, as a checkpoint consistent with
    // the last one is a prefix of the one tree.
    const sizes = [...bySize.keys()].filter((size) => size > 0).sort((a, b) => a - b)
    const pairs = new Set(
      sizes.flatMap((from, i) => (i + 1 < sizes.length ? [`${from}:${size}`, `${from}:${sizes[i + 1]}`] : [])),
    )
    let proofs = 0
    const inconsistent: string[] = []
    for (const pair of pairs) {
      const [from, to] = pair.split(':').map(Number) as [number, number]
      const replica = proofs++ % REPLICAS
      const proof = await calls[replica]!('GET', `/v1/audit/proofs/consistency?from=${from}&to=${to}`, {
        token: auditor,
      })
      const hashes = proof.status === 200 ? (proof.json.proof as string[]).map((p) => Buffer.from(p, 'base64')) : []
      if (
        proof.status !== 200 ||
        !verifyConsistency(from, to, hashes, bySize.get(from)!.rootHash, bySize.get(to)!.rootHash)
      ) {
        inconsistent.push(`${from} → ${to} (replica ${replica}: ${proof.status})`)
      }
    }
    t.same(
      inconsistent,
      [],
      `the ${sizes.length} checkpoint sizes seen are consistent (${proofs} proofs, asked of every replica)`,
    )

    for (const r of running) r.child.kill('SIGTERM')
    const ends = await Promise.all(running.map((r) => r.finished))
    t.same(
      ends.map((end) => end.code),
      [0, 0, 0],
      'the replicas stop cleanly on SIGTERM',
    )
  })
}
