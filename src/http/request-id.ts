import { randomUUID } from 'node:crypto'

/** What a client's `x-request-id` may be to be kept: short, and nothing a log line or a header could choke on. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * The id of a request: the client's `x-request-id` when it is short and safe, so a caller can correlate its
 * own logs with ours, otherwise one of our own. Every id ends up in the access log, so an unbounded one would
 * let any caller grow it at will.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID()
}
