import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AccessLog } from '../accesslog/access-log.js'
import { logFor } from './audit.js'
import { GatewayError } from './errors.js'
import { limitsUnavailable } from './limits-unavailable.js'

/** Where the counters live; omitted, they are in this process's memory (one replica). */
export type RateLimitStoreOptions = Pick<RateLimitPluginOptions, 'store' | 'redis' | 'nameSpace'>

export interface RateLimitOptions {
  log: AccessLog
  /** Requests per window of one person (`org:sub`). */
  perUser: number
  /** Requests per window of one organisation, all its people together. */
  perOrganisation: number
  /** Milliseconds; a minute unless a test says otherwise. */
  windowMs?: number
  /**
   * Shared counters, so that several replicas enforce one limit: e.g. `{ redis }` with an ioredis client, or
   * `{ store }` with a @fastify/rate-limit store class. Every counter key carries its own prefix (`user:`,
   * `org:`, `refusal:`), because the plugin gives all its limiters the same namespace in a shared store.
   */
  store?: RateLimitStoreOptions
  /**
   * What a request gets while the shared store cannot answer: through, unlimited (`true`), or 503
   * `LIMITS_UNAVAILABLE` (`false`, the default). The in-memory store never fails.
   */
  failOpen?: boolean
}

type Scope = 'user' | 'organisation'

/**
 * Per-person and per-organisation request limits (docs/architecture.md#request-pipeline: after authentication, before the route). A
 * refusal is 429 problem+json `RATE_LIMITED` with `Retry-After`, and is written to the access log. Routes
 * marked `public` (health, readiness, metrics, keys, the API description) are never limited: load balancers
 * and adapters fetching the JWKS must always get through.
 */
async function rateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const { log } = options
  const timeWindow = options.windowMs ?? 60_000
  // Refused requests are logged, so a client that keeps hammering would grow the log without bound. A
  // second limiter, of one per key and window, lets only the first refusal of each window into the log;
  // the log then grows by at most one entry per person and organisation per window, whatever the traffic.
  await app.register(rateLimit, {
    global: false,
    // A store error reaches the hook below, which applies `failOpen`: the plugin's own skipOnError would
    // count such a request as allowed without saying so.
    skipOnError: false,
    ...(options.store ?? {}),
  })

  const userKey = (request: FastifyRequest) => `${request.principal.org.code}:${request.principal.sub}`
  const orgKey = (request: FastifyRequest) => request.principal.org.code
  const limiters: Array<{ scope: Scope; check: ReturnType<FastifyInstance['createRateLimit']> }> = [
    {
      scope: 'user',
      check: app.createRateLimit({ max: options.perUser, timeWindow, keyGenerator: (r) => `user:${userKey(r)}` }),
    },
    {
      scope: 'organisation',
      check: app.createRateLimit({ max: options.perOrganisation, timeWindow, keyGenerator: (r) => `org:${orgKey(r)}` }),
    },
  ]
  const firstRefusal: Record<Scope, ReturnType<FastifyInstance['createRateLimit']>> = {
    user: app.createRateLimit({ max: 1, timeWindow, keyGenerator: (r) => `refusal:user:${userKey(r)}` }),
    organisation: app.createRateLimit({ max: 1, timeWindow, keyGenerator: (r) => `refusal:org:${orgKey(r)}` }),
  }

  app.addHook('onRequest', async (request, reply) => {
    // The identity hook runs first (registered before this plugin) and sets the principal on every
    // non-public route; a request without one is public.
    if (request.routeOptions.config.public === true || !request.principal) return
    // One after the other: a person over their own limit does not also use up their organisation's.
    for (const { scope, check } of limiters) {
      let result: Awaited<ReturnType<typeof check>>
      try {
        result = await check(request)
      } catch (error) {
        if (!options.failOpen) throw limitsUnavailable('the request limits', error)
        // Not logged per request: the Redis client logs when it becomes unavailable and when it is back.
        return
      }
      if (result.isAllowed || !result.isExceeded) continue
      const retryAfter = Math.max(1, result.ttlInSeconds)
      // Unknown whether this is the window's first refusal: log it rather than risk a refusal missing from the log.
      const refusal = await firstRefusal[scope](request).catch(() => undefined)
      if (!refusal || refusal.isAllowed || !refusal.isExceeded) {
        await logFor(log, request, {
          action: 'rate.limit',
          phase: 'event',
          decision: 'deny',
          reason: 'RATE_LIMITED',
          detail: {
            scope,
            limit: result.max,
            windowSeconds: Math.round(timeWindow / 1000),
            method: request.method,
            route: request.routeOptions.url ?? 'unmatched',
          },
        })
      }
      reply.header('x-ratelimit-limit', String(result.max)).header('x-ratelimit-remaining', '0')
      throw new GatewayError(
        'RATE_LIMITED',
        scope === 'user'
          ? `more than ${result.max} requests in ${timeWindow / 1000} s; retry in ${retryAfter} s`
          : `your organisation made more than ${result.max} requests in ${timeWindow / 1000} s; retry in ${retryAfter} s`,
        { headers: { 'retry-after': String(retryAfter) }, extra: { scope, limit: result.max, retryAfter } },
      )
    }
  })
}

/** Register after the identity plugin, whose onRequest hook must run before this one. */
export default fp(rateLimits, { name: 'rate-limits', fastify: '5.x', dependencies: ['identity'] })
