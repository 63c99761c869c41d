import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { denyWith, logFor, refusal } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { specRoute } from '../http/spec-route.js'
import { type CourtScope, decide, type Resource } from '../policy/decide.js'
import type { Services } from '../services.js'
import type { LoggedEntry } from './access-log.js'
import type { EntryFilter } from './store.js'

const DEFAULT_LIMIT = 100

/** A non-negative index or size from the query string; the spec's pattern already refused non-digits. */
function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new GatewayError('INVALID_PROOF_REQUEST', `${name} must be a whole number from 0 to 2^53-1`)
  }
  return number
}

/** Cursors are opaque to clients: the base64url of the last index they were given. */
function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return -1
  const text = Buffer.from(cursor, 'base64url').toString('utf8')
  const match = /^c1:(\d{1,16})$/.exec(text)
  const index = match ? Number(match[1]) : Number.NaN
  if (!Number.isSafeInteger(index)) throw new GatewayError('VALIDATION_FAILED', 'unknown cursor')
  return index
}

const encodeCursor = (index: number) => Buffer.from(`c1:${index}`, 'utf8').toString('base64url')

/**
 * The auditor API (docs/auditors.md#getting-the-material). Procuratorate and audit-body auditors see everything; a court's auditor sees
 * the entries about its own court (and the hashes, which reveal nothing else); every query is itself logged.
 */
export async function auditRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { spec, log, policy, now } = services

  /**
   * Asks decide() about an auditor's query and logs it, allowed or refused (every query is in the log);
   * returns the court a court auditor's answers are limited to, if any. `action` is what decide() rules on;
   * the log records every such question as an `audit.query` with what was asked in `detail`.
   */
  async function authorise(
    request: FastifyRequest,
    what: string,
    action: 'audit.query' | 'audit.entry' | 'audit.export' = 'audit.query',
    resource: Resource = {},
    asked: Record<string, unknown> = {},
  ): Promise<CourtScope> {
    const decision = decide(request.principal!, action, resource, undefined, now(), policy)
    const detail = { query: what, ...asked, ...(request.query as Record<string, unknown>) }
    if (!decision.allow) {
      return denyWith(log, request, { action: 'audit.query', detail }, refusal(decision))
    }
    const { court } = decision.scope
    // A court auditor's query is about its court, so that it sees its own queries in the log.
    await logFor(log, request, {
      action: 'audit.query',
      ...(court ? { resource: { court } } : {}),
      phase: 'event',
      decision: 'allow',
      detail,
    })
    return decision.scope
  }

  specRoute(app, spec, 'listAuditEntries', async (request) => {
    const query = request.query as EntryFilter & { cursor?: string; limit?: number }
    const scope = await authorise(request, 'entries', 'audit.query', query.court ? { auditCourt: query.court } : {})
    const after = decodeCursor(query.cursor)
    const limit = query.limit ?? DEFAULT_LIMIT
    const filter: EntryFilter = {}
    for (const key of ['actor', 'org', 'court', 'caseNo', 'grant', 'action', 'decision', 'since', 'until'] as const) {
      if (query[key] !== undefined) filter[key] = query[key]
    }
    if (scope.court) filter.court = scope.court
    const items = await log.query(filter, after, limit)
    const last = items.at(-1)
    return {
      items: items.map(({ index, entry }) => ({ index, entry })),
      ...(items.length === limit && last ? { nextCursor: encodeCursor(last.index) } : {}),
    }
  })

  async function loadEntry(request: FastifyRequest): Promise<LoggedEntry> {
    const index = integer((request.params as { index: string }).index, 'index')!
    const found = await log.get(index)
    await authorise(request, 'entry', 'audit.entry', found ? { entry: { court: found.entry.resource?.court } } : {}, {
      index,
    })
    // decide() allows no entry that is not there.
    return found!
  }

  specRoute(app, spec, 'getAuditEntry', async (request) => {
    const { index, entry, leaf } = await loadEntry(request)
    return { index, entry, leaf: leaf.toString('base64') }
  })

  specRoute(app, spec, 'getAuditEntryReceipt', async (request, reply) => {
    const { index } = await loadEntry(request)
    return reply.type('text/plain; charset=utf-8').send(await log.receipt(index))
  })

  specRoute(app, spec, 'getCheckpoint', async (request, reply) => {
    await authorise(request, 'checkpoint')
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(log.latestCheckpoint().text)
  })

  specRoute(app, spec, 'getVerifierKey', async (request, reply) => {
    await authorise(request, 'key')
    return reply.type('text/plain; charset=utf-8').send(`${log.verifierKey()}\n`)
  })

  specRoute(app, spec, 'getPatternThresholds', async (request) => {
    await authorise(request, 'patterns')
    return services.config.console.patterns
  })

  specRoute(app, spec, 'getInclusionProof', async (request) => {
    const query = request.query as { index: string; size: string }
    const index = integer(query.index, 'index')!
    const size = integer(query.size, 'size')!
    await authorise(request, 'inclusion-proof')
    if (size === 0) throw new GatewayError('INVALID_PROOF_REQUEST', 'size must be at least 1')
    if (size > log.size())
      throw new GatewayError('INVALID_PROOF_REQUEST', `size ${size} is beyond the log (${log.size()})`)
    if (index >= size) throw new GatewayError('INVALID_PROOF_REQUEST', `index ${index} is not below size ${size}`)
    return { index, size, proof: (await log.inclusionProof(index, size)).map((hash) => hash.toString('base64')) }
  })

  specRoute(app, spec, 'getConsistencyProof', async (request) => {
    const query = request.query as { from: string; to: string }
    const from = integer(query.from, 'from')!
    const to = integer(query.to, 'to')!
    await authorise(request, 'consistency-proof')
    if (from === 0)
      throw new GatewayError('INVALID_PROOF_REQUEST', 'from must be at least 1 (an empty tree proves nothing)')
    if (from > to) throw new GatewayError('INVALID_PROOF_REQUEST', `from ${from} is beyond to ${to}`)
    if (to > log.size()) throw new GatewayError('INVALID_PROOF_REQUEST', `to ${to} is beyond the log (${log.size()})`)
    return { from, to, proof: (await log.consistencyProof(from, to)).map((hash) => hash.toString('base64')) }
  })

  specRoute(app, spec, 'exportAudit', async (request, reply) => {
    const query = request.query as { from?: string; to?: string }
    await authorise(request, 'export', 'audit.export')
    const size = log.size()
    const from = integer(query.from, 'from') ?? 0
    // The spec's default: what the latest checkpoint covers, so the export verifies against it as is.
    const to = integer(query.to, 'to') ?? log.latestCheckpoint().size
    if (from > to) throw new GatewayError('INVALID_PROOF_REQUEST', `from ${from} is beyond to ${to}`)
    if (to > size) throw new GatewayError('INVALID_PROOF_REQUEST', `to ${to} is beyond the log (${size})`)
    const lines = (async function* () {
      for await (const { leaf } of log.leaves(from, to)) yield Buffer.concat([leaf, Buffer.from('\n')])
    })()
    return reply
      .type('application/x-ndjson')
      .header('content-disposition', `attachment; filename="access-log-${from}-${to}.ndjson"`)
      .send(Readable.from(lines))
  })
}
