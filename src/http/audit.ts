import type { FastifyRequest } from 'fastify'
import type { AccessLog } from '../accesslog/access-log.js'
import { actorOf, type EntryInput } from '../accesslog/entry.js'
import { ChangeConflict, type StateChange } from '../storage/state-change.js'
import type { Denial } from '../policy/decide.js'
import { GatewayError } from './errors.js'

/**
 * Appends an entry on behalf of the request's principal, with its request id; with `change`, the change the
 * entry records, in the same transaction (AccessLog.append).
 */
export function logFor(
  log: AccessLog,
  request: FastifyRequest,
  entry: Omit<EntryInput, 'actor' | 'requestId'>,
  change?: StateChange,
): Promise<number> {
  return log.append(
    {
      requestId: request.id,
      ...(request.principal ? { actor: actorOf(request.principal) } : {}),
      ...entry,
    },
    change,
  )
}

/**
 * Makes `change` and the entry recording it one unit: resolves once both are durable. When the change's
 * condition no longer holds (someone changed the record meanwhile), nothing changed: the refusal `conflict`
 * is logged as a deny and thrown. Any other failure (ACCESS_LOG_UNAVAILABLE) is thrown as it is.
 */
export async function changeWith(
  log: AccessLog,
  request: FastifyRequest,
  entry: Omit<EntryInput, 'actor' | 'requestId'>,
  change: StateChange,
  conflict: () => GatewayError | Promise<GatewayError>,
): Promise<number> {
  try {
    return await logFor(log, request, entry, change)
  } catch (error) {
    if (!(error instanceof ChangeConflict)) throw error
    return denyWith(
      log,
      request,
      { action: entry.action, ...(entry.resource ? { resource: entry.resource } : {}) },
      await conflict(),
    )
  }
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

/** The coded error a client gets for a refusal of decide(), naming the field when the input is at fault. */
export function refusal(denial: Denial): GatewayError {
  return new GatewayError(denial.reason, denial.message, denial.field ? { extra: { field: denial.field } } : undefined)
}
