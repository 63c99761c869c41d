import type pg from 'pg'
import type { DocumentReadCounter } from './quota.js'

/** How often counted reads are written to the table. */
const FLUSH_INTERVAL_MS = 1_000

/**
 * The quota counter on PostgreSQL's `document_reads`: counts in memory, so `take` stays synchronous and
 * costs no round trip, written to the table in one statement a second (an upsert that never lowers a
 * count). It starts from the counts stored for the current days.
 *
 * Limits: a crash loses the counts of at most the last interval, which the next start rebuilds from the
 * day's allowed read intents in the log (as the SQLite counter does), and each process counts on its own, so N replicas allow up to N times the limit until counts are shared (Redis); the stored count is
 * the largest any process wrote.
 */
export class PostgresDocumentReadCounter implements DocumentReadCounter {
  readonly #pool: pg.Pool
  readonly #counts = new Map<string, number>()
  readonly #dirty = new Set<string>()
  readonly #timer: NodeJS.Timeout
  #flushing: Promise<void> = Promise.resolve()

  /**
   * Loads the counts of `fromDay` (a CST day, `YYYY-MM-DD`) and later, each raised to at least the reads
   * `logged` for it (one element per allowed read intent in the log: see openPostgresStorage); a count raised
   * so is written with the next flush.
   */
  static async open(
    pool: pg.Pool,
    fromDay: string,
    logged: Iterable<{ reader: string; day: string }> = [],
  ): Promise<PostgresDocumentReadCounter> {
    const { rows } = await pool.query<{ reader: string; day: string; count: number }>(
      'SELECT reader, day, count FROM document_reads WHERE day >= $1',
      [fromDay],
    )
    const counter = new PostgresDocumentReadCounter(pool)
    for (const row of rows) counter.#counts.set(keyOf(row.reader, row.day), row.count)
    const inLog = new Map<string, number>()
    for (const { reader, day } of logged) {
      if (day < fromDay) continue
      const key = keyOf(reader, day)
      inLog.set(key, (inLog.get(key) ?? 0) + 1)
    }
    for (const [key, count] of inLog) {
      if (count <= (counter.#counts.get(key) ?? 0)) continue
      counter.#counts.set(key, count)
      counter.#dirty.add(key)
    }
    return counter
  }

  private constructor(pool: pg.Pool) {
    this.#pool = pool
    this.#timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS)
    this.#timer.unref()
  }

  take(reader: string, day: string, limit: number): { allowed: boolean; count: number } {
    const key = keyOf(reader, day)
    const count = this.#counts.get(key) ?? 0
    // A limit below 1 allows nothing.
    if (!(limit >= 1) || count >= limit) return { allowed: false, count }
    this.#counts.set(key, count + 1)
    this.#dirty.add(key)
    return { allowed: true, count: count + 1 }
  }

  count(reader: string, day: string): number {
    return this.#counts.get(keyOf(reader, day)) ?? 0
  }

  /** Writes the counts changed since the last flush; a failed write keeps them for the next one. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#dirty.size === 0) return
      const keys = [...this.#dirty]
      this.#dirty.clear()
      const rows = keys.map((key) => [...splitKey(key), this.#counts.get(key)!] as const)
      try {
        await this.#pool.query(
          `INSERT INTO document_reads (reader, day, count) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
           ON CONFLICT (reader, day) DO UPDATE SET count = GREATEST(document_reads.count, EXCLUDED.count)`,
          [rows.map((row) => row[0]), rows.map((row) => row[1]), rows.map((row) => row[2])],
        )
      } catch {
        for (const key of keys) this.#dirty.add(key)
      }
    })
    return this.#flushing
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }
}

// Days contain no NUL; readers (org:sub) do not either.
const keyOf = (reader: string, day: string) => `${day}\u0000${reader}`
const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('\u0000')
  return [key.slice(at + 1), key.slice(0, at)]
}
