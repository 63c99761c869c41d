import type { AdapterStore } from '../adapters/store.js'
import type { Adapter } from '../adapters/types.js'
import type { GrantFilter, GrantStore } from '../grants/store.js'
import type { Grant } from '../grants/types.js'
import { keyOf, type StateChange, type StateKey } from './state-change.js'

/**
 * Whether what the cache holds is known to include every change other processes have committed, up to a
 * bound (see PostgresChangeFeed); while it is not, every read goes to the store. A process alone on its
 * database (SQLite) makes every change itself and needs none.
 */
export interface ChangeFeed {
  fresh(): boolean
  /** Tells `listener` of every record another process may have changed, and when anything may have been missed. */
  attach(listener: ChangeListener): void
}

export interface ChangeListener {
  /** Another process (or this one: notifications come back to their sender) may have changed `key`. */
  changed(key: StateKey): void
  /** Changes may have been missed (a new listening connection): anything may have changed. */
  missed(): void
}

/** A record another process may have changed, or `all` when changes may have been missed. */
export type RemoteChange = StateKey | 'all'

export interface StateCacheOptions {
  /** Grants kept at most (least recently read dropped first); the adapter registry is kept whole. */
  maxGrants?: number
  /** Other processes' changes; without one, this process is the only one changing the stores. */
  feed?: ChangeFeed
}

const DEFAULT_MAX_GRANTS = 10_000

/**
 * The grants and the adapter registry as the read path needs them, in memory, so that a read costs no query
 * for them (BENCHMARKS.md: a fifth of the busy time per read on SQLite).
 *
 * What it holds is only ever what a read of the store returned; it never applies a change itself. A record is
 * dropped whenever a change to it may have been committed: when the log's store has answered for the entry
 * carrying it (committed, refused or lost: `settled`, called by the log before the change's caller hears of
 * it), and when another process reports one (the feed). The next read loads it again from the store. A load
 * that was under way when anything was dropped is returned to its caller but not kept, since it may have
 * read the record from before the change. So, on this process, a change is in force for every read that
 * begins after it was acknowledged; a change of another process, once the feed has reported it (a bound the
 * feed states; while it cannot vouch for that bound, nothing is served from memory).
 *
 * Decisions are still taken on the record, by decide(): a grant's expiry is checked on the clock at each read,
 * never cached. Records are frozen: a caller that changed one would change every later read's.
 */
export class StateCache {
  readonly grants: GrantStore
  readonly adapters: AdapterStore
  readonly #stores: { grants: GrantStore; adapters: AdapterStore }
  readonly #maxGrants: number
  readonly #feed: ChangeFeed | undefined
  readonly #grants = new Map<string, Grant>()
  #registry: Registry | undefined
  /** Loads of the registry under way, shared by the reads that need it meanwhile (one query, not one each). */
  #registryLoad: Promise<Registry> | undefined
  /** Bumped on every drop: a load that began before the current value must not be kept. */
  #generation = 0
  readonly #remoteListeners: Array<(change: RemoteChange) => void> = []

  constructor(stores: { grants: GrantStore; adapters: AdapterStore }, options: StateCacheOptions = {}) {
    this.#stores = stores
    this.#maxGrants = options.maxGrants ?? DEFAULT_MAX_GRANTS
    this.#feed = options.feed
    this.#feed?.attach({
      changed: (key) => {
        this.drop(key)
        this.#tellRemote(key)
      },
      missed: () => {
        this.dropAll()
        this.#tellRemote('all')
      },
    })
    this.grants = {
      get: (id) => this.#grant(id),
      list: (filter: GrantFilter, limit: number) => stores.grants.list(filter, limit),
      findOpen: (createdBy, org, caseNo, supervisionCase, now) =>
        stores.grants.findOpen(createdBy, org, caseNo, supervisionCase, now),
    }
    this.adapters = {
      get: async (id) => (this.#fresh() ? (await this.#loadRegistry()).byId.get(id) : stores.adapters.get(id)),
      // Frozen: a caller may filter and map the list, never sort or change it in place.
      list: async () => (this.#fresh() ? ((await this.#loadRegistry()).list as Adapter[]) : stores.adapters.list()),
    }
  }

  /** Called by the log once its store has answered for the entry carrying `change`, whether it committed or not. */
  settled(change: StateChange): void {
    this.drop(keyOf(change))
  }

  /** Forgets the record `key`: the next read of it goes to the store. */
  drop(key: StateKey): void {
    this.#generation++
    if (key.startsWith('grant:')) {
      this.#grants.delete(key.slice('grant:'.length))
    } else {
      this.#registry = undefined
      this.#registryLoad = undefined
    }
  }

  /** Forgets everything (another process's changes may have been missed). */
  dropAll(): void {
    this.#generation++
    this.#grants.clear()
    this.#registry = undefined
    this.#registryLoad = undefined
  }

  /**
   * Calls `listener` after the feed has reported a change of another process (and dropped it here), so that
   * what runs on the record in this process, such as a transfer through a grant revoked elsewhere, can stop.
   */
  onRemoteChange(listener: (change: RemoteChange) => void): void {
    this.#remoteListeners.push(listener)
  }

  #tellRemote(change: RemoteChange): void {
    for (const listener of this.#remoteListeners) listener(change)
  }

  /** How many grants are kept, and whether the registry is (for tests and metrics). */
  size(): { grants: number; registry: boolean } {
    return { grants: this.#grants.size, registry: this.#registry !== undefined }
  }

  #fresh(): boolean {
    return this.#feed === undefined || this.#feed.fresh()
  }

  async #grant(id: string): Promise<Grant | undefined> {
    if (!this.#fresh()) return this.#stores.grants.get(id)
    const kept = this.#grants.get(id)
    if (kept) {
      // Most recently read last: the first key is the one to drop when full.
      this.#grants.delete(id)
      this.#grants.set(id, kept)
      return kept
    }
    const generation = this.#generation
    const loaded = await this.#stores.grants.get(id)
    // A grant that does not exist is not kept: ids are random, and a read of an unknown one is refused anyway.
    if (!loaded) return undefined
    const grant = deepFreeze(loaded)
    if (generation === this.#generation && this.#fresh()) {
      this.#grants.set(id, grant)
      if (this.#grants.size > this.#maxGrants) this.#grants.delete(this.#grants.keys().next().value!)
    }
    return grant
  }

  #loadRegistry(): Promise<Registry> {
    if (this.#registry) return Promise.resolve(this.#registry)
    if (this.#registryLoad) return this.#registryLoad
    const generation = this.#generation
    const load = this.#stores.adapters.list().then((list) => {
      const registry = registryOf(list)
      if (generation === this.#generation && this.#fresh()) this.#registry = registry
      return registry
    })
    const shared = load.finally(() => {
      if (this.#registryLoad === shared) this.#registryLoad = undefined
    })
    this.#registryLoad = shared
    return shared
  }
}

interface Registry {
  /** In the store's order (registration time, then id). */
  list: readonly Adapter[]
  byId: ReadonlyMap<string, Adapter>
}

function registryOf(adapters: Adapter[]): Registry {
  const list = Object.freeze(adapters.map((adapter) => deepFreeze(adapter)))
  return { list, byId: new Map(list.map((adapter) => [adapter.id, adapter])) }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
