import { GatewayError } from './errors.js'

/** Redis reconnects within a couple of seconds of coming back (src/limits/redis.ts). */
const RETRY_AFTER_SECONDS = 5

/** 503 `LIMITS_UNAVAILABLE`: a shared counter (Redis) could not count this request. `cause` reaches only the server log. */
export function limitsUnavailable(what: string, cause: unknown): GatewayError {
  return new GatewayError('LIMITS_UNAVAILABLE', `${what} cannot be counted now; retry in ${RETRY_AFTER_SECONDS} s`, {
    cause,
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    extra: { retryAfter: RETRY_AFTER_SECONDS },
  })
}
