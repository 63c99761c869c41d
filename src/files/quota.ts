import type { SqliteDatabase } from '../storage/sqlite.js'

/**
 * The daily document quota (`limits.documentsPerDay`, docs/architecture.md#grants) against bulk reading: every document read,
 * re-reads included, counts for the person (org + sub) on the calendar day in China Standard Time.
 */

/** UTC+8 all year: China has no daylight saving time, so a fixed offset is exact. */
const CST_OFFSET_MS = 8 * 3_600_000
const DAY_MS = 86_400_000

/** The calendar day in China Standard Time, `YYYY-MM-DD`: the unit the quota counts in. */
export function cstDay(date: Date): string {
  return new Date(date.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10)
}

/** The first instant of the next CST calendar day, when a used-up quota is available again. */
export function nextCstMidnight(date: Date): Date {
  const local = date.getTime() + CST_OFFSET_MS
  return new Date(Math.floor(local / DAY_MS) * DAY_MS + DAY_MS - CST_OFFSET_MS)
}

/**
 * The person a quota counts for. `sub` alone is only unique within an organisation; org codes contain no
 * colon, so the first colon separates the two unambiguously.
 */
export function readerKey(org: string, sub: string): string {
  return `${org}:${sub}`
}

/**
 * Counters of document reads per person and day.
 *
 * - Atomic: `take` checks and increments in one step, so concurrent reads (on any number of replicas sharing
 *   the store) never together get past `limit`.
 * - Durable: a counted read is stored before `take` returns, so a restart does not hand out a fresh quota.
 */
export interface DocumentReadCounter {
  /**
   * Counts one read of `reader` on `day` unless `limit` reads are counted already. Returns whether the read
   * was counted (allowed) and the count after the call; a refused read is not counted, so the stored count
   * never exceeds `limit`.
   */
  take(reader: string, day: string, limit: number): { allowed: boolean; count: number }
  /** The reads counted for `reader` on `day` (0 if none). */
  count(reader: string, day: string): number
}

/**
 * The SQLite counter, in the `document_reads` table. One upsert statement is one transaction, and the
 * database runs with synchronous=FULL, which gives both properties of the interface.
 */
export class SqliteDocumentReadCounter implements DocumentReadCounter {
  readonly #take
  readonly #count

  constructor(db: SqliteDatabase) {
    // The WHERE of the upsert makes a full day's row stay as it is: no row comes back, and the read is refused.
    this.#take = db
      .prepare(
        `INSERT INTO document_reads (reader, day, count) VALUES (@reader, @day, 1)
         ON CONFLICT (reader, day) DO UPDATE SET count = count + 1 WHERE count < @limit
         RETURNING count`,
      )
      .pluck()
    this.#count = db.prepare('SELECT count FROM document_reads WHERE reader = ? AND day = ?').pluck()
  }

  take(reader: string, day: string, limit: number): { allowed: boolean; count: number } {
    // A limit below 1 would still let the INSERT branch count a first read.
    if (!(limit >= 1)) return { allowed: false, count: this.count(reader, day) }
    const count = this.#take.get({ reader, day, limit }) as number | undefined
    return count === undefined ? { allowed: false, count: this.count(reader, day) } : { allowed: true, count }
  }

  count(reader: string, day: string): number {
    return (this.#count.get(reader, day) as number | undefined) ?? 0
  }
}

export type QuotaCheck =
  | { allowed: true; used: number; limit: number }
  | { allowed: false; used: number; limit: number; day: string; retryAfterSeconds: number; resetsAt: string }

/** The quota of one gateway: a counter, the configured daily limit and the gateway's clock. */
export class DocumentQuota {
  readonly #counter: DocumentReadCounter
  readonly #limit: number
  readonly #now: () => Date

  constructor(counter: DocumentReadCounter, limit: number, now: () => Date) {
    this.#counter = counter
    this.#limit = limit
    this.#now = now
  }

  /** Counts one document read of the person, or says when the quota is available again. */
  take(org: string, sub: string): QuotaCheck {
    const now = this.#now()
    const day = cstDay(now)
    const { allowed, count } = this.#counter.take(readerKey(org, sub), day, this.#limit)
    if (allowed) return { allowed, used: count, limit: this.#limit }
    const resetsAt = nextCstMidnight(now)
    return {
      allowed,
      used: count,
      limit: this.#limit,
      day,
      retryAfterSeconds: Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000)),
      resetsAt: resetsAt.toISOString(),
    }
  }
}
