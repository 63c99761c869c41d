import crypto from 'node:crypto'
import type { Test } from 'tap'
import { TransparencyLog } from '../../src/accesslog/access-log.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import { Frontier, verifyConsistency, verifyInclusion } from '../../src/accesslog/merkle/tree.js'
import type { EntryFilter, LeafMeta, LeafRecord, LogStore, TreeNode } from '../../src/accesslog/store.js'
import type { Adapter } from '../../src/adapters/types.js'
import type { Grant } from '../../src/grants/types.js'
import { ChangeConflict, type StateChange } from '../../src/storage/state-change.js'
import type { Storage } from '../../src/storage/storage.js'

type Tap = Test

/**
 * The contract every storage backend keeps (src/storage/storage.ts, src/accesslog/store.ts): what is
 * durable, atomic and visible when, and what not-found looks like. `open` gives a fresh, empty storage each
 * time it is called; the suite closes what it opens.
 */
export function storeContract(t: Tap, open: () => Promise<Storage>): void {
  const fresh = async (tt: Tap) => {
    const storage = await open()
    tt.teardown(() => storage.close())
    return storage
  }

  t.test('an empty store', async (t) => {
    const { log, grants, adapters } = await fresh(t)
    t.equal(await log.size(), 0)
    t.equal(await log.latestCheckpoint(), undefined, 'no checkpoint')
    t.equal(await log.readLeaf(0), undefined, 'no leaf')
    t.same(await log.query({}, -1, 10), [])
    t.same(await log.openIntents(), [])
    t.same(await log.readNodes([]), [], 'no nodes asked, none read')
    await t.rejects(log.readNodes([{ level: 0, index: 0 }]), /missing tree node level 0 index 0/)
    t.same(await readAll(log.readLeaves(0, 10)), [])
    t.equal(await grants.get('nobody'), undefined, 'an unknown grant is undefined')
    t.same(await grants.list({ org: '230100' }, 10), [])
    t.equal(await adapters.get('nothing'), undefined, 'an unknown adapter is undefined')
    t.same(await adapters.list(), [])
  })

  t.test('appended leaves and nodes read back exactly', async (t) => {
    const { log } = await fresh(t)
    const tree = new Builder()
    const first = tree.batch([{ action: 'doc.read', phase: 'intent', actor: 'a' }, { action: 'grant.create' }])
    await log.appendBatch(first.leaves, first.nodes)
    const second = tree.batch([
      { action: 'doc.read', phase: 'outcome', intent: 0, actor: 'a' },
      { action: 'doc.read', phase: 'intent', actor: 'b', court: '黑01', caseNo: '（2023）黑01民终1号' },
      { action: 'grant.approve', decision: 'deny', grant: 'g1' },
    ])
    await log.appendBatch(second.leaves, second.nodes)
    t.equal(await log.size(), 5)
    for (const record of [...first.leaves, ...second.leaves]) {
      t.same(await log.readLeaf(record.index), record.leaf, `leaf ${record.index} as written`)
    }
    t.equal(await log.readLeaf(5), undefined, 'nothing past the end')
    const nodes = [...first.nodes, ...second.nodes].reverse()
    t.same(
      await log.readNodes(nodes.map(({ level, index }) => ({ level, index }))),
      nodes.map((node) => node.hash),
      'nodes in the order asked',
    )
    await t.rejects(
      log.readNodes([
        { level: 0, index: 1 },
        { level: 3, index: 0 },
      ]),
      /missing tree node level 3/,
    )
    t.same(
      (await readAll(log.readLeaves(1, 4))).map(({ index }) => index),
      [1, 2, 3],
      'a range of leaves, in order',
    )
    t.same(indexes(await log.query({ actor: 'a' }, -1, 10)), [0, 2], 'by actor')
    t.same(indexes(await log.query({ actor: 'a' }, 0, 10)), [2], 'after a cursor')
    t.same(indexes(await log.query({}, -1, 2)), [0, 1], 'at most the limit')
    t.same(indexes(await log.query({ court: '黑01', caseNo: '（2023）黑01民终1号' }, -1, 10)), [3], 'by case')
    t.same(indexes(await log.query({ grant: 'g1', decision: 'deny' }, -1, 10)), [4], 'by grant and decision')
    t.same(indexes(await log.query({ action: 'nothing' }, -1, 10)), [], 'no match')
    t.same(await log.openIntents(), [3], 'the intent no outcome refers to')
  })

  t.test('queries and open intents find every committed entry, however much of the log is indexed', async (t) => {
    // A backend may index the filter columns after the commit (SQLite: in batches, see sqlite-filters.ts);
    // committed entries must be found all the same, in order, across the index's end and across pages.
    const { log } = await fresh(t)
    const tree = new Builder()
    const metas: LeafMeta[] = []
    const expected = (filter: EntryFilter, after: number, limit: number) =>
      metas
        .map((meta, index) => ({ meta, index }))
        .filter(({ meta, index }) => index > after && matches(meta, filter))
        .slice(0, limit)
        .map(({ index }) => index)
    const filters: EntryFilter[] = [
      { actor: 'a' },
      { court: '黑01' },
      { court: '黑01', caseNo: '（2023）黑01民终2号' },
      { grant: 'g2', decision: 'deny' },
      { actor: 'b', action: 'doc.read', since: '2026-01-01T00:00:10.000Z', until: '2026-01-01T00:00:30.000Z' },
      { action: 'doc.read' },
    ]
    for (let b = 0; b < 13; b++) {
      const specs: LeafSpec[] = [0, 1, 2].map((k) => {
        const i = b * 3 + k
        return {
          action: i % 4 === 0 ? 'grant.create' : 'doc.read',
          actor: ['a', 'b', 'c'][i % 3],
          court: i % 2 === 0 ? '黑01' : '黑02',
          caseNo: `（2023）黑01民终${i % 5}号`,
          grant: `g${i % 3}`,
          decision: i % 7 === 0 ? 'deny' : 'allow',
          // Each intent's outcome ten entries later, so that the two fall on either side of the index's end.
          phase: i % 3 === 0 ? 'intent' : i % 3 === 1 && i >= 10 ? 'outcome' : 'event',
          intent: i % 3 === 1 && i >= 10 ? i - 10 : undefined,
        }
      })
      const batch = tree.batch(specs)
      await log.appendBatch(batch.leaves, batch.nodes)
      metas.push(...batch.leaves.map((record) => record.meta))
      t.same(indexes(await log.query({ actor: 'a' }, -1, 100)), expected({ actor: 'a' }, -1, 100), `after batch ${b}`)
      const closed = new Set(metas.map((meta) => meta.intent))
      const open = metas.flatMap((meta, index) => (meta.phase === 'intent' && !closed.has(index) ? [index] : []))
      t.same(await log.openIntents(), open, `open intents after batch ${b}`)
    }
    for (const filter of filters) {
      for (const limit of [1, 3, 100]) {
        // Paging with the last index as the cursor, as the audit API does.
        const paged: number[] = []
        for (let after = -1; ; ) {
          const page = indexes(await log.query(filter, after, limit))
          paged.push(...page)
          if (page.length < limit) break
          after = page.at(-1)!
        }
        t.same(paged, expected(filter, -1, metas.length), `${JSON.stringify(filter)} by pages of ${limit}`)
      }
      for (const after of [-1, 5, 17, 30, 38]) {
        t.same(
          indexes(await log.query(filter, after, 4)),
          expected(filter, after, 4),
          `${JSON.stringify(filter)} after ${after}`,
        )
      }
    }
  })

  t.test(
    'the allowed intents of an action since a time, newest first: what a quota counter restarts from',
    async (t) => {
      const { log } = await fresh(t)
      const tree = new Builder()
      const batch = tree.batch([
        { action: 'document.read', phase: 'intent', actor: 'a' },
        { action: 'document.read', phase: 'intent', actor: 'b', decision: 'deny' },
        { action: 'grant.create', phase: 'intent', actor: 'c' },
        { action: 'document.read', phase: 'event', actor: 'd' },
        { action: 'document.read', phase: 'outcome', actor: 'a', intent: 0 },
        { action: 'document.read', phase: 'intent', actor: 'e' },
      ])
      await log.appendBatch(batch.leaves, batch.nodes)
      const at = (index: number) => batch.leaves[index]!.meta.time
      t.same(
        await log.allowedIntentsSince('document.read', at(0)),
        [
          { org: '230100', actor: 'e', time: at(5) },
          { org: '230100', actor: 'a', time: at(0) },
        ],
        'allowed intents of the action only',
      )
      t.same(
        await log.allowedIntentsSince('document.read', at(1)),
        [{ org: '230100', actor: 'e', time: at(5) }],
        'none before the time',
      )
      t.same(await log.allowedIntentsSince('document.read', '2027-01-01T00:00:00.000Z'), [], 'none after the last')
    },
  )

  t.test("a process's own open intents are never orphaned, whatever the clock says", async (t) => {
    const { log } = await fresh(t)
    t.type(log.instance, 'string')
    t.ok(log.instance.length > 0, 'the store names its process')
    await log.renewLease(new Date('2026-01-01T00:00:00.000Z'), 1000)
    const tree = new Builder()
    const batch = tree.batch([
      { action: 'document.read', phase: 'intent', actor: 'a' },
      { action: 'document.read', phase: 'intent', actor: 'b' },
      { action: 'document.read', phase: 'outcome', actor: 'a', intent: 0 },
    ])
    await log.appendBatch(batch.leaves, batch.nodes)
    const later = new Date('2030-01-01T00:00:00.000Z')
    t.same(await log.openIntents(), [1], 'one intent is open')
    t.same(await log.orphanedIntents(later), [], 'but it is this process’s own, long after its lease expired')
    await log.releaseLease()
    t.same(await log.orphanedIntents(later), [], 'and after the lease is given up')
  })

  t.test('a batch that does not start at the committed size is refused, nothing written', async (t) => {
    const { log } = await fresh(t)
    const tree = new Builder()
    const batch = tree.batch([{}, {}])
    await log.appendBatch(batch.leaves, batch.nodes)
    const gap = new Builder(3).batch([{}])
    await t.rejects(log.appendBatch(gap.leaves, gap.nodes))
    const overlap = new Builder(1).batch([{}])
    await t.rejects(log.appendBatch(overlap.leaves, overlap.nodes))
    t.equal(await log.size(), 2)
    t.same(await log.readLeaf(1), batch.leaves[1]!.leaf, 'the committed leaf is unchanged')
  })

  t.test('checkpoints: the largest is the latest; a second one of a size is ignored', async (t) => {
    const { log } = await fresh(t)
    const a = { size: 1, root: Buffer.alloc(32, 1), text: 'one\n' }
    await log.putCheckpoint(a)
    t.same(await log.latestCheckpoint(), a)
    await log.putCheckpoint({ size: 1, root: Buffer.alloc(32, 9), text: 'other\n' })
    t.same(await log.latestCheckpoint(), a, 'the first of its size stays')
    const b = { size: 5, root: Buffer.alloc(32, 2), text: 'five\n' }
    await log.putCheckpoint(b)
    t.same(await log.latestCheckpoint(), b)
  })

  t.test('proofs of a log on this store verify, each read in one round trip', async (t) => {
    const storage = await fresh(t)
    let roundTrips = 0
    const store = storage.log
    const counted: LogStore = {
      size: () => store.size(),
      appendBatch: (leaves, nodes) => store.appendBatch(leaves, nodes),
      probe: () => store.probe(),
      readNodes: (positions) => {
        roundTrips++
        return store.readNodes(positions)
      },
      readLeaf: (index) => store.readLeaf(index),
      readLeaves: (from, to) => store.readLeaves(from, to),
      query: (filter, after, limit) => store.query(filter, after, limit),
      openIntents: () => store.openIntents(),
      instance: store.instance,
      renewLease: (now, ttlMs) => store.renewLease(now, ttlMs),
      releaseLease: () => store.releaseLease(),
      orphanedIntents: (now) => store.orphanedIntents(now),
      allowedIntentsSince: (action, since) => store.allowedIntentsSince(action, since),
      putCheckpoint: (checkpoint) => store.putCheckpoint(checkpoint),
      latestCheckpoint: () => store.latestCheckpoint(),
      close: () => store.close(),
    }
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
    const options = { origin: 'contract.test/log', signingKey: privateKey, publicKey, checkpointIntervalMs: 60_000 }
    const log = await TransparencyLog.open({ ...options, store: counted })
    const appended = await Promise.all(
      Array.from({ length: 37 }, (_, n) =>
        log.append({ action: 'doc.read', phase: 'event', decision: 'allow', detail: { n } }),
      ),
    )
    t.same(
      appended,
      Array.from({ length: 37 }, (_, n) => n),
    )
    const roots = new Map<number, Buffer>()
    const frontier = new Frontier()
    for await (const { leaf } of log.leaves(0, 37)) {
      frontier.push(leafHash(leaf))
      roots.set(frontier.size, frontier.root())
    }
    // [index, size, round trips]: a tree of one leaf needs no node at all.
    for (const [index, size, trips] of [
      [0, 1, 0],
      [5, 37, 1],
      [36, 37, 1],
      [16, 17, 1],
    ] as const) {
      roundTrips = 0
      const proof = await log.inclusionProof(index, size)
      t.equal(roundTrips, trips, `inclusion of ${index} in ${size}: ${trips} round trip(s)`)
      const leaf = (await log.get(index))!.leaf
      t.ok(verifyInclusion(leafHash(leaf), index, size, proof, roots.get(size)!), `inclusion of ${index} in ${size}`)
    }
    roundTrips = 0
    const consistency = await log.consistencyProof(13, 37)
    t.equal(roundTrips, 1, 'consistency: one round trip')
    t.ok(verifyConsistency(13, 37, consistency, roots.get(13)!, roots.get(37)!), 'consistency of 13 and 37')
    await log.close()
    t.equal((await store.latestCheckpoint())?.size, 37, 'the final checkpoint is stored')
    const again = await TransparencyLog.open({ ...options, store: storage.log })
    t.equal(again.size(), 37, 'reopened on the same tree')
    t.same(again.latestCheckpoint().root, roots.get(37))
  })

  t.test('grants are opened and replaced through changes, with conditions', async (t) => {
    const { log, grants } = await fresh(t)
    const tree = new Builder()
    const g1 = grantOf('g1')
    await append(log, tree, [{ kind: 'grant.open', grant: g1 }])
    t.same(await grants.get('g1'), g1, 'opened with its entry')
    t.same(await grants.findOpen('zhang.wei', '230100', g1.caseNo, 'S-1', new Date('2026-06-01')), g1, 'open')
    t.equal(
      await grants.findOpen('zhang.wei', '230100', g1.caseNo, 'S-1', new Date('2027-06-01')),
      undefined,
      'not open once expired',
    )
    t.equal(await grants.findOpen('li.na', '230100', g1.caseNo, 'S-1', new Date('2026-06-01')), undefined)

    await refused(t, log, tree, { kind: 'grant.open', grant: grantOf('g1', { supervisionCase: 'S-9' }) }, 'same id')
    await refused(t, log, tree, { kind: 'grant.open', grant: grantOf('twin') }, 'an open twin')
    const approved: Grant = { ...g1, status: 'active', approvedBy: 'wang.fang' }
    await refused(t, log, tree, { kind: 'grant.replace', grant: approved, expected: { ...g1, reason: 'x' } }, 'stale')
    t.same(await grants.get('g1'), g1, 'unchanged by refused changes')

    const g2 = grantOf('g2', { supervisionCase: 'S-2', createdBy: 'li.na', members: ['zhang.wei'] })
    const g3 = grantOf('g3', { supervisionCase: 'S-3', org: '230200', createdAt: '2026-02-01T00:00:00.000Z' })
    await append(log, tree, [
      { kind: 'grant.replace', grant: approved, expected: g1 },
      { kind: 'grant.open', grant: g2 },
      { kind: 'grant.open', grant: g3 },
    ])
    t.same(await grants.get('g1'), approved, 'replaced')
    t.same(ids(await grants.list({ org: '230100' }, 10)), ['g1', 'g2'].sort(), 'by organisation')
    t.same(ids(await grants.list({ org: '230100', status: 'active' }, 10)), ['g1'], 'by status')
    t.same(ids(await grants.list({ org: '230100', person: 'zhang.wei' }, 10)), ['g1', 'g2'], 'creator or member')
    t.same(ids(await grants.list({ org: '230100', person: 'li.na' }, 10)), ['g2'])
    t.equal((await grants.list({ org: '230100' }, 1)).length, 1, 'at most the limit')
    t.same(ids(await grants.list({ org: '230200' }, 10)), ['g3'])
    t.equal(await log.size(), 4, 'one entry per change that held')
  })

  t.test('adapters are registered and replaced through changes, with conditions', async (t) => {
    const { log, adapters } = await fresh(t)
    const tree = new Builder()
    const a1 = adapterOf('a1', '2026-01-01T00:00:00.000Z')
    const a2 = adapterOf('a2', '2026-01-02T00:00:00.000Z')
    await append(log, tree, [
      { kind: 'adapter.register', adapter: a2 },
      { kind: 'adapter.register', adapter: a1 },
    ])
    t.same(await adapters.get('a1'), a1)
    t.same(
      (await adapters.list()).map((a) => a.id),
      ['a1', 'a2'],
      'listed in order of registration time',
    )
    await refused(t, log, tree, { kind: 'adapter.register', adapter: { ...a1, court: '黑02' } }, 'same id')
    const active: Adapter = { ...a1, status: 'active', activatedAt: '2026-03-01T00:00:00.000Z' }
    await refused(
      t,
      log,
      tree,
      { kind: 'adapter.replace', adapter: active, expected: a1, unchanged: [{ ...a2, status: 'active' }] },
      'another registration changed',
    )
    await refused(t, log, tree, { kind: 'adapter.replace', adapter: active, expected: a2 }, 'stale')
    t.same(await adapters.get('a1'), a1, 'unchanged by refused changes')
    await append(log, tree, [{ kind: 'adapter.replace', adapter: active, expected: a1, unchanged: [a2] }])
    t.same(await adapters.get('a1'), active, 'replaced')
  })

  t.test('a change sees the changes before it in its batch; a conflict names its leaf', async (t) => {
    const { log, grants } = await fresh(t)
    const tree = new Builder()
    const g1 = grantOf('g1')
    const active: Grant = { ...g1, status: 'active' }
    const batch = tree.batch(
      [{}, {}, {}],
      [
        { kind: 'grant.open', grant: g1 },
        { kind: 'grant.replace', grant: active, expected: g1 },
        { kind: 'grant.replace', grant: { ...g1, status: 'rejected' }, expected: g1 },
      ],
    )
    const failure = await log.appendBatch(batch.leaves, batch.nodes).catch((error: unknown) => error)
    t.type(failure, ChangeConflict)
    t.equal((failure as ChangeConflict).index, 2, 'the third leaf')
    t.equal(await log.size(), 0, 'the whole batch rolled back')
    t.equal(await grants.get('g1'), undefined, 'with the changes before the conflict')
    tree.reset(0)
    await append(log, tree, [
      { kind: 'grant.open', grant: g1 },
      { kind: 'grant.replace', grant: active, expected: g1 },
    ])
    t.same(await grants.get('g1'), active, 'in leaf order')
  })

  t.test('pipelined batches: after a refused one, every batch built on it is refused too', async (t) => {
    const { log, grants } = await fresh(t)
    const tree = new Builder()
    const first = tree.batch([{}, {}])
    const second = tree.batch([{}], [{ kind: 'grant.replace', grant: grantOf('gx'), expected: grantOf('gy') }])
    const third = tree.batch([{}, {}], [{ kind: 'grant.open', grant: grantOf('g3') }, undefined])
    const outcomes = await Promise.allSettled([
      log.appendBatch(first.leaves, first.nodes),
      log.appendBatch(second.leaves, second.nodes),
      log.appendBatch(third.leaves, third.nodes),
    ])
    t.equal(outcomes[0].status, 'fulfilled', 'the first commits')
    t.type((outcomes[1] as PromiseRejectedResult).reason, ChangeConflict, 'the second conflicts')
    t.equal(outcomes[2].status, 'rejected', 'the third, built on the second, is refused')
    t.equal(await log.size(), 2)
    t.equal(await grants.get('g3'), undefined, "the third batch's change is not made")
    tree.reset(2)
    const next = tree.batch([{}])
    await log.appendBatch(next.leaves, next.nodes)
    t.equal(await log.size(), 3, 'appending resumes at the committed size')
  })

  t.test('appends after close are refused', async (t) => {
    const storage = await open()
    const batch = new Builder().batch([{}])
    await storage.log.close()
    await t.rejects(storage.log.appendBatch(batch.leaves, batch.nodes))
    await storage.close()
  })
}

interface LeafSpec {
  action?: string
  phase?: string
  decision?: string
  actor?: string
  court?: string
  caseNo?: string
  grant?: string
  intent?: number
}

/** Builds batches of leaves and the tree nodes they complete, as the sequencer does. */
class Builder {
  #frontier: Frontier
  #next = 0

  constructor(start = 0) {
    this.#frontier = new Frontier()
    // Leaves before `start` are never sent: such a builder only makes batches the store must refuse.
    for (let i = 0; i < start; i++) this.#frontier.push(leafHash(Buffer.from(`filler ${i}`)))
    this.#next = start
  }

  /** Starts again from `size` committed leaves (the leaves of this suite are a function of their index). */
  reset(size: number): void {
    this.#frontier = new Frontier()
    for (let i = 0; i < size; i++) this.#frontier.push(leafHash(leafAt(i)))
    this.#next = size
  }

  batch(specs: LeafSpec[], changes: Array<StateChange | undefined> = []): { leaves: LeafRecord[]; nodes: TreeNode[] } {
    const leaves: LeafRecord[] = []
    const nodes: TreeNode[] = []
    for (const [i, spec] of specs.entries()) {
      const index = this.#next++
      const leaf = leafAt(index)
      const hash = leafHash(leaf)
      const meta: LeafMeta = {
        time: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
        action: spec.action ?? 'grant.create',
        decision: spec.decision ?? 'allow',
        phase: spec.phase ?? 'event',
        actor: spec.actor,
        org: spec.actor ? '230100' : undefined,
        court: spec.court,
        caseNo: spec.caseNo,
        grant: spec.grant,
        intent: spec.intent,
      }
      leaves.push({ index, leaf, leafHash: hash, meta, change: changes[i] })
      nodes.push(...this.#frontier.append(hash))
    }
    return { leaves, nodes }
  }
}

function leafAt(index: number): Buffer {
  return Buffer.from(JSON.stringify({ n: index }))
}

async function append(log: Storage['log'], tree: Builder, changes: StateChange[]): Promise<void> {
  const batch = tree.batch(
    changes.map(() => ({})),
    changes,
  )
  await log.appendBatch(batch.leaves, batch.nodes)
}

/** Appends one entry carrying `change`, expects a ChangeConflict at its index and nothing written. */
async function refused(t: Tap, log: Storage['log'], tree: Builder, change: StateChange, why: string): Promise<void> {
  const size = await log.size()
  const batch = tree.batch([{}], [change])
  const failure = await log.appendBatch(batch.leaves, batch.nodes).then(
    () => undefined,
    (error: unknown) => error,
  )
  t.type(failure, ChangeConflict, `refused: ${why}`)
  t.equal((failure as ChangeConflict | undefined)?.index, size, 'the conflict names its leaf')
  t.equal(await log.size(), size, 'and nothing of it is written')
  tree.reset(size)
}

async function readAll<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of iterable) out.push(item)
  return out
}

const indexes = (rows: Array<{ index: number }>) => rows.map((row) => row.index)
const ids = (grants: Grant[]) => grants.map((grant) => grant.id).sort()

function grantOf(id: string, overrides: Partial<Grant> = {}): Grant {
  return {
    id,
    status: 'pending',
    court: '黑01',
    caseNo: '（2023）黑01民终1234号',
    supervisionCase: 'S-1',
    volumes: ['main', 'sub'],
    reason: '监督',
    org: '230100',
    createdBy: 'zhang.wei',
    members: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    ...overrides,
  }
}

function adapterOf(id: string, createdAt: string): Adapter {
  return {
    id,
    court: '黑01',
    baseUrl: `https://${id}.example.test`,
    covers: [],
    stores: ['trial', 'execution'],
    status: 'pending',
    createdBy: 'admin',
    createdAt,
    updatedAt: createdAt,
  }
}

/** What a filter means, spelled out: each field given is equal, and the time is in [since, until). */
function matches(meta: LeafMeta, filter: EntryFilter): boolean {
  const fields: Array<[string | undefined, string | undefined]> = [
    [filter.actor, meta.actor],
    [filter.org, meta.org],
    [filter.court, meta.court],
    [filter.caseNo, meta.caseNo],
    [filter.grant, meta.grant],
    [filter.action, meta.action],
    [filter.decision, meta.decision],
  ]
  return (
    fields.every(([wanted, value]) => wanted === undefined || wanted === value) &&
    (filter.since === undefined || meta.time >= filter.since) &&
    (filter.until === undefined || meta.time < filter.until)
  )
}
