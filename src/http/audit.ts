import type { FastifyRequest } from 'fastify'
import type { AccessLog } from '../accesslog/access-log.js'
import { actorOf, type EntryInput } from '../accesslog/entry.js'
import type { GatewayError } from './errors.js'

/** Appends an entry on behalf of the request's principal, with its request id. */
export function logFor(
  log: AccessLog,
  request: FastifyRequest,
  entry: Omit<EntryInput, 'actor' | 'requestId'>,
): Promise<number> {
  return log.append({
    requestId: request.id,
    ...(request.principal ? { actor: actorOf(request.principal) } : {}),
    ...entry,
  })
}

/** Logs a refusal, then throws it: every deny is in the log before the client hears of it. */
export async function denyWith(
  log: AccessLog,
  request: FastifyRequest,
  entry: Omit<EntryInput, 'actor' | 'requestId' | 'phase' | 'decision' | 'reason'>,
  error: GatewayError,
): Promise<never> {
  await logFor(log, request, { ...entry, phase: 'event', decision: 'deny', reason: error.code })
  throw error
}
