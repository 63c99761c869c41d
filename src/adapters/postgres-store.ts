import type pg from 'pg'
import type { AdapterStore } from './store.js'
import type { Adapter } from './types.js'

/** Adapters in PostgreSQL; their writes are in storage/postgres-changes.ts. */
export class PostgresAdapterStore implements AdapterStore {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async get(id: string): Promise<Adapter | undefined> {
    const { rows } = await this.#pool.query<{ doc: string }>('SELECT doc FROM adapters WHERE id = $1', [id])
    return rows[0] ? (JSON.parse(rows[0].doc) as Adapter) : undefined
  }

  async list(): Promise<Adapter[]> {
    const { rows } = await this.#pool.query<{ doc: string }>('SELECT doc FROM adapters ORDER BY created_at, id')
    return rows.map((row) => JSON.parse(row.doc) as Adapter)
  }
}
