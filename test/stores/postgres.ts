import crypto from 'node:crypto'
import t, { type Test } from 'tap'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import { Frontier, withNodes } from '../../src/accesslog/merkle/tree.js'
import { PostgresLogStore } from '../../src/accesslog/postgres-store.js'
import type { LeafRecord, Rebase, TreeNode } from '../../src/accesslog/store.js'
import { checkSchemaVersion, createPool, migratePostgres } from '../../src/storage/postgres.js'
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres-migrations.js'
import { asRole, testDatabase } from '../helpers/postgres.js'
import { waitFor } from '../helpers/wait.js'

/**
 * PostgreSQL beyond the store contract: migrations, the append-only triggers and the gateway's role, and
 * appends from two processes' stores sequenced by the head lock. (The gateway on it: test/stores/postgres-gateway.ts.)
 */
const database = await testDatabase(t)

if (database) {
  const migrated = async (tt: Test) => {
    const url = await database.freshSchema()
    const pool = createPool(url, 4)
    tt.teardown(() => pool.end())
    await migratePostgres(pool)
    return { url, pool }
  }

  t.test('migrations: applied once, a second run is a no-op; the version check refuses older and newer', async (t) => {
    const url = await database.freshSchema()
    const pool = createPool(url, 2)
    t.teardown(() => pool.end())
    await t.rejects(checkSchemaVersion(pool), {
      name: 'SchemaVersionError',
      message: /schema version 0 is older than this gateway's \(4\): run `court-file-gateway migrate --config FILE`/,
    })
    t.same(await migratePostgres(pool), [1, 2, 3, 4], 'the first run applies every migration')
    t.same(await migratePostgres(pool), [], 'the second applies none')
    await checkSchemaVersion(pool)
    const { rows } = await pool.query('SELECT version, name FROM cfg_schema_migrations ORDER BY version')
    t.same(rows, [
      { version: 1, name: 'initial' },
      { version: 2, name: 'gateway role' },
      { version: 3, name: 'intent leases' },
      { version: 4, name: 'one-round-trip append and the sequencer' },
    ])

    const newer = [...POSTGRES_MIGRATIONS, { version: 5, name: 'from the future', sql: 'CREATE TABLE later (x INT)' }]
    t.same(await migratePostgres(pool, newer), [5], 'a newer gateway migrates further')
    await t.rejects(checkSchemaVersion(pool), {
      name: 'SchemaVersionError',
      message: /schema version 5 is newer than this gateway's \(4\)/,
    })
    await t.rejects(migratePostgres(pool), { message: /schema version 5 is newer/ }, 'an older migrate refuses')
  })

  t.test('migration 3 records the intents already open as no live process’s own', async (t) => {
    const url = await database.freshSchema()
    const pool = createPool(url, 2)
    t.teardown(() => pool.end())
    t.same(await migratePostgres(pool, POSTGRES_MIGRATIONS.slice(0, 2)), [1, 2])
    // Written as a gateway of schema 2 did: an intent closed by its outcome, and one a crash left open.
    for (const [idx, phase, ref] of [
      [0, 'intent', null],
      [1, 'outcome', 0],
      [2, 'intent', null],
    ] as const) {
      await pool.query(
        `INSERT INTO log_entries (idx, leaf, leaf_hash, time, action, decision, phase, intent_ref)
          VALUES ($1, '\\x00', '\\x00', '2026-01-01T00:00:00.000Z', 'document.read', 'allow', $2, $3)`,
        [idx, phase, ref],
      )
    }
    t.same(await migratePostgres(pool), [3, 4])
    const store = new PostgresLogStore(pool, 'after-upgrade')
    t.same(await store.orphanedIntents(new Date()), [{ index: 2 }], 'the open one is any process’s to close')
  })

  t.test(
    'intent leases: a peer’s open intents are orphaned only once its lease expired; one outcome each',
    async (t) => {
      const { url, pool } = await migrated(t)
      const other = createPool(url, 2)
      t.teardown(() => other.end())
      const a = new PostgresLogStore(pool, 'a')
      const b = new PostgresLogStore(other, 'b')
      const t0 = new Date('2026-03-01T00:00:00.000Z')
      const at = (ms: number) => new Date(t0.getTime() + ms)
      await a.renewLease(t0, 1000)
      await b.renewLease(t0, 1000)
      const frontier = new Frontier()
      const first = batchAt(frontier, 0, 2, 'b', ['intent', 'intent'])
      await b.appendBatch(first.leaves, first.nodes)
      t.same(await a.orphanedIntents(at(999)), [], 'a live peer’s reads in flight are not a’s to close')
      t.same(await b.orphanedIntents(at(5000)), [], 'nor are a process’s own ever its to close')

      const closing = batchAt(frontier, 2, 1, 'b', ['outcome'], [0])
      await b.appendBatch(closing.leaves, closing.nodes)
      t.same(
        await a.orphanedIntents(at(1000)),
        [{ index: 1, instance: 'b' }],
        'once b’s lease expired, its open intent',
      )

      // a closes it as interrupted, then b, stalled past its lease, logs its own outcome: refused, not a second one.
      const interrupted = batchAt(frontier, 3, 1, 'a', ['outcome'], [1])
      await a.appendBatch(interrupted.leaves, interrupted.nodes)
      const late = batchAt(frontier.clone(), 4, 1, 'b', ['outcome'], [1])
      await t.rejects(b.appendBatch(late.leaves, late.nodes), { name: 'ChangeConflict', index: 4 })
      t.equal(await b.size(), 4, 'the late outcome is not written')
      t.same(await a.orphanedIntents(at(1000)), [], 'nothing left to close')

      // Expired leases with nothing open are forgotten by the next renewal; a released one at once.
      await a.renewLease(at(2000), 1000)
      const leases = async () =>
        (await pool.query<{ instance: string }>('SELECT instance FROM gateway_instances ORDER BY instance')).rows.map(
          (row) => row.instance,
        )
      t.same(await leases(), ['a'], 'b’s expired lease is forgotten once nothing of b is open')
      const third = batchAt(frontier, 4, 1, 'a', ['intent'])
      await a.appendBatch(third.leaves, third.nodes)
      const twice = batchAt(frontier.clone(), 5, 2, 'a', ['outcome', 'outcome'], [4, 4])
      await t.rejects(a.appendBatch(twice.leaves, twice.nodes), { name: 'ChangeConflict', index: 6 }, 'two in a batch')
      t.same(await a.openIntents(), [4], 'neither is written')
      t.same(await b.orphanedIntents(at(2500)), [], 'a’s lease holds')
      await a.releaseLease()
      t.same(await b.orphanedIntents(at(2500)), [{ index: 4, instance: 'a' }], 'released: at once b’s to close')
    },
  )

  t.test('the log tables are append-only, whatever the statement', async (t) => {
    const { pool } = await migrated(t)
    const store = new PostgresLogStore(pool)
    const batch = batchAt(new Frontier(), 0, 2)
    await store.appendBatch(batch.leaves, batch.nodes)
    await store.putCheckpoint({ size: 2, root: Buffer.alloc(32), text: 'cp\n' })
    for (const sql of [
      'UPDATE log_entries SET action = $$x$$',
      'DELETE FROM log_entries',
      'TRUNCATE log_entries',
      'UPDATE log_nodes SET hash = $$\\x00$$',
      'DELETE FROM log_nodes',
      'TRUNCATE log_nodes CASCADE',
      'UPDATE log_checkpoints SET text = $$forged$$',
      'DELETE FROM log_checkpoints',
      'TRUNCATE log_checkpoints',
      `INSERT INTO log_entries (idx, leaf, leaf_hash, time, action, decision, phase)
        VALUES (0, $$\\x00$$, $$\\x00$$, $$t$$, $$a$$, $$d$$, $$p$$)
        ON CONFLICT (idx) DO UPDATE SET leaf = EXCLUDED.leaf`,
      'UPDATE log_head SET size = 1',
      'UPDATE log_head SET size = 5',
      'DELETE FROM log_head',
    ]) {
      await t.rejects(pool.query(sql), { message: /access log (is append-only|head)/ }, sql.split('\n')[0]!)
    }
    t.equal(await store.size(), 2, 'the log is as it was')
    t.same(await store.readLeaf(0), batch.leaves[0]!.leaf)
  })

  t.test('probe: the head lock can be taken, nothing is written; intents of a day by time', async (t) => {
    const { pool } = await migrated(t)
    const store = new PostgresLogStore(pool)
    await store.probe()
    t.equal(await store.size(), 0, 'the probe wrote nothing')
    const batch = batchAt(new Frontier(), 0, 3)
    batch.leaves[0]!.meta = { ...batch.leaves[0]!.meta, phase: 'intent', action: 'document.read', actor: 'a', org: '1' }
    batch.leaves[1]!.meta = { ...batch.leaves[1]!.meta, phase: 'intent', action: 'document.read', decision: 'deny' }
    batch.leaves[2]!.meta = {
      ...batch.leaves[2]!.meta,
      phase: 'intent',
      action: 'document.read',
      actor: 'b',
      org: '1',
      time: '2026-01-02T00:00:00.000Z',
    }
    await store.appendBatch(batch.leaves, batch.nodes)
    t.same(
      await store.allowedIntentsSince('document.read', '1970-01-01T00:00:00.000Z'),
      [
        { org: '1', actor: 'b', time: '2026-01-02T00:00:00.000Z' },
        { org: '1', actor: 'a', time: '1970-01-01T00:00:00.000Z' },
      ],
      'allowed ones only, newest first',
    )
    t.same(
      await store.allowedIntentsSince('document.read', '2026-01-01T00:00:00.000Z'),
      [{ org: '1', actor: 'b', time: '2026-01-02T00:00:00.000Z' }],
      'since a time',
    )
    const holder = await pool.connect()
    t.teardown(() => holder.release())
    await holder.query('BEGIN')
    await holder.query('SELECT size FROM log_head FOR UPDATE')
    await t.rejects(store.probe(), { message: /lock timeout/ }, 'a head held elsewhere fails the probe')
    await holder.query('ROLLBACK')
    await store.probe()
    await store.close()
    await t.rejects(store.probe(), /closed/)
  })

  t.test('the gateway role may append to the log but never change or remove a row', async (t) => {
    const { url } = await migrated(t)
    const gateway = createPool(asRole(url, 'cfg_gateway'), 1)
    t.teardown(() => gateway.end())
    const store = new PostgresLogStore(gateway)
    const batch = batchAt(new Frontier(), 0, 2)
    await store.appendBatch(batch.leaves, batch.nodes)
    t.equal(await store.size(), 2, 'appends')
    await store.putCheckpoint({ size: 2, root: Buffer.alloc(32), text: 'cp\n' })
    for (const table of ['log_entries', 'log_nodes', 'log_checkpoints']) {
      for (const sql of [
        `UPDATE ${table} SET ${table === 'log_checkpoints' ? 'text' : 'idx'} = 7`,
        `DELETE FROM ${table}`,
        `TRUNCATE ${table}`,
      ]) {
        await t.rejects(gateway.query(sql), { code: '42501', message: /permission denied/ }, sql)
      }
    }
    await t.rejects(gateway.query('DELETE FROM log_head'), { code: '42501' }, 'nor the head')
    await t.rejects(
      gateway.query('DROP TRIGGER log_entries_append_only ON log_entries'),
      { code: '42501' },
      'nor drop a trigger',
    )
    // What it needs of the lease tables: to hold a lease, open and close intents, and find orphaned ones.
    await store.renewLease(new Date(), 60_000)
    const frontier = await frontierAt(store, 2)
    const read = batchAt(frontier, 2, 2, 'role', ['intent', 'outcome'], [undefined, 2])
    await store.appendBatch(read.leaves, read.nodes)
    t.same(await store.orphanedIntents(new Date()), [], 'intents opened and closed')
    await store.releaseLease()
  })

  t.test('two sequencers on one database: every append lands once, in one tree that verifies', async (t) => {
    const { url, pool } = await migrated(t)
    const other = createPool(url, 4)
    t.teardown(() => other.end())
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
    const options = { origin: 'replicas.test/log', signingKey: privateKey, publicKey, checkpointIntervalMs: 60_000 }
    const first = await TransparencyLog.open({ ...options, store: new PostgresLogStore(pool) })
    const second = await TransparencyLog.open({ ...options, store: new PostgresLogStore(other) })
    const event = (by: string, n: number) =>
      ({ action: 'grant.create', phase: 'event', decision: 'allow', detail: { by, n } }) as const
    // Interleaved turns of appends from both: each turn is one batch per sequencer, racing for the head.
    const indexes: number[] = []
    for (let turn = 0; turn < 10; turn++) {
      const appended = await Promise.all([
        ...Array.from({ length: 5 }, (_, n) => first.append(event('first', turn * 5 + n))),
        ...Array.from({ length: 5 }, (_, n) => second.append(event('second', turn * 5 + n))),
      ])
      indexes.push(...appended)
    }
    t.same(
      [...indexes].sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i),
      'every append has its own index, with no gap',
    )
    await first.close()
    await second.close()
    const reopened = await TransparencyLog.open({ ...options, store: new PostgresLogStore(pool) })
    t.equal(reopened.size(), 100)
    const frontier = new Frontier()
    let previous: string | undefined
    let chained = true
    for await (const { leaf } of reopened.leaves(0, 100)) {
      if (JSON.parse(leaf.toString()).prev !== previous) chained = false
      const hash = leafHash(leaf)
      previous = hash.toString('base64')
      frontier.push(hash)
    }
    t.ok(chained, 'each entry names the one before it')
    t.same(reopened.latestCheckpoint().root, frontier.root(), 'the last checkpoint signs the tree of all 100')
    await reopened.close()
  })

  t.test(
    'a batch another process overtook is placed on the committed tree under the head lock, not refused',
    async (t) => {
      const { url, pool } = await migrated(t)
      const other = createPool(url, 2)
      t.teardown(() => other.end())
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
      const options = { origin: 'replicas.test/log', signingKey: privateKey, publicKey, checkpointIntervalMs: 60_000 }
      const counts = { rebased: 0, refused: 0 }
      class Counting extends PostgresLogStore {
        override appendBatch(leaves: LeafRecord[], nodes: TreeNode[], rebase?: Rebase): Promise<void> {
          const counted: Rebase | undefined =
            rebase &&
            ((size, read) => {
              counts.rebased++
              return rebase(size, read)
            })
          const committed = super.appendBatch(leaves, nodes, counted)
          committed.catch(() => counts.refused++)
          return committed
        }
      }
      const ahead = await TransparencyLog.open({ ...options, store: new Counting(pool) })
      const behind = await TransparencyLog.open({ ...options, store: new Counting(other) })
      t.teardown(() => Promise.all([ahead.close(), behind.close()]))
      const event = (who: string, n: number) => ({
        action: 'grant.create',
        phase: 'event' as const,
        decision: 'allow' as const,
        detail: { who, n },
      })
      t.same(await Promise.all([0, 1, 2].map((n) => ahead.append(event('ahead', n)))), [0, 1, 2])
      // Built on the empty log it last saw: several batches (slices of 128), every one of them overtaken.
      const indexes = await Promise.all(Array.from({ length: 300 }, (_, n) => behind.append(event('behind', n))))
      t.same(
        indexes,
        Array.from({ length: 300 }, (_, n) => 3 + n),
        'placed after the committed entries, in order',
      )
      t.ok(counts.rebased >= 1, `rebased in the transaction (${counts.rebased} batches)`)
      t.equal(counts.refused, 0, 'no batch refused, none sequenced twice')
      t.equal(behind.size(), 303, 'its durable tree includes the entries it was overtaken by')
      t.equal(await ahead.append(event('ahead', 3)), 303, 'and the first process is placed after those')
      await ahead.close()
      await behind.close()
      const reopened = await TransparencyLog.open({ ...options, store: new PostgresLogStore(pool) })
      t.teardown(() => reopened.close())
      const frontier = new Frontier()
      let previous: string | undefined
      let chained = true
      for await (const { leaf } of reopened.leaves(0, 304)) {
        if (JSON.parse(leaf.toString()).prev !== previous) chained = false
        const hash = leafHash(leaf)
        previous = hash.toString('base64')
        frontier.push(hash)
      }
      t.ok(chained, 'each entry names the one before it')
      t.equal(reopened.size(), 304)
      t.same(reopened.latestCheckpoint().root, frontier.root(), 'the checkpoints sign the tree of the stored leaves')
    },
  )

  t.test(
    'a sequencer that appends nothing learns of the others’ appends: its size and checkpoint follow',
    async (t) => {
      const { url, pool } = await migrated(t)
      const other = createPool(url, 2)
      t.teardown(() => other.end())
      const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
      const options = { origin: 'replicas.test/log', signingKey: privateKey, publicKey, checkpointIntervalMs: 20 }
      const writer = await TransparencyLog.open({ ...options, store: new PostgresLogStore(pool) })
      const reader = await TransparencyLog.open({ ...options, store: new PostgresLogStore(other) })
      t.teardown(() => Promise.all([writer.close(), reader.close()]))
      await Promise.all(
        Array.from({ length: 7 }, (_, n) =>
          writer.append({ action: 'grant.create', phase: 'event', decision: 'allow', detail: { n } }),
        ),
      )
      const caughtUp = await waitFor(
        () => (reader.latestCheckpoint().size === 7 ? reader.latestCheckpoint() : undefined),
        {
          deadlineMs: 120_000,
          what: 'a checkpoint of 7 entries from the sequencer that appended nothing',
        },
      )
      t.equal(reader.size(), 7, 'its size is the committed one')
      const [proof, written] = await Promise.all([reader.consistencyProof(3, 7), writer.consistencyProof(3, 7)])
      t.same(proof, written, 'its proofs are those of the one tree')
      t.same(
        caughtUp.root,
        (await waitFor(() => (writer.latestCheckpoint().size === 7 ? writer.latestCheckpoint() : undefined))).root,
      )
      // And it appends after them, without a refused batch first.
      t.equal(await reader.append({ action: 'grant.create', phase: 'event', decision: 'allow' }), 7)
    },
  )

  t.test('a batch queued behind a refused one is refused, even where the head moved to its index', async (t) => {
    const { url, pool } = await migrated(t)
    const other = createPool(url, 2)
    t.teardown(() => other.end())
    const mine = new PostgresLogStore(pool)
    const theirs = new PostgresLogStore(other)
    const committed = batchAt(new Frontier(), 0, 3, 'theirs')
    await theirs.appendBatch(committed.leaves, committed.nodes)
    // Mine, built on an empty log: the first starts at 0 (refused), the second at 3, where the head now is.
    const frontier = new Frontier()
    const first = batchAt(frontier, 0, 3, 'mine')
    const second = batchAt(frontier, 3, 2, 'mine')
    const outcomes = await Promise.allSettled([
      mine.appendBatch(first.leaves, first.nodes),
      mine.appendBatch(second.leaves, second.nodes),
    ])
    t.same(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
      'both are refused',
    )
    t.equal(await mine.size(), 3, 'nothing of mine is stored')
  })

  t.test('two processes append to one log: the head lock sequences them, the stale one is refused', async (t) => {
    const { url, pool } = await migrated(t)
    const other = createPool(url, 2)
    t.teardown(() => other.end())
    const mine = new PostgresLogStore(pool)
    const theirs = new PostgresLogStore(other)
    const base = new Frontier()
    // Both build on the empty log: one of them must be refused, whichever reaches the head first.
    const a = batchAt(base.clone(), 0, 3, 'a')
    const b = batchAt(base.clone(), 0, 5, 'b')
    const outcomes = await Promise.allSettled([
      mine.appendBatch(a.leaves, a.nodes),
      theirs.appendBatch(b.leaves, b.nodes),
    ])
    const won = outcomes.filter((o) => o.status === 'fulfilled').length
    t.equal(won, 1, 'exactly one commits')
    const size = await mine.size()
    t.equal(size, outcomes[0].status === 'fulfilled' ? 3 : 5, 'the size is the winner’s batch')
    t.match((outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason, {
      message: /append at 0 but the log size is [35]/,
    })
    const { rows } = await pool.query<{ count: number }>('SELECT COUNT(*)::int AS count FROM log_entries')
    t.equal(rows[0]!.count, size, 'no leaf of the refused batch is stored')

    // Many rounds of racing appends, each side retrying from the committed size: no gap, no index twice.
    const appendFrom = async (store: PostgresLogStore, tag: string) => {
      for (let done = 0; done < 10; ) {
        const at = await store.size()
        const frontier = await frontierAt(store, at)
        const batch = batchAt(frontier, at, 2, `${tag}${done}`)
        try {
          await store.appendBatch(batch.leaves, batch.nodes)
          done++
        } catch {
          // Another process appended first: build again on what is committed.
        }
      }
    }
    await Promise.all([appendFrom(mine, 'x'), appendFrom(theirs, 'y')])
    const final = await mine.size()
    t.equal(final, size + 40, 'every batch committed exactly once')
    const indexes = await pool.query<{ idx: number }>('SELECT idx FROM log_entries ORDER BY idx')
    t.same(
      indexes.rows.map((row) => row.idx),
      Array.from({ length: final }, (_, i) => i),
      'indexes 0..n-1, no gap',
    )
  })
}

function batchAt(
  frontier: Frontier,
  first: number,
  count: number,
  tag = '',
  phases: string[] = [],
  intents: Array<number | undefined> = [],
): { leaves: LeafRecord[]; nodes: TreeNode[] } {
  const leaves: LeafRecord[] = []
  const nodes: TreeNode[] = []
  for (let index = first; index < first + count; index++) {
    const leaf = Buffer.from(JSON.stringify({ n: index, tag }))
    const hash = leafHash(leaf)
    leaves.push({
      index,
      leaf,
      leafHash: hash,
      meta: {
        time: new Date(0).toISOString(),
        action: 'test',
        decision: 'allow',
        phase: phases[index - first] ?? 'event',
        intent: intents[index - first],
      },
    })
    nodes.push(...frontier.append(hash))
  }
  return { leaves, nodes }
}
async function frontierAt(store: PostgresLogStore, size: number): Promise<Frontier> {
  return withNodes(
    (positions) => store.readNodes(positions),
    (read) => new Frontier(size, read),
  )
}
