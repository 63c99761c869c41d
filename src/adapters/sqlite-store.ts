import type { SqliteDatabase } from '../storage/sqlite.js'
import type { AdapterStore } from './store.js'
import type { Adapter } from './types.js'

/** Adapters in the gateway's SQLite file; their writes are in storage/sqlite-changes.ts. */
export class SqliteAdapterStore implements AdapterStore {
  readonly #get
  readonly #list

  constructor(db: SqliteDatabase) {
    this.#get = db.prepare('SELECT doc FROM adapters WHERE id = ?').pluck()
    this.#list = db.prepare('SELECT doc FROM adapters ORDER BY created_at, id').pluck()
  }

  async get(id: string): Promise<Adapter | undefined> {
    const doc = this.#get.get(id) as string | undefined
    return doc ? (JSON.parse(doc) as Adapter) : undefined
  }

  async list(): Promise<Adapter[]> {
    return (this.#list.all() as string[]).map((doc) => JSON.parse(doc) as Adapter)
  }
}
