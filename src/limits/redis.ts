import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { Config } from '../config/types.js'

export type RedisConfig = NonNullable<Config['redis']>

/**
 * A shared counter could not be read or changed (Redis down, unreachable or too slow). Thrown by the Redis
 * counters; the HTTP layer answers it with 503 `LIMITS_UNAVAILABLE` or, where `redis.onUnavailable` says
 * so, lets the request through uncounted.
 */
export class LimitsUnavailableError extends Error {
  override name = 'LimitsUnavailableError'
}

/**
 * The client of the shared limits. Every command either answers or fails within bounded time, so a Redis
 * outage never holds a request:
 * - no offline queue: while disconnected, a command fails at once instead of waiting for a reconnect;
 * - `commandTimeout`: a connected server that stops answering fails the command after that long;
 * - `connectTimeout`: a connection attempt to a silent address is given up after that long;
 * - one retry per command at most, and reconnection in the background (capped back-off) for ever, so the
 *   limits come back by themselves when Redis does.
 */
export function connectRedis(config: RedisConfig): Redis {
  // Required here, not imported: the client takes a while to load, and most gateways have no Redis.
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis')
  const client = new RedisClient(config.url, {
    enableOfflineQueue: false,
    connectTimeout: config.connectTimeoutMs,
    commandTimeout: config.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2000),
  })
  // An 'error' event without a listener would be reported as unhandled on every reconnect attempt.
  client.on('error', () => {})
  return client
}

/**
 * Logs when Redis becomes unavailable and when it is back: reconnection repeats the same error every couple
 * of seconds, so each attempt is not logged.
 */
export function logRedisState(
  client: Redis,
  log: { warn: (object: object, message: string) => void; info: (message: string) => void },
): void {
  let available = client.status === 'ready'
  if (!available) log.warn({}, 'shared limits: Redis is unavailable; limited requests follow redis.onUnavailable')
  client.on('error', (error) => {
    if (available)
      log.warn({ err: error }, 'shared limits: Redis is unavailable; limited requests follow redis.onUnavailable')
    available = false
  })
  client.on('ready', () => {
    if (!available) log.info('shared limits: Redis is available again')
    available = true
  })
}

/** Resolves once the client is connected, or after `ms` without it: a gateway starts whether Redis is there or not. */
export async function waitForRedis(client: Redis, ms: number): Promise<boolean> {
  if (client.status === 'ready') return true
  let timer: NodeJS.Timeout | undefined
  let onReady: (() => void) | undefined
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      onReady = () => resolve(true)
      client.once('ready', onReady)
    }),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
    }),
  ])
  clearTimeout(timer)
  if (onReady) client.off('ready', onReady)
  return ready
}

/**
 * The shared limits' part of readiness: whether Redis answers (a check named `redis`, only when it is
 * configured), and whether the gateway can be ready without it: while Redis is down, limited requests are
 * refused unless `onUnavailable` is `allow-all`.
 */
export async function sharedLimitsReadiness(
  client: Redis | undefined,
  config: RedisConfig | undefined,
): Promise<{ ready: boolean; checks: { redis?: boolean } }> {
  if (!client || !config) return { ready: true, checks: {} }
  const answers = await redisAnswers(client)
  return { ready: answers || config.onUnavailable === 'allow-all', checks: { redis: answers } }
}

/** Whether Redis answers a PING now (within the command timeout). */
export async function redisAnswers(client: Redis): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  }
}
