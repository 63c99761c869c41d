import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { openCheckpoint } from '../src/accesslog/checkpoint.js'
import type { Entry } from '../src/accesslog/entry.js'
import { verifyConsistency } from '../src/accesslog/merkle/tree.js'
import { parseVerifierKey } from '../src/accesslog/note.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { loadDevIssuer } from '../src/identity/dev-issuer.js'
import type { Running } from './helpers/children.js'
import { replicaConfigs, serveGateway, waitReady } from './helpers/gateway-process.js'
import {
  type Harness,
  httpCaller,
  MAIN_GRANT,
  PEOPLE,
  type Person,
  registerAdapter,
  startAdapter,
} from './helpers/harness.js'
import { migratedClient, testDatabase } from './helpers/postgres.js'
import { waitFor } from './helpers/wait.js'

/**
 * Issue 11, part 3: three gateway processes on one PostgreSQL database append to one log. Reads and grant
 * changes go through all three at once, one is killed with SIGKILL in the middle, and the log is then one
 * tree: every acknowledged index is there once, every intent closed once, every checkpoint any replica served
 * consistent with every other, and the export verifies. Run twice: the killed one is a follower (it forwards
 * its entries to the sequencer, src/accesslog/sequencer.ts), then the leader itself (the sequencer, with its
 * followers' entries in flight): a survivor takes the lead and nothing acknowledged is lost.
 */
const DOCUMENTS = ['main-01-appeal', 'main-02-answer', 'main-03-evidence', 'main-04-hearing']
const REPLICAS = 3
/** Clients per replica, each reading and changing grants in a loop until the load ends. */
const CLIENTS = 6
const ROUNDS = 6
/** The victim is killed once it has acknowledged this many read intents. */
const KILL_AFTER = 15
const ORIGIN = 'replicas.test/log'
/** The intent lease: the killed replica's reads are closed by its peers this long after its last renewal. */
const LEASE_MS = 3000

interface Seen {
  replica: number
  size: number
  rootHash: Buffer
  text: string
}

for (const victimRole of ['follower', 'leader'] as const) {
  // A database of its own for each run.
  const database = await testDatabase(t)
  if (!database) break
  t.test(`three replicas, one SIGKILLed mid-load (the ${victimRole}), write one consistent log`, async (t) => {
    const dir = t.testdir()
    const db = await migratedClient(t, database.url)
    // One set of keys for all replicas: they sign checkpoints of one log and requests to one court.
    const names = Array.from({ length: REPLICAS }, (_, i) => `replica-${i}`)
    const { urls, configs } = await replicaConfigs(dir, names, {
      databaseUrl: database.url,
      origin: ORIGIN,
      accessLog: { leaseTtlMs: LEASE_MS },
    })
    const start = (i: number) => serveGateway(t, configs[i]!)
    // The first creates the keys; the others then read them.
    const running: Running[] = [start(0)]
    await waitReady(urls[0]!, running[0]!)
    for (let i = 1; i < REPLICAS; i++) running.push(start(i))
    await Promise.all(running.map((r, i) => waitReady(urls[i]!, r)))
    // The sequencer is the replica whose process the log_sequencer row names (instance: host/pid/random).
    const leaderPid = await waitFor(
      async () => (await db.query<{ instance: string }>('SELECT instance FROM log_sequencer')).rows[0]?.instance,
      { deadlineMs: 10_000, what: 'a replica leading' },
    ).then((instance) => Number(instance!.split('/')[1]))
    const leader = running.findIndex((r) => r.child.pid === leaderPid)
    t.ok(leader >= 0, `replica ${leader} sequences the log`)
    const KILLED = victimRole === 'leader' ? leader : (leader + 1) % REPLICAS

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
    // The court trusts the keys published by replica 0, which every replica signs with. It holds document
    // requests while `holding` (just before the kill, below).
    let holding = false
    let held: Array<() => void> = []
    const release = () => {
      holding = false
      for (const resume of held) resume()
      held = []
    }
    const court = await startAdapter(t, urls[0]!, undefined, async () => {
      if (holding) await new Promise<void>((resume) => held.push(resume))
    })
    t.teardown(release)
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
    const victimPid = String(victim.child.pid)
    const survivorPids = new Set(running.filter((_, i) => i !== KILLED).map((r) => String(r.child.pid)))
    const isSurvivor = (entry: Entry) => survivorPids.has(String(entry.detail?.instance).split('/')[1] ?? '')
    // The victim dies with a read of its own at the court: from here the court holds document requests, and the
    // kill waits for one of the victim's intents to be open. (Without the hold, whether it had a read in flight at
    // the kill was down to timing: a read acknowledged just before could have its outcome committed first.)
    holding = true
    await waitFor(
      async () => {
        const { rows } = await db.query("SELECT 1 FROM open_intents WHERE split_part(instance, '/', 2) = $1", [
          victimPid,
        ])
        return rows.length > 0 ? true : undefined
      },
      { deadlineMs: 30_000, what: 'a read of the victim held at the court' },
    )
    killed = true
    victim.child.kill('SIGKILL')
    t.match(await victim.finished, { signal: 'SIGKILL' }, `replica ${KILLED} is killed mid-load`)
    release()
    // What it left open as it died (an outcome it had already forwarded may still close some of them). An intent
    // it had forwarded may be committed by the leader just after its death, and is then as much left open by it:
    // so its open intents are gathered until the load is over, long before a peer may close them (its lease).
    const leftOpen: number[] = []
    let loadOver = false
    const over = () => {
      loadOver = true
    }
    all.then(over, over)
    do {
      const { rows } = await db.query<{ idx: string }>(
        "SELECT idx FROM open_intents WHERE split_part(instance, '/', 2) = $1",
        [String(victim.child.pid)],
      )
      for (const { idx } of rows) if (!leftOpen.includes(Number(idx))) leftOpen.push(Number(idx))
      await new Promise((resolve) => setTimeout(resolve, 20))
    } while (!loadOver)
    await all
    if (victimRole === 'follower') t.same(failures.others, [], 'the surviving replicas served every request')
    else {
      // Entries forwarded to the leader when it died are refused to their callers (503): they may or may not
      // be in the log, and are looked up once its transactions can no longer be running (below). Any other
      // failure is not allowed.
      t.same(
        failures.others.filter((failure) => !/ 503$/.test(failure)),
        [],
        `the survivors refused only what was in flight to the killed leader (${failures.others.length} requests)`,
      )
    }
    t.ok(failures.killed > 0, `requests to the killed replica were cut off (${failures.killed} clients)`)
    // The load is over: from here on each replica is asked once more, for a checkpoint of the whole log. (Each
    // poll is itself logged, so polling on would add a checkpoint size, and proofs to check, every interval.)
    polling = false
    await Promise.all(pollers)

    // Every intent gets closed without the killed replica coming back: the survivors log the outcomes of their
    // reads (after the response, so a client can be done before its outcome is), and the killed replica's
    // reads, its own until its lease expires, are then closed by a peer as interrupted.
    await waitFor(
      async () => {
        const { rows } = await db.query<{ open: number }>('SELECT COUNT(*)::int AS open FROM open_intents')
        return rows[0]!.open === 0 ? true : undefined
      },
      { deadlineMs: 120_000, what: 'every intent closed, the killed replica’s by its peers' },
    )
    const survivors = new Set(reads.filter((r) => r.replica !== KILLED).map((r) => r.index))

    // The killed replica restarts on the same database and serves again.
    running[KILLED] = start(KILLED)
    await waitReady(urls[KILLED]!, running[KILLED]!)
    const head = Number((await db.query<{ size: string }>('SELECT size FROM log_head')).rows[0]!.size)

    // Every replica comes to serve a checkpoint of the whole log. (Each checkpoint asked for is itself logged,
    // as an `audit.query` event, so the log keeps growing by such events while this waits.)
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
    const interrupted = entries.filter((entry) => entry.outcome?.result === 'interrupted')
    // The killed replica had at least the read held at the court in flight (and, with a sequencer, an outcome it
    // had forwarded may be committed after its death); what it did leave open is closed, and nothing else of it.
    const victimInterrupted = interrupted.flatMap((entry) =>
      String(entry.detail?.instance).split('/')[1] === victimPid ? [entry.intent!] : [],
    )
    t.same(
      victimInterrupted.filter((index) => !leftOpen.includes(index)),
      [],
      `the ${victimInterrupted.length} intents closed as interrupted for the killed replica were open when it died (${leftOpen.length} were)`,
    )
    if (victimRole === 'leader') {
      // Its own reads in flight died with it (none was forwarded): at least the one held at the court.
      t.ok(interrupted.length > 0, `${interrupted.length} intents left open by the kill are closed as interrupted`)
    }
    t.same(
      interrupted.filter((entry) => String(entry.detail?.instance).split('/')[1] !== victimPid),
      victimRole === 'follower' ? [] : interrupted.filter((entry) => isSurvivor(entry)),
      victimRole === 'follower'
        ? 'each names the killed replica as the process that left it open'
        : 'each names the killed replica, or a survivor whose intent was in flight to it (a read never served)',
    )
    t.same(
      interrupted.filter((entry) => survivors.has(entry.intent!)),
      [],
      'no read a surviving replica acknowledged is among them',
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
