import { generateKeyPairSync } from 'node:crypto'
import net from 'node:net'
import type pg from 'pg'
import t from 'tap'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import type { EntryInput } from '../../src/accesslog/entry.js'
import type { Grant } from '../../src/grants/types.js'
import { createPool, migratePostgres, openPostgresStorage } from '../../src/storage/postgres.js'
import { ChangeConflict } from '../../src/storage/state-change.js'
import { testDatabase } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'

/**
 * The sequencer of a PostgreSQL log (src/accesslog/sequencer.ts), in one process: the first opening leads,
 * the next follows and forwards; indexes, conflicts and intents come back through the channel as if appended
 * locally; a peer that cannot prove the term's secret is refused; when the leader stops, the follower
 * appends on its own at once and takes the lead.
 */
const database = await testDatabase(t)

const { privateKey, publicKey } = generateKeyPairSync('ed25519')

const read = (n: number): EntryInput => ({
  action: 'document.read',
  actor: { sub: `p${n}`, org: '230100', roles: ['prosecutor'], issuer: 'https://idp.example' },
  resource: { court: '黑01', document: `main-${n}` },
  phase: 'intent',
  decision: 'allow',
})

const grant = (status: Grant['status']): Grant => ({
  id: 'g1',
  status,
  court: '黑01',
  caseNo: '（2023）黑01民终1234号',
  supervisionCase: 'S-1',
  volumes: ['main'],
  reason: '监督',
  org: '230100',
  createdBy: 'zhang.wei',
  members: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2027-01-01T00:00:00.000Z',
})

if (database) {
  t.test('one leads, the other forwards; the lead passes on when the leader stops', async (t) => {
    const url = await database.freshSchema()
    const setup = createPool(url, 1)
    await migratePostgres(setup)
    await setup.end()

    const open = async () => {
      const storage = await openPostgresStorage(url)
      const log = await TransparencyLog.open({
        store: storage.log,
        origin: 'sequencer.test/log',
        signingKey: privateKey,
        publicKey,
        checkpointIntervalMs: 100,
      })
      const sequenced = await storage.sequence(log, {
        listen: { host: '127.0.0.1', port: 0 },
        inDoubtAfterMs: 1000,
        pollMs: 50,
        now: () => new Date(),
        onWarning: () => {},
      })
      return { storage, sequenced }
    }
    const a = await open()
    const b = await open()
    t.teardown(async () => {
      await b.sequenced.close().catch(() => {})
      await b.storage.close()
      await a.sequenced.close().catch(() => {})
      await a.storage.close()
    })
    t.ok(a.sequenced.leading, 'the first opening leads')
    t.ok(b.sequenced.following, 'the second forwards to it')

    const indexes = await Promise.all([
      ...Array.from({ length: 20 }, (_, n) => a.sequenced.append(read(n))),
      ...Array.from({ length: 20 }, (_, n) => b.sequenced.append(read(100 + n))),
    ])
    t.same(
      [...indexes].sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i),
      'every append of both has its own index, no gap',
    )
    t.ok(b.sequenced.size() >= 40, 'the follower knows the log has at least what it was told')
    const forwarded = (await b.sequenced.get(indexes[20]!))!.entry
    t.equal(forwarded.resource?.document, 'main-100', 'a forwarded entry is logged as its process made it')
    const owners = await openPool(url, (pool) =>
      pool.query<{ idx: number; instance: string }>('SELECT idx, instance FROM open_intents ORDER BY idx'),
    )
    t.same(
      owners.rows.filter((row) => indexes.indexOf(row.idx) >= 20).map((row) => row.instance),
      Array.from({ length: 20 }, () => b.storage.log.instance),
      "a forwarded intent is the follower's own (its lease, its outcome)",
    )

    // A state change through the follower: applied by the leader in the entry's transaction; a conflict comes back.
    const event = (action: string): EntryInput => ({ action, phase: 'event', decision: 'allow' })
    await b.sequenced.append(event('grant.create'), { kind: 'grant.open', grant: grant('active') })
    t.same(await b.storage.grants.get('g1'), grant('active'), 'the change is made with its entry')
    const conflict = await b.sequenced
      .append(event('grant.revoke'), { kind: 'grant.replace', grant: grant('revoked'), expected: grant('pending') })
      .catch((error: unknown) => error)
    t.type(conflict, ChangeConflict, 'a conflict found by the leader is a ChangeConflict for the follower')
    t.same(await b.storage.grants.get('g1'), grant('active'), 'and nothing of it is written')

    // An outcome of an intent already closed is refused, wherever it is sent from.
    const intent = indexes[25]!
    const outcome = (): EntryInput => ({ ...read(105), phase: 'outcome', intent, outcome: { result: 'completed' } })
    await b.sequenced.append(outcome())
    t.type(await b.sequenced.append(outcome()).catch((e: unknown) => e), ChangeConflict, 'a second outcome is refused')

    // A peer that does not hold the term's secret cannot append through the leader.
    const row = await openPool(url, (pool) => pool.query<{ address: string }>('SELECT address FROM log_sequencer'))
    const [host, port] = row.rows[0]!.address.split(':') as [string, string]
    const intruder = net.connect({ host, port: Number(port) })
    const said: string[] = []
    intruder.setEncoding('utf8')
    intruder.on('data', (chunk: string) => said.push(chunk))
    await new Promise((resolve) => intruder.once('connect', resolve))
    intruder.write(`${JSON.stringify({ nonce: 'x', protocol: 1 })}\n`)
    intruder.write(`${JSON.stringify({ proof: 'forged', instance: 'intruder' })}\n`)
    intruder.write(`${JSON.stringify({ id: 1, entry: read(999) })}\n`)
    await new Promise((resolve) => intruder.once('close', resolve))
    t.notOk(said.join('').includes('"index"'), 'an unproven peer is cut off before anything is appended')
    const size = await b.storage.log.size()
    t.notOk(
      (await a.sequenced.query({ actor: 'p999' }, -1, 10)).length,
      `nothing of it is in the log (${size} entries)`,
    )

    // The leader stops while the follower's entries are in flight: each is answered, or sent back to be
    // appended elsewhere; none is refused. Then the follower appends at once (on its own), and takes the lead.
    const inFlight = Array.from({ length: 50 }, (_, n) => b.sequenced.append(read(400 + n)))
    const closing = a.sequenced.close()
    const late = Array.from({ length: 50 }, (_, n) => b.sequenced.append(read(500 + n)))
    const settled = await Promise.allSettled([...inFlight, ...late])
    await closing
    t.same(
      settled.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : [])),
      [],
      'a leader that stops answers or redirects every entry sent to it',
    )
    const after = await b.sequenced.append(read(200))
    t.ok(after >= size, 'the follower appends while the lead is free')
    await waitFor(() => (b.sequenced.leading ? true : undefined), { deadlineMs: 10_000, what: 'b leading' })
    t.ok(b.sequenced.leading, 'and leads')
    const next = await Promise.all(Array.from({ length: 10 }, (_, n) => b.sequenced.append(read(300 + n))))
    t.same(
      next.sort((x, y) => x - y),
      Array.from({ length: 10 }, (_, i) => after + 1 + i),
      'its appends follow on without a gap',
    )
    t.equal(await b.storage.log.size(), after + 11, 'and are all committed')
  })
}

if (database) {
  t.test('a process appending on its own while the sequencer pipelines: no deadlock, one tree', async (t) => {
    const url = await database.freshSchema()
    const setup = createPool(url, 1)
    await migratePostgres(setup)
    await setup.end()
    // As during a failover, or with a leader a process cannot reach: one store pipelines (it sequences), the
    // other takes the head lock first, and their batches are refused and sequenced again as they cross.
    const opened: Array<() => Promise<void>> = []
    const open = async (sequencing: boolean) => {
      const storage = await openPostgresStorage(url)
      storage.log.sequencing = sequencing
      const log = await TransparencyLog.open({
        store: storage.log,
        origin: 'sequencer.test/log',
        signingKey: privateKey,
        publicKey,
        checkpointIntervalMs: 100,
      })
      opened.push(async () => {
        await log.close()
        await storage.close()
      })
      return log
    }
    const deadlocks = () =>
      openPool(url, async (pool) =>
        Number(
          (
            await pool.query<{ deadlocks: string }>(
              'SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()',
            )
          ).rows[0]!.deadlocks,
        ),
      )
    const deadlocksBefore = await deadlocks()
    const leader = await open(true)
    const other = await open(false)
    const work = (log: TransparencyLog, from: number) =>
      Promise.allSettled(
        Array.from({ length: 32 }, async (_, w) => {
          const indexes: number[] = []
          for (let i = 0; i < 20; i++) indexes.push(await log.append(read(from + w * 100 + i)))
          return indexes
        }),
      )
    const [a, b] = await Promise.all([work(leader, 0), work(other, 10_000)])
    // Their connections end here: each backend reports its counts (deadlocks among them) as it exits.
    for (const close of opened) await close()
    await waitFor(async () => ((await deadlocks()) > deadlocksBefore ? true : undefined), {
      deadlineMs: 1500,
      what: 'a deadlock counted',
    }).catch(() => {})
    t.equal((await deadlocks()) - deadlocksBefore, 0, 'no deadlock between a pipelined batch and a locking one')
    const refused = [...a, ...b].flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []))
    t.same(refused, [], 'every append of both succeeds (a deadlock between them would refuse a batch)')
    const indexes = [...a, ...b].flatMap((result) => (result.status === 'fulfilled' ? result.value : []))
    t.same(
      indexes.sort((x, y) => x - y),
      Array.from({ length: 1280 }, (_, i) => i),
      'each has its own index, without a gap',
    )
    // One tree: a log opened afresh on the store reproduces the root of the last checkpoint either signed.
    const storage = await openPostgresStorage(url)
    t.teardown(() => storage.close())
    const reopened = await TransparencyLog.open({
      store: storage.log,
      origin: 'sequencer.test/log',
      signingKey: privateKey,
      publicKey,
      checkpointIntervalMs: 100,
    })
    t.equal(reopened.size(), 1280, 'the stored tree reproduces the last signed checkpoint')
    await reopened.close()
  })
}

async function openPool<T>(url: string, use: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(url, 1)
  try {
    return await use(pool)
  } finally {
    await pool.end()
  }
}
