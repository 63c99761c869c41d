import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import t from 'tap'
import { Agent, request } from 'undici'
import { openCheckpoint } from '../src/accesslog/checkpoint.js'
import type { Entry } from '../src/accesslog/entry.js'
import { verifyConsistency } from '../src/accesslog/merkle/tree.js'
import { parseVerifierKey } from '../src/accesslog/note.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { type Running, startBuilt } from './helpers/children.js'
import { freePort, waitReady } from './helpers/gateway-process.js'
import { type Harness, httpCaller, PEOPLE, type Person, registerAdapter, startAdapter } from './helpers/harness.js'
import { waitFor } from './helpers/wait.js'

type Tap = { teardown(fn: () => unknown): void }

const CASE = '（2023）黑01民终1234号'
const DOCUMENTS = [
  'main-01-appeal',
  'main-02-answer',
  'main-03-evidence',
  'main-04-hearing',
  'main-05-judgment',
  'main-06-service',
]
const READS = 300
/** Killed once clients have this many intent indexes: most reads are then between intent and outcome. */
const KILL_AFTER = 60

/** The gateway as a child process, as it runs in production: `court-file-gateway serve --config FILE`. */
function startChild(t: Tap, configFile: string): Running {
  return startBuilt(t, 'src/cli.js', ['serve', '--config', configFile], { env: { LOG_LEVEL: 'warn' } })
}

t.test(
  'SIGKILL during concurrent reads: after a restart every acknowledged intent is there, closed once, and the log verifies',
  async (t) => {
    const dir = t.testdir()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const configFile = join(dir, 'config.json')
    writeFileSync(
      configFile,
      JSON.stringify({
        server: { host: '127.0.0.1', port },
        storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
        identity: { audience: 'court-file-gateway', issuers: [] },
        directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
        accessLog: { origin: 'crash.test/log', signingKeyFile: join(dir, 'log.pem'), checkpointIntervalMs: 50 },
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
    const issuer = loadDevIssuer(join(dir, 'dev.pem'))
    const token = (person: Person) => {
      const { sub, org, roles } = PEOPLE[person]
      return issuer.mint({ sub, org, roles, audience: 'court-file-gateway' })
    }

    let running = startChild(t, configFile)
    await waitReady(url, running)

    // Each phase gets its own connection pool: sockets to the killed process must not be reused.
    let agent = new Agent({ connections: READS + 10 })
    const call = httpCaller(url, () => agent)
    const h = {
      url,
      token: (sub: string, org: string, roles: never) =>
        issuer.mint({ sub, org, roles, audience: 'court-file-gateway' }),
      call,
    } as unknown as Harness

    const court = await startAdapter(t, url)
    await registerAdapter(h, court.url)
    const grant = await call('POST', '/v1/grants', {
      token: token('prosecutor'),
      body: { court: '黑01', caseNo: CASE, supervisionCase: 'S-CRASH', volumes: ['main'], reason: '监督' },
    })
    t.equal(grant.status, 201, `a main-volume grant is open ${grant.status === 201 ? '' : grant.text}`)

    // The storm: every client records the intent index it was given, then reads the body.
    const received = new Set<number>()
    let onEnough: () => void = () => {}
    const enough = new Promise<void>((resolve) => (onEnough = resolve))
    const prosecutor = token('prosecutor')
    const outcomes = { completed: 0, failed: 0 }
    const reads = Array.from({ length: READS }, async (_, i) => {
      const document = DOCUMENTS[i % DOCUMENTS.length]!
      const headers: Record<string, string> = { authorization: `Bearer ${prosecutor}` }
      if (i % 3 === 0) headers.range = `bytes=${i % 50}-${200 + (i % 50)}`
      try {
        const response = await request(`${url}/v1/grants/${grant.json.id}/documents/${document}`, {
          headers,
          dispatcher: agent,
        })
        const index = response.headers['access-log-index']
        if (typeof index === 'string') {
          // Headers still buffered when the child dies count too: the intent was durable before they were sent.
          received.add(Number(index))
          if (received.size >= KILL_AFTER) onEnough()
        }
        await response.body.dump({ limit: 1 << 20 })
        outcomes.completed++
      } catch {
        outcomes.failed++
      }
    })
    await Promise.race([enough, Promise.all(reads)])
    running.child.kill('SIGKILL')
    await running.finished
    await Promise.all(reads)
    await agent.destroy()
    t.ok(received.size >= KILL_AFTER, `${received.size} intents acknowledged before the kill`)
    t.ok(outcomes.failed > 0, `reads were cut off by the kill (${outcomes.failed} of ${READS})`)

    // What the killed gateway left on disk: entries, the last checkpoint it signed, and intents left open.
    const db = new Database(join(dir, 'gateway.db'))
    const before = {
      size: (db.prepare('SELECT COUNT(*) AS n FROM log_entries').get() as { n: number }).n,
      checkpoint: db.prepare('SELECT size, root, text FROM log_checkpoints ORDER BY size DESC LIMIT 1').get() as {
        size: number
        root: Buffer
        text: string
      },
      open: (
        db
          .prepare(
            `SELECT idx FROM log_entries e WHERE phase = 'intent' AND NOT EXISTS (SELECT 1 FROM log_entries o WHERE o.intent_ref = e.idx)`,
          )
          .all() as Array<{ idx: number }>
      ).map((row) => row.idx),
    }
    db.close()
    t.ok(before.open.length > 0, `${before.open.length} intents were left open by the crash`)
    t.ok(before.checkpoint.size > 0, 'a checkpoint was signed before the crash')

    running = startChild(t, configFile)
    await waitReady(url, running)
    agent = new Agent()
    t.teardown(() => agent.destroy())
    const auditor = token('auditor')
    const keyText = (await call('GET', '/v1/audit/key', { token: auditor })).text
    const key = parseVerifierKey(keyText.trim())
    const old = openCheckpoint(before.checkpoint.text, [key])
    t.ok(old.rootHash.equals(before.checkpoint.root), 'the stored pre-crash checkpoint is signed by the same key')

    // The interrupted outcomes were appended at start; wait for a checkpoint that covers them.
    const covering = before.size + before.open.length
    const checkpoint = await waitFor(
      async () => {
        const text = (await call('GET', '/v1/audit/checkpoint', { token: auditor })).text
        const opened = openCheckpoint(text, [key])
        return opened.size >= covering ? { ...opened, text } : undefined
      },
      { what: `a checkpoint covering ${covering} entries` },
    )
    t.ok(checkpoint.size >= covering, `the new checkpoint (${checkpoint.size}) covers the interrupted outcomes`)

    const exported = await call('GET', `/v1/audit/export?to=${checkpoint.size}`, { token: auditor })
    t.equal(exported.status, 200)
    t.same(
      verifyExport({ exportText: exported.bytes, checkpointText: checkpoint.text, keyText }),
      {
        ok: true,
        origin: 'crash.test/log',
        size: checkpoint.size,
        rootHash: checkpoint.rootHash,
      },
      'the export verifies against the new checkpoint',
    )
    const entries = exported.text
      .slice(0, -1)
      .split('\n')
      .map((line) => JSON.parse(line) as Entry)
    t.equal(entries.length, checkpoint.size)

    const missing = [...received].filter(
      (index) => entries[index]?.phase !== 'intent' || entries[index]?.action !== 'document.read',
    )
    t.same(
      missing,
      [],
      `all ${received.size} intent indexes that clients received are document.read intents in the log`,
    )

    const outcomesOf = new Map<number, number[]>()
    for (const [index, entry] of entries.entries()) {
      if (entry.phase !== 'outcome') continue
      outcomesOf.set(entry.intent!, [...(outcomesOf.get(entry.intent!) ?? []), index])
    }
    const intents = entries.flatMap((entry, index) => (entry.phase === 'intent' ? [index] : []))
    const notOnce = intents.filter((index) => outcomesOf.get(index)?.length !== 1)
    t.same(notOnce, [], `each of the ${intents.length} intents has exactly one outcome`)
    const strays = [...outcomesOf.keys()].filter((index) => entries[index]?.phase !== 'intent')
    t.same(strays, [], 'every outcome closes an intent')

    const interrupted = entries.flatMap((entry, index) => (entry.outcome?.result === 'interrupted' ? [index] : []))
    t.same(
      interrupted.map((index) => entries[index]!.intent),
      before.open,
      'exactly the intents the crash left open are closed as interrupted',
    )
    t.ok(
      interrupted.every((index) => index >= before.size),
      'by entries appended after the restart',
    )
    for (const index of interrupted) {
      const outcome = entries[index]!
      const intent = entries[outcome.intent!]!
      if (outcome.action !== intent.action || outcome.resource?.document !== intent.resource?.document) {
        t.fail(`outcome ${index} does not describe intent ${outcome.intent}`)
      }
    }

    // The restarted gateway continued the same tree: its checkpoint extends the last one signed before the crash.
    const proof = await call('GET', `/v1/audit/proofs/consistency?from=${old.size}&to=${checkpoint.size}`, {
      token: auditor,
    })
    t.equal(proof.status, 200)
    const hashes = (proof.json.proof as string[]).map((p) => Buffer.from(p, 'base64'))
    t.ok(
      verifyConsistency(old.size, checkpoint.size, hashes, old.rootHash, checkpoint.rootHash),
      'consistent with the pre-crash checkpoint',
    )

    // And reads work again, logged after the recovered entries.
    const again = await call('GET', `/v1/grants/${grant.json.id}/documents/${DOCUMENTS[0]}`, { token: prosecutor })
    t.equal(again.status, 200)
    t.ok(Number(again.headers['access-log-index']) >= covering, 'a new read is logged after the recovery')

    running.child.kill('SIGTERM')
    t.match(await running.finished, { code: 0, signal: null }, 'the restarted gateway stops cleanly on SIGTERM')
  },
)
