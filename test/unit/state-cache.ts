import t from 'tap'
import type { AdapterStore } from '../../src/adapters/store.js'
import type { Adapter } from '../../src/adapters/types.js'
import type { GrantStore } from '../../src/grants/store.js'
import type { Grant } from '../../src/grants/types.js'
import { type ChangeFeed, type ChangeListener, type RemoteChange, StateCache } from '../../src/storage/state-cache.js'

/**
 * The in-memory grants and adapter registry of the read path (src/storage/state-cache.ts), against stores
 * whose answers the test holds back and releases: a record is read once and then served from memory, every
 * change drops what it touches before its caller hears of it, and a load that raced a change is never kept.
 */

function grant(id: string, status: Grant['status'] = 'active'): Grant {
  return {
    id,
    status,
    court: '黑01',
    caseNo: '（2023）黑01民终1234号',
    supervisionCase: 'S-1',
    volumes: ['main'],
    reason: 'r',
    org: '230100',
    createdBy: 'zhang.wei',
    members: [],
    createdAt: '2024-03-01T00:00:00.000Z',
    expiresAt: '2024-06-01T00:00:00.000Z',
  }
}

function adapter(id: string, status: Adapter['status'] = 'active'): Adapter {
  return {
    id,
    court: '黑01',
    baseUrl: 'https://court.example',
    covers: [],
    stores: ['trial'],
    status,
    createdBy: 'admin',
    createdAt: '2024-03-01T00:00:00.000Z',
    updatedAt: '2024-03-01T00:00:00.000Z',
  }
}

/** Stores over plain maps that count their reads; with `hold`, each read waits until the test releases it. */
function stores() {
  const grants = new Map<string, Grant>()
  const adapters = new Map<string, Adapter>()
  const reads = { grant: 0, adapters: 0 }
  let holding = false
  const held: Array<() => void> = []
  const answer = <T>(value: () => T): Promise<T> =>
    holding ? new Promise((resolve) => held.push(() => resolve(value()))) : Promise.resolve(value())
  const grantStore: GrantStore = {
    get: (id) => {
      reads.grant++
      // The record as stored when the read happens (a held read reads at its start, like a query's snapshot).
      const stored = grants.get(id)
      return answer(() => (stored ? structuredClone(stored) : undefined))
    },
    list: async () => [...grants.values()],
    findOpen: async () => undefined,
  }
  const adapterStore: AdapterStore = {
    get: async (id) => structuredClone(adapters.get(id)),
    list: () => {
      reads.adapters++
      const stored = [...adapters.values()].map((a) => structuredClone(a))
      return answer(() => stored)
    },
  }
  return {
    grants,
    adapters,
    reads,
    stores: { grants: grantStore, adapters: adapterStore },
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const resume of held.splice(0)) resume()
    },
  }
}

t.test('a grant is read from the store once, then from memory, frozen', async (t) => {
  const s = stores()
  s.grants.set('g1', grant('g1'))
  const cache = new StateCache(s.stores)
  const first = await cache.grants.get('g1')
  const second = await cache.grants.get('g1')
  t.equal(s.reads.grant, 1, 'one read of the store')
  t.equal(second, first, 'the kept record')
  t.ok(Object.isFrozen(first) && Object.isFrozen(first!.members), 'frozen, arrays too')
  t.throws(() => {
    ;(first as { status: string }).status = 'revoked'
  }, TypeError)
  t.equal(await cache.grants.get('missing'), undefined)
  t.equal(await cache.grants.get('missing'), undefined)
  t.equal(s.reads.grant, 3, 'a grant that does not exist is not kept')
})

t.test('a settled change drops the record: the next read sees the store', async (t) => {
  const s = stores()
  s.grants.set('g1', grant('g1'))
  const cache = new StateCache(s.stores)
  t.equal((await cache.grants.get('g1'))?.status, 'active')
  // The log's store commits the revocation, then tells the cache before the revoking caller hears.
  s.grants.set('g1', grant('g1', 'revoked'))
  cache.settled({ kind: 'grant.replace', grant: grant('g1', 'revoked'), expected: grant('g1') })
  t.equal((await cache.grants.get('g1'))?.status, 'revoked')
  t.equal(s.reads.grant, 2)
  // Another grant's change leaves this one in memory.
  cache.settled({ kind: 'grant.open', grant: grant('g2') })
  await cache.grants.get('g1')
  t.equal(s.reads.grant, 2)
})

t.test('a load under way when a change settles is answered but not kept', async (t) => {
  const s = stores()
  s.grants.set('g1', grant('g1'))
  const cache = new StateCache(s.stores)
  s.hold()
  const racing = cache.grants.get('g1')
  // The revocation commits and settles while the read of the old record is still on its way.
  s.grants.set('g1', grant('g1', 'revoked'))
  cache.settled({ kind: 'grant.replace', grant: grant('g1', 'revoked'), expected: grant('g1') })
  s.release()
  t.equal((await racing)?.status, 'active', 'the racing read began before the change: it may see the old record')
  t.equal((await cache.grants.get('g1'))?.status, 'revoked', 'but the old record was not kept')
  t.equal(s.reads.grant, 2)
})

t.test('the adapter registry is loaded once for all readers, and dropped by any adapter change', async (t) => {
  const s = stores()
  s.adapters.set('a1', adapter('a1'))
  s.adapters.set('a2', adapter('a2', 'pending'))
  const cache = new StateCache(s.stores)
  s.hold()
  const together = [cache.adapters.list(), cache.adapters.get('a1'), cache.adapters.list()]
  s.release()
  const [list, one] = await Promise.all(together)
  t.equal(s.reads.adapters, 1, 'readers arriving during a load share it')
  t.same(
    (list as Adapter[]).map((a) => a.id),
    ['a1', 'a2'],
  )
  t.equal((one as Adapter).status, 'active')
  t.ok(Object.isFrozen(list), 'the list is frozen')
  t.throws(() => (list as Adapter[]).sort(), TypeError)
  t.equal(await cache.adapters.get('nope'), undefined)
  t.equal(s.reads.adapters, 1)

  s.adapters.set('a1', adapter('a1', 'suspended'))
  cache.settled({ kind: 'adapter.replace', adapter: adapter('a1', 'suspended'), expected: adapter('a1') })
  t.equal((await cache.adapters.get('a1'))?.status, 'suspended')
  t.equal(s.reads.adapters, 2)
  // A grant's change leaves the registry in memory.
  cache.settled({ kind: 'grant.open', grant: grant('g9') })
  await cache.adapters.list()
  t.equal(s.reads.adapters, 2)

  // A load under way when a registration settles is not kept, and readers after the change do not join it.
  s.hold()
  cache.drop('adapter:a2')
  const racing = cache.adapters.get('a2')
  s.adapters.set('a2', adapter('a2', 'active'))
  cache.settled({ kind: 'adapter.replace', adapter: adapter('a2', 'active'), expected: adapter('a2', 'pending') })
  const after = cache.adapters.get('a2')
  s.release()
  t.equal((await racing)?.status, 'pending', 'began before the change')
  t.equal((await after)?.status, 'active', 'began after it: a load of its own')
  t.equal((await cache.adapters.get('a2'))?.status, 'active')
})

t.test('grants beyond the bound: the least recently read is dropped', async (t) => {
  const s = stores()
  for (const id of ['g1', 'g2', 'g3']) s.grants.set(id, grant(id))
  const cache = new StateCache(s.stores, { maxGrants: 2 })
  await cache.grants.get('g1')
  await cache.grants.get('g2')
  await cache.grants.get('g1')
  await cache.grants.get('g3')
  t.same(cache.size(), { grants: 2, registry: false })
  const before = s.reads.grant
  await cache.grants.get('g1')
  t.equal(s.reads.grant, before, 'g1, read recently, is kept')
  await cache.grants.get('g2')
  t.equal(s.reads.grant, before + 1, 'g2 was dropped')
})

t.test('with a feed: nothing served from memory unless it is fresh; its reports drop records', async (t) => {
  const s = stores()
  s.grants.set('g1', grant('g1'))
  s.adapters.set('a1', adapter('a1'))
  let fresh = false
  let listener: ChangeListener | undefined
  const feed: ChangeFeed = {
    fresh: () => fresh,
    attach: (cache) => {
      listener = cache
    },
  }
  const cache = new StateCache(s.stores, { feed })
  const told: RemoteChange[] = []
  cache.onRemoteChange((change) => told.push(change))
  await cache.grants.get('g1')
  await cache.grants.get('g1')
  await cache.adapters.list()
  await cache.adapters.list()
  t.same(s.reads, { grant: 2, adapters: 2 }, 'not fresh: every read goes to the store')
  t.same(cache.size(), { grants: 0, registry: false }, 'and nothing is kept')

  fresh = true
  await cache.grants.get('g1')
  await cache.grants.get('g1')
  await cache.adapters.list()
  await cache.adapters.list()
  t.same(s.reads, { grant: 3, adapters: 3 }, 'fresh: read once')

  // Another replica revoked g1: its notification drops it here.
  s.grants.set('g1', grant('g1', 'revoked'))
  listener!.changed('grant:g1')
  t.equal((await cache.grants.get('g1'))?.status, 'revoked')
  s.adapters.set('a1', adapter('a1', 'suspended'))
  listener!.changed('adapter:a1')
  t.equal((await cache.adapters.get('a1'))?.status, 'suspended')

  // A new listening connection: whatever was missed meanwhile, memory starts again.
  listener!.missed()
  t.same(cache.size(), { grants: 0, registry: false })
  t.same(told, ['grant:g1', 'adapter:a1', 'all'], 'and what runs on those records in this process is told')

  // Fresh again later (the feed lost and regained its proof): a store read that began while stale is not kept.
  fresh = false
  s.hold()
  const stale = cache.grants.get('g1')
  fresh = true
  s.release()
  await stale
  t.same(cache.size(), { grants: 0, registry: false }, 'a read that bypassed memory is not kept')
})
