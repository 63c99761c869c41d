import type { Redis } from 'ioredis'
import { LimitsUnavailableError } from '../limits/redis.js'
import type { DocumentReadCounter } from './quota.js'

const DAY_MS = 86_400_000
/**
 * A day's key outlives the day by this much: a replica whose clock is a little behind still counts on the
 * right key instead of finding it gone and starting the day afresh.
 */
const EXPIRY_MARGIN_MS = 15 * 60_000

/**
 * Check and count in one script, which Redis runs atomically: concurrent reads on any number of replicas
 * never together get past the limit, and a refused read is not counted. The first read of a day sets the
 * key's lifetime, so the counts of past days remove themselves.
 * KEYS[1] the counter; ARGV[1] the limit; ARGV[2] milliseconds the key should live.
 */
const TAKE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return {0, count} end
count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, count}
`

type RedisWithTake = Redis & {
  documentQuotaTake(key: string, limit: number, ttlMs: number): Promise<[number, number]>
}

/**
 * The quota counter shared by every replica pointed at one Redis (`redis.url`): one key per person and CST
 * day, `<prefix>quota:<day>:<org>:<sub>`, which expires after the end of that day.
 *
 * - Atomic: see the script above.
 * - Durable as far as the Redis deployment is (its persistence settings): a Redis that restarts empty hands
 *   out fresh quotas for the rest of the day.
 * - Any Redis failure (down, unreachable, slower than the command timeout) rejects with
 *   LimitsUnavailableError. Nothing is counted then, except when Redis ran the script but answered after
 *   the timeout: that read is refused and still counted, which errs on the side of the quota.
 */
export class RedisDocumentReadCounter implements DocumentReadCounter {
  readonly #redis: RedisWithTake
  readonly #prefix: string
  readonly #now: () => Date

  /** `now` is the gateway's clock: key lifetimes are relative to it, so Redis's own clock does not matter. */
  constructor(redis: Redis, options: { keyPrefix: string; now: () => Date }) {
    if (!('documentQuotaTake' in redis)) redis.defineCommand('documentQuotaTake', { numberOfKeys: 1, lua: TAKE })
    this.#redis = redis as RedisWithTake
    this.#prefix = `${options.keyPrefix}quota:`
    this.#now = options.now
  }

  async take(reader: string, day: string, limit: number): Promise<{ allowed: boolean; count: number }> {
    if (!(limit >= 1)) return { allowed: false, count: await this.count(reader, day) }
    const endOfDay = Date.parse(`${day}T00:00:00+08:00`) + DAY_MS
    const ttlMs = Math.max(1000, endOfDay - this.#now().getTime() + EXPIRY_MARGIN_MS)
    const [allowed, count] = await this.#ask(() => this.#redis.documentQuotaTake(this.#key(reader, day), limit, ttlMs))
    return { allowed: allowed === 1, count }
  }

  async count(reader: string, day: string): Promise<number> {
    return Number((await this.#ask(() => this.#redis.get(this.#key(reader, day)))) ?? 0)
  }

  /** Nothing to write: every count is in Redis already. */
  close(): void {}

  #key(reader: string, day: string): string {
    return `${this.#prefix}${day}:${reader}`
  }

  async #ask<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (error) {
      throw new LimitsUnavailableError('the document quota counter in Redis did not answer', { cause: error })
    }
  }
}
