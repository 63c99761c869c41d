import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { addressKey } from './address-key.js'
import { GatewayError } from './errors.js'

/**
 * Failed authentications per key (a client address) in fixed windows, in this process's memory. Checking
 * costs a map lookup, so it can run before a token's signature is verified. At most `maxKeys` keys are kept:
 * when full, the oldest key is forgotten, so a flood from many addresses cannot exhaust memory.
 */
export class FailureCounter {
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

export interface AddressLimitOptions {
  /** Failed authentications (401s) one client address may cause per window. */
  failures: number
  /** Milliseconds; a minute unless a test says otherwise. */
  windowMs?: number
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
  const counter = new FailureCounter({ max: options.failures, windowMs })
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return
    const waitMs = counter.blockedFor(addressKey(request.ip))
    if (waitMs <= 0) return
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000))
    throw new GatewayError(
      'RATE_LIMITED',
      `too many failed authentications from your address; retry in ${retryAfter} s`,
      { headers: { 'retry-after': String(retryAfter) }, extra: { scope: 'address', limit: counter.max, retryAfter } },
    )
  })
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401) counter.fail(addressKey(request.ip))
  })
}

export default fp(addressLimit, { name: 'address-limit', fastify: '5.x' })
