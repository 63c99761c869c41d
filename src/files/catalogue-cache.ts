import type { AdapterVolumes } from '../adapters/responses.js'
import type { Adapter } from '../adapters/types.js'

/** A case catalogue as a court last sent or confirmed it. */
export interface CachedCatalogue {
  catalogue: AdapterVolumes
  /** The court's entity tag of it, when the court sent one: then it is revalidated, not fetched again. */
  etag: string | undefined
  /** When the court last sent or confirmed it (the cache's clock, ms). */
  confirmedAt: number
}

export interface CatalogueCacheOptions {
  /** How long an entry decides reads without asking the court; 0 asks every time. */
  ttlMs: number
  maxEntries: number
  now: () => number
}

/**
 * Case catalogues by adapter registration and case (docs/courts.md#catalogue-cache), so that a document read
 * within `ttlMs` of the last catalogue makes one court request, not two. It only saves the court's answer:
 * every read is still decided by decide() on its own grant and logged as before, and the catalogue is the same
 * whoever reads (the court lists everything, the gateway filters per grant), so sharing it across grants shows
 * nobody anything. The key holds the registration's `updatedAt` and base URL: any change of the registration
 * (suspension, reactivation, a new URL), also one made by another replica, misses every older entry.
 * Bounded, least recently used dropped first; in memory only.
 */
export class CatalogueCache {
  readonly #options: CatalogueCacheOptions
  /** Map order is the recency order: a hit moves its key to the end. */
  readonly #entries = new Map<string, CachedCatalogue & { adapter: string }>()
  /** Adapters whose last document answer named its volume (Volume-Kind). */
  readonly #confirming = new Set<string>()

  constructor(options: CatalogueCacheOptions) {
    this.#options = options
  }

  key(adapter: Adapter, caseNo: string): string {
    return JSON.stringify([adapter.id, adapter.updatedAt, adapter.baseUrl, adapter.court, caseNo])
  }

  /** The entry, and whether it is still within its lifetime. */
  get(key: string): { entry: CachedCatalogue; current: boolean } | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    const age = this.#options.now() - entry.confirmedAt
    // A clock that went back makes an entry of unknown age: not current.
    return { entry, current: age >= 0 && age < this.#options.ttlMs }
  }

  set(key: string, adapter: Adapter, entry: Omit<CachedCatalogue, 'confirmedAt'>): CachedCatalogue {
    const stored = { ...entry, confirmedAt: this.#options.now(), adapter: adapter.id }
    this.#entries.delete(key)
    this.#entries.set(key, stored)
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    return stored
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }

  /** Forgets every catalogue from `adapter`; called once a change of its registration is durable. */
  dropAdapter(adapter: string): void {
    for (const [key, entry] of this.#entries) if (entry.adapter === adapter) this.#entries.delete(key)
    this.#confirming.delete(adapter)
  }

  /** Whether `adapter`'s last document answer named the document's volume. */
  confirmsVolumes(adapter: string): boolean {
    return this.#confirming.has(adapter)
  }

  noteVolumeHeader(adapter: string, present: boolean): void {
    if (present) this.#confirming.add(adapter)
    else this.#confirming.delete(adapter)
  }

  get size(): number {
    return this.#entries.size
  }
}
