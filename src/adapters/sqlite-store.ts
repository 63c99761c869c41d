import type { SqliteDatabase } from '../storage/sqlite.js'
import type { AdapterStore } from './store.js'
import type { Adapter } from './types.js'

export class SqliteAdapterStore implements AdapterStore {
  readonly #insert
  readonly #get
  readonly #update
  readonly #list

  constructor(db: SqliteDatabase) {
    this.#insert = db.prepare(
      'INSERT INTO adapters (id, court, status, created_at, doc) VALUES (@id, @court, @status, @createdAt, @doc)',
    )
    this.#get = db.prepare('SELECT doc FROM adapters WHERE id = ?').pluck()
    this.#update = db.prepare('UPDATE adapters SET court = @court, status = @status, doc = @doc WHERE id = @id')
    this.#list = db.prepare('SELECT doc FROM adapters ORDER BY created_at, id').pluck()
  }

  insert(adapter: Adapter): void {
    this.#insert.run({ ...adapter, doc: JSON.stringify(adapter) })
  }

  get(id: string): Adapter | undefined {
    const doc = this.#get.get(id) as string | undefined
    return doc ? (JSON.parse(doc) as Adapter) : undefined
  }

  update(adapter: Adapter): void {
    this.#update.run({ ...adapter, doc: JSON.stringify(adapter) })
  }

  list(): Adapter[] {
    return (this.#list.all() as string[]).map((doc) => JSON.parse(doc) as Adapter)
  }
}
