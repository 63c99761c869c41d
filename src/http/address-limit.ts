import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { addressKey } from './address-key.js'
import { GatewayError } from './errors.js'
import { limitsUnavailable } from './limits-unavailable.js'

/** Failed authentications per key (a client address) in fixed windows that start at a key's first failure. */
export interface FailureStore {
  readonly max: number
  /** Milliseconds until `key` may try again; 0 while it is under the limit. */
  blockedFor(key: string): number | Promise<number>
  fail(key: string): void | Promise<void>
}

/**
 * Failed authentications per key (a client address) in fixed windows, in this process's memory. Checking
 * costs a map lookup, so it can run before a token's signature is verified. At most `maxKeys` keys are kept:
 * when full, the oldest key is forgotten, so a flood from many addresses cannot exhaust memory.
 */
export class FailureCounter implements FailureStore {
  readonly #max: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #maxKeys: number
  readonly #windows = new Map<string, { start: number; failures: number }>()

  constructor(options: { max: number; windowMs: number; now?: () => number; maxKeys?: number }) {
    this.#max = options.max
    this.#windowMs = options.windowMs
    this.#now = options.now ?? Date.now
    this.#maxKeys = options.maxKeys ?? 10_000
  }

  get max(): number {
    return this.#max
  }

  /** Milliseconds until `key` may try again; 0 while it is under the limit. */
  blockedFor(key: string): number {
    const window = this.#current(key)
    if (!window || window.failures < this.#max) return 0
    return window.start + this.#windowMs - this.#now()
  }

  fail(key: string): void {
    const window = this.#current(key)
    if (window) {
      window.failures++
      return
    }
    this.#windows.delete(key)
    if (this.#windows.size >= this.#maxKeys) {
      const oldest = this.#windows.keys().next().value
      if (oldest !== undefined) this.#windows.delete(oldest)
    }
    this.#windows.set(key, { start: this.#now(), failures: 1 })
  }

  #current(key: string) {
    const window = this.#windows.get(key)
    return window && this.#now() - window.start < this.#windowMs ? window : undefined
  }
}

/** KEYS[1] the address's counter; ARGV[1] the window in milliseconds. */
const FAIL = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return failures
`
/** KEYS[1] the address's counter; ARGV[1] the limit. Milliseconds the window still runs once the limit is reached, else 0. */
const BLOCKED_FOR = `
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures < tonumber(ARGV[1]) then return 0 end
return math.max(redis.call('PTTL', KEYS[1]), 0)
`

type RedisWithFailures = Redis & {
  addressFail(key: string, windowMs: number): Promise<number>
  addressBlockedFor(key: string, max: number): Promise<number>
}

/**
 * The same windows in Redis (`<prefix>auth-failures:<address>`), shared by every replica; each key expires with
 * its window. A Redis failure rejects (the command timeout bounds the wait).
 */
export class RedisFailureCounter implements FailureStore {
  readonly max: number
  readonly #windowMs: number
  readonly #redis: RedisWithFailures
  readonly #prefix: string

  constructor(redis: Redis, options: { max: number; windowMs: number; keyPrefix: string }) {
    if (!('addressFail' in redis)) {
      redis.defineCommand('addressFail', { numberOfKeys: 1, lua: FAIL })
      redis.defineCommand('addressBlockedFor', { numberOfKeys: 1, lua: BLOCKED_FOR })
    }
    this.#redis = redis as RedisWithFailures
    this.max = options.max
    this.#windowMs = options.windowMs
    this.#prefix = `${options.keyPrefix}auth-failures:`
  }

  async blockedFor(key: string): Promise<number> {
    return this.#redis.addressBlockedFor(this.#prefix + key, this.max)
  }

  async fail(key: string): Promise<void> {
    await this.#redis.addressFail(this.#prefix + key, this.#windowMs)
  }
}

export interface AddressLimitOptions {
  /** Failed authentications (401s) one client address may cause per window. */
  failures: number
  /** Milliseconds; a minute unless a test says otherwise. */
  windowMs?: number
  /** Counts in this Redis, shared by every replica; omitted, in this process's memory. */
  redis?: { client: Redis; keyPrefix: string }
  /** With Redis: whether requests go through unchecked while it cannot answer (else 503 `LIMITS_UNAVAILABLE`). */
  failOpen?: boolean
}

/**
 * Ahead of authentication (register before the identity plugin): an address that has sent more than its share
 * of bad credentials in this window gets 429 `RATE_LIMITED` without its token being verified, so a flood of
 * bad signatures cannot use up the CPU real callers need. Only failures count: many people behind one
 * address (a procuratorate's NAT) are not limited by their own good traffic; the per-person and
 * per-organisation limits after authentication see to that. Public routes are never limited. The address is
 * the peer's unless Fastify's `trustProxy` says otherwise.
 */
async function addressLimit(app: FastifyInstance, options: AddressLimitOptions): Promise<void> {
  const windowMs = options.windowMs ?? 60_000
  const counter: FailureStore = options.redis
    ? new RedisFailureCounter(options.redis.client, { max: options.failures, windowMs, ...options.redis })
    : new FailureCounter({ max: options.failures, windowMs })
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return
    let waitMs: number
    try {
      waitMs = await counter.blockedFor(addressKey(request.ip))
    } catch (error) {
      if (options.failOpen) return
      throw limitsUnavailable('the failed authentications of your address', error)
    }
    if (waitMs <= 0) return
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
    throw new GatewayError(
      'RATE_LIMITED',
      `too many failed authentications from your address; retry in ${retryAfter} s`,
      { headers: { 'retry-after': String(retryAfter) }, extra: { scope: 'address', limit: counter.max, retryAfter } },
    )
  })
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401) return
    try {
      await counter.fail(addressKey(request.ip))
    } catch (error) {
      // The answer is sent already; a failure the shared store missed only makes the limit a little laxer.
      request.log.warn({ err: error }, 'a failed authentication was not counted: the shared store did not answer')
    }
  })
}

export default fp(addressLimit, { name: 'address-limit', fastify: '5.x' })
