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

/** The first instant of the CST calendar day of `date`. */
export function cstDayStart(date: Date): Date {
  return new Date(nextCstMidnight(date).getTime() - DAY_MS)
}

/** The SQLite and in-memory counters answer at once; a counter over the network (Redis) answers later. */
export type Awaitable<T> = T | Promise<T>

/**
 * Counters of document reads per person and day.
 *
 * - Atomic: `take` checks and increments in one step, so concurrent reads never together get past `limit`.
 * - Durable for what was served: after a restart or a crash the count is at least the number of reads
 *   that reached a court, so a restart does not hand out a fresh quota.
 */
export interface DocumentReadCounter {
  /**
   * Counts one read of `reader` on `day` unless `limit` reads are counted already. Returns whether the read
   * was counted (allowed) and the count after the call; a refused read is not counted, so the stored count
   * never exceeds `limit`.
   */
  take(reader: string, day: string, limit: number): Awaitable<{ allowed: boolean; count: number }>
  /** The reads counted for `reader` on `day` (0 if none). */
  count(reader: string, day: string): Awaitable<number>
}

/**
 * The SQLite counter, in the `document_reads` table. One upsert statement is one transaction, and the
 * database runs with synchronous=FULL, which gives both properties of the interface (even across processes
 * sharing the file), at the price of an fsync on the event loop for every read.
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

export interface BatchedCounterOptions {
  /**
   * Reads known to have happened that the table may not hold yet: the allowed `document.read` intents of
   * the access log since the start of the current day, one element per read.
   */
  logged?: Iterable<{ reader: string; day: string }>
  /** How long a counted read may wait before it is written to the table. */
  flushIntervalMs?: number
  /** Told when a batch could not be written; the counts stay in memory and are written with the next one. */
  onError?: (error: unknown) => void
  /**
   * Writes a batch of rows (reader, day, count) with DOCUMENT_READS_UPSERT_SQL in one transaction, resolving once
   * committed. Without an fsync: a batch lost with the machine is rebuilt from the log (see
   * BatchedDocumentReadCounter). The gateway writes on the log's writer thread (SqliteLogStore.execute), so that
   * the event loop never waits for the database's write lock or the disk.
   */
  write: (rows: Array<[string, string, number]>) => Promise<void>
}

/** One count of a batch; max(): the table only ever moves up, whatever order batches and restarts come in. */
export const DOCUMENT_READS_UPSERT_SQL = `INSERT INTO document_reads (reader, day, count) VALUES (?, ?, ?)
  ON CONFLICT (reader, day) DO UPDATE SET count = max(count, excluded.count)`

/** Counts held in memory beyond this many are dropped once written (they reload from the table). */
const MAX_HELD_COUNTS = 10_000

/**
 * The counter the gateway runs with: counts in memory, authoritative for this process, so `take` costs no
 * I/O; they are written to the `document_reads` table in one transaction per batch (`flushIntervalMs`).
 *
 * Crash safety rests on the access log: a read reaches a court only after its intent entry is durable, and
 * every read counted here is followed by that intent (or by nothing at all, when it never got that far). So
 * after a crash the day's allowed `document.read` intents of a person are at least the reads they were
 * served, and this counter starts from the larger of those (`logged`) and the stored count. A count lost
 * with the process is thus never one of a read that was served.
 *
 * It assumes one gateway process owns the database, as the access log's single writer already does: two
 * processes would each count on their own.
 */
export class BatchedDocumentReadCounter implements DocumentReadCounter {
  readonly #stored: SqliteDocumentReadCounter
  readonly #write: (rows: Array<[string, string, number]>) => Promise<void>
  readonly #logged = new Map<string, number>()
  readonly #counts = new Map<string, number>()
  readonly #dirty = new Set<string>()
  readonly #flushIntervalMs: number
  readonly #onError: (error: unknown) => void
  #timer: NodeJS.Timeout | undefined
  /** The batch being written, then the next: one at a time (see flush). */
  #flushing: Promise<void> = Promise.resolve()
  #closed = false

  constructor(db: SqliteDatabase, options: BatchedCounterOptions) {
    this.#stored = new SqliteDocumentReadCounter(db)
    this.#write = options.write
    for (const { reader, day } of options.logged ?? []) {
      const key = keyOf(reader, day)
      this.#logged.set(key, (this.#logged.get(key) ?? 0) + 1)
    }
    this.#flushIntervalMs = options.flushIntervalMs ?? 1_000
    this.#onError = options.onError ?? (() => {})
  }

  take(reader: string, day: string, limit: number): { allowed: boolean; count: number } {
    const key = keyOf(reader, day)
    const count = this.#held(key, reader, day)
    if (!(limit >= 1) || count >= limit) return { allowed: false, count }
    this.#counts.set(key, count + 1)
    this.#dirty.add(key)
    this.#timer ??= setTimeout(() => this.flush(), this.#flushIntervalMs).unref()
    return { allowed: true, count: count + 1 }
  }

  count(reader: string, day: string): number {
    return this.#held(keyOf(reader, day), reader, day)
  }

  /**
   * Writes the counts taken since the last batch, in one transaction; resolves once written or, when the write
   * failed, once its counts are pending again (reported through `onError`, retried with the next batch).
   * Batches are written one after the other: a count is dropped from memory only once written, and one batch's
   * completion must not drop the counts of another still in flight.
   */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flushing = this.#flushing.then(() => this.#writeDirty())
    return this.#flushing
  }

  async #writeDirty(): Promise<void> {
    if (this.#dirty.size === 0) return
    const keys = [...this.#dirty]
    this.#dirty.clear()
    const rows = keys.map((key): [string, string, number] => [
      key.slice(DAY_LENGTH + 1),
      key.slice(0, DAY_LENGTH),
      this.#counts.get(key)!,
    ])
    try {
      await this.#write(rows)
    } catch (error) {
      this.#onError(error)
      for (const key of keys) this.#dirty.add(key)
      if (!this.#closed) this.#timer ??= setTimeout(() => this.flush(), this.#flushIntervalMs).unref()
      return
    }
    // Every count not taken again meanwhile is written now (this batch or an earlier one): those may go.
    if (this.#counts.size > MAX_HELD_COUNTS) {
      for (const key of this.#counts.keys()) if (!this.#dirty.has(key)) this.#counts.delete(key)
    }
  }

  /**
   * Writes what is pending, after any batch in flight; the counter must not be used afterwards. A batch that
   * fails now is not tried again (the store is about to close; the log keeps the floor of the counts).
   */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
    clearTimeout(this.#timer)
  }

  #held(key: string, reader: string, day: string): number {
    let count = this.#counts.get(key)
    if (count === undefined) {
      count = Math.max(this.#stored.count(reader, day), this.#logged.get(key) ?? 0)
      this.#counts.set(key, count)
    }
    return count
  }
}

const DAY_LENGTH = 'YYYY-MM-DD'.length
const keyOf = (reader: string, day: string) => `${day}|${reader}`

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

  /**
   * Counts one document read of the person, or says when the quota is available again. Rejects as the
   * counter does when it cannot count (a shared counter unreachable).
   */
  async take(org: string, sub: string): Promise<QuotaCheck> {
    const now = this.#now()
    const day = cstDay(now)
    const { allowed, count } = await this.#counter.take(readerKey(org, sub), day, this.#limit)
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
