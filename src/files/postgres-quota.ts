import type pg from 'pg'
import type { DocumentReadCounter } from './quota.js'

/**
 * The counter in PostgreSQL's `document_reads`, shared by every replica on the database. One upsert is
 * atomic (the row is locked while it is counted) and durable once it returns (synchronous commit).
 */
export class PostgresDocumentReadCounter implements DocumentReadCounter {
  readonly #pool: pg.Pool

  constructor(pool: pg.Pool) {
    this.#pool = pool
  }

  async take(reader: string, day: string, limit: number): Promise<{ allowed: boolean; count: number }> {
    // A limit below 1 would still let the INSERT branch count a first read.
    if (!(limit >= 1)) return { allowed: false, count: await this.count(reader, day) }
    // The WHERE of the upsert leaves a full day's row as it is: no row comes back, and the read is refused.
    const { rows } = await this.#pool.query<{ count: number }>(
      `INSERT INTO document_reads (reader, day, count) VALUES ($1, $2, 1)
       ON CONFLICT (reader, day) DO UPDATE SET count = document_reads.count + 1 WHERE document_reads.count < $3
       RETURNING count`,
      [reader, day, limit],
    )
    return rows[0] ? { allowed: true, count: rows[0].count } : { allowed: false, count: await this.count(reader, day) }
  }

  async count(reader: string, day: string): Promise<number> {
    const { rows } = await this.#pool.query<{ count: number }>(
      'SELECT count FROM document_reads WHERE reader = $1 AND day = $2',
      [reader, day],
    )
    return rows[0]?.count ?? 0
  }
}
