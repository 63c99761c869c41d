import { pipeline } from 'node:stream/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AdapterClient } from '../adapters/client.js'
import { mapError, statusError } from '../adapters/client.js'
import { resolveAdapter } from '../adapters/resolve.js'
import type { AdapterVolume, ResponseValidators } from '../adapters/responses.js'
import type { RequestClaims } from '../adapters/signing.js'
import type { Adapter } from '../adapters/types.js'
import { parseCaseNumber, storeForTypeCode } from '../directory/case-number.js'
import { adapterUnavailable, grantResource } from '../grants/routes.js'
import type { Grant } from '../grants/types.js'
import { denyWith, logFor } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { specRoute } from '../http/spec-route.js'
import { type Action, decide } from '../policy/decide.js'
import type { Services } from '../services.js'
import { DigestGuard, IntegrityError, reprDigest, sha256FromReprDigest } from './digest-guard.js'

/** Headers of the adapter's document response that the client gets as they are. */
const PASSED_HEADERS = ['content-type', 'content-length', 'content-range', 'etag', 'accept-ranges', 'last-modified']

interface ReadContext {
  grant: Grant
  adapter: Adapter
  claims: RequestClaims
  intent: number
  started: number
  resource: ReturnType<typeof grantResource> & { document?: string; adapter: string }
}

/**
 * Reads through a grant (docs/architecture.md#read-path): decide → intent logged durably → court adapter → stream → outcome.
 * Nothing is requested from a court before its intent entry is committed, and every read ends in exactly
 * one outcome entry, whatever happens to the transfer.
 */
export async function fileRoutes(
  app: FastifyInstance,
  services: Services & { validators: ResponseValidators; inflight: Set<Promise<unknown>> },
): Promise<void> {
  const { spec, grants, log, policy, now, validators } = services
  const client: AdapterClient = services.adapterClient

  async function begin(
    request: FastifyRequest,
    action: Action,
    document?: string,
    beforeIntent?: (resource: ReadContext['resource']) => Promise<void>,
  ): Promise<ReadContext> {
    const { id } = request.params as { id: string }
    const principal = request.principal!
    const found = await grants.get(id)
    // First the main-volume check; a document's own volume is checked once the catalogue has named it.
    // decide() answers a grant the reader may not know of exactly like a missing one.
    const decision = decide(principal, action, { volume: 'main' }, found, now(), policy)
    if (!decision.allow) {
      const about = { ...(found ? grantResource(found) : { grant: id }), ...(document ? { document } : {}) }
      return denyWith(log, request, { action, resource: about }, new GatewayError(decision.reason, decision.message))
    }
    // decide() allows no read without a grant.
    const grant = found!
    const resource = { ...grantResource(grant), ...(document ? { document } : {}) }
    const store = storeForTypeCode(parseCaseNumber(grant.caseNo).typeCode)
    const adapter = store ? await resolveAdapter(services, grant.court, store) : undefined
    if (!adapter) return denyWith(log, request, { action, resource }, adapterUnavailable(grant.court, store))
    await beforeIntent?.({ ...resource, adapter: adapter.id })
    const intent = await logFor(log, request, {
      action,
      resource: { ...resource, adapter: adapter.id },
      purpose: purposeOf(grant),
      phase: 'intent',
      decision: 'allow',
    })
    const claims = {
      court: grant.court,
      sub: principal.sub,
      org: principal.org.code,
      grant: grant.id,
      purpose: grant.supervisionCase,
      log: intent,
    }
    return { grant, adapter, claims, intent, started: Date.now(), resource: { ...resource, adapter: adapter.id } }
  }

  function outcome(
    request: FastifyRequest,
    context: ReadContext,
    action: Action,
    result: { result: 'completed' | 'aborted' | 'failed'; status?: number; bytes?: number; sha256?: string },
    reason?: GatewayError['code'],
  ): Promise<number> {
    return logFor(log, request, {
      action,
      resource: context.resource,
      purpose: purposeOf(context.grant),
      phase: 'outcome',
      decision: reason ? 'deny' : 'allow',
      ...(reason ? { reason } : {}),
      intent: context.intent,
      outcome: { ...result, durationMs: Date.now() - context.started },
    })
  }

  /** Runs `work` after the intent; any failure is logged as the read's outcome before it reaches the client. */
  async function guarded<T>(request: FastifyRequest, context: ReadContext, action: Action, work: () => Promise<T>) {
    try {
      return await work()
    } catch (error) {
      const failure = mapError(error, context.adapter)
      await outcome(request, context, action, { result: 'failed', status: failure.status }, failure.code)
      throw failure
    }
  }

  const casePath = (grant: Grant) => `/v1/cases/${encodeURIComponent(grant.caseNo)}`

  specRoute(app, spec, 'getGrantCase', async (request, reply) => {
    const action = 'case.read'
    const context = await begin(request, action)
    const summary = await guarded(request, context, action, async () =>
      validators.caseSummary(
        await client.getJson(context.adapter, casePath(context.grant), context.claims, 'case'),
        context.adapter,
      ),
    )
    await outcome(request, context, action, { result: 'completed', status: 200 })
    return noStore(reply, context.intent).send(summary)
  })

  specRoute(app, spec, 'getGrantVolumes', async (request, reply) => {
    const action = 'volumes.read'
    const context = await begin(request, action)
    const catalogue = await guarded(request, context, action, () => fetchCatalogue(context))
    const principal = request.principal!
    const volumes = catalogue.volumes.map((volume) => {
      const visible = decide(principal, action, { volume: volume.kind }, context.grant, now(), policy).allow
      return visible
        ? { ...volume, restricted: false }
        : { id: volume.id, kind: volume.kind, title: volume.kind === 'sub' ? '副卷' : '正卷', restricted: true }
    })
    await outcome(request, context, action, { result: 'completed', status: 200 })
    return noStore(reply, context.intent).send({ caseNo: context.grant.caseNo, court: context.grant.court, volumes })
  })

  /**
   * Counts the read against the person's daily quota once it is allowed and before its intent is logged:
   * every attempt that would reach the court counts, re-reads too, and a refusal reaches no court.
   */
  async function takeQuota(request: FastifyRequest, resource: ReadContext['resource']): Promise<void> {
    const principal = request.principal!
    const quota = services.quota.take(principal.org.code, principal.sub)
    if (quota.allowed) return
    await denyWith(
      log,
      request,
      { action: 'document.read', resource, detail: { quota: 'documentsPerDay', limit: quota.limit, day: quota.day } },
      new GatewayError(
        'RATE_LIMITED',
        `the daily quota of ${quota.limit} document reads is used up; it renews at ${quota.resetsAt} (midnight China Standard Time)`,
        {
          headers: { 'retry-after': String(quota.retryAfterSeconds) },
          extra: { scope: 'documentsPerDay', limit: quota.limit, retryAfter: quota.retryAfterSeconds },
        },
      ),
    )
  }

  async function fetchCatalogue(context: ReadContext): Promise<{ volumes: AdapterVolume[] }> {
    const body = await client.getJson(context.adapter, `${casePath(context.grant)}/volumes`, context.claims, 'case')
    return validators.volumes(body, context.adapter)
  }

  specRoute(app, spec, 'getGrantDocument', async (request, reply) => {
    const action = 'document.read'
    const { documentId } = request.params as { documentId: string }
    const context = await begin(request, action, documentId, (resource) => takeQuota(request, resource))

    // The volume a document belongs to comes from the court's catalogue, never from the client.
    const catalogue = await guarded(request, context, action, () => fetchCatalogue(context))
    const volume = catalogue.volumes.find((v) => v.documents.some((d) => d.id === documentId))
    const document = volume?.documents.find((d) => d.id === documentId)
    if (!volume || !document) {
      await outcome(request, context, action, { result: 'failed', status: 404 }, 'NOT_FOUND')
      throw new GatewayError('NOT_FOUND', 'no such document in this case')
    }
    context.resource = { ...context.resource, volume: volume.kind } as ReadContext['resource']
    const decision = decide(request.principal!, action, { volume: volume.kind }, context.grant, now(), policy)
    if (!decision.allow) {
      await outcome(request, context, action, { result: 'failed', status: 403 }, decision.reason)
      throw new GatewayError(decision.reason, decision.message)
    }

    const forwarded: Record<string, string> = { accept: '*/*' }
    const range = request.headers.range
    const ifNoneMatch = request.headers['if-none-match']
    if (typeof range === 'string') forwarded.range = range
    if (typeof ifNoneMatch === 'string') forwarded['if-none-match'] = ifNoneMatch
    const path = `${casePath(context.grant)}/documents/${encodeURIComponent(documentId)}`
    const upstream = await guarded(request, context, action, async () => {
      const response = await client.get(context.adapter, path, context.claims, forwarded)
      if (response.status === 200 || response.status === 206 || response.status === 304) return response
      response.body.resume()
      if (response.status === 404) throw new GatewayError('NOT_FOUND', 'the court adapter has no such document')
      if (response.status === 416) {
        throw new GatewayError('RANGE_NOT_SATISFIABLE', 'the requested range is not satisfiable', {
          headers: { 'content-range': `bytes */${document.size}` },
        })
      }
      throw statusError(response.status, context.adapter)
    })

    // The adapter's representation digest must be the catalogue's: a mismatch means the bytes are not
    // the document the catalogue (and the log) describe.
    const announced = sha256FromReprDigest(upstream.headers['repr-digest'])
    if (upstream.status !== 304 && announced !== undefined && announced !== document.sha256) {
      upstream.body.destroy()
      const failure = new GatewayError('DOCUMENT_INTEGRITY_FAILED', 'the court adapter announced a different digest')
      await outcome(request, context, action, { result: 'failed', status: failure.status }, failure.code)
      throw failure
    }

    noStore(reply, context.intent).code(upstream.status)
    for (const name of PASSED_HEADERS) {
      const value = upstream.headers[name]
      if (typeof value === 'string') reply.header(name, value)
    }
    reply.header('repr-digest', reprDigest(document.sha256))
    if (upstream.status === 304) {
      upstream.body.resume()
      await outcome(request, context, action, { result: 'completed', status: 304, bytes: 0 })
      return reply.send()
    }
    const length = Number(upstream.headers['content-length'])
    const guard = new DigestGuard({
      sha256: upstream.status === 200 ? document.sha256 : undefined,
      bytes: Number.isFinite(length) ? length : upstream.status === 200 ? document.size : undefined,
    })
    return streamDocument(request, reply, context, action, upstream.body, guard, upstream.status)
  })

  /**
   * Streams without buffering. The outcome is appended once the transfer ends (completed, aborted by the
   * client, or failed upstream / integrity), and tracked in `inflight` so shutdown waits for it.
   */
  function streamDocument(
    request: FastifyRequest,
    reply: FastifyReply,
    context: ReadContext,
    action: Action,
    body: NodeJS.ReadableStream,
    guard: DigestGuard,
    status: number,
  ): FastifyReply {
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(status, reply.getHeaders() as Record<string, string>)
    // Headers go out at once (with Access-Log-Index), even when the body is held back for its digest check.
    raw.flushHeaders()
    const done = pipeline(body, guard, raw).then(
      () => outcome(request, context, action, { result: 'completed', status, ...guard.sentSoFar() }),
      (error: unknown) => {
        const integrity = error instanceof IntegrityError
        const clientGone = !integrity && raw.destroyed && !(body as { destroyed?: boolean }).destroyed
        if (!raw.destroyed) raw.destroy()
        const reason = integrity
          ? 'DOCUMENT_INTEGRITY_FAILED'
          : clientGone
            ? undefined
            : mapError(error, context.adapter).code
        request.log.warn({ err: error, intent: context.intent }, 'document transfer did not complete')
        return outcome(
          request,
          context,
          action,
          { result: clientGone ? 'aborted' : 'failed', status, ...guard.sentSoFar() },
          reason,
        )
      },
    )
    const tracked = done.catch((error: unknown) => request.log.error({ err: error }, 'cannot log read outcome'))
    services.inflight.add(tracked)
    void tracked.finally(() => services.inflight.delete(tracked))
    return reply
  }
}

function purposeOf(grant: Grant) {
  return { supervisionCase: grant.supervisionCase, ...(grant.approvedBy ? { approvedBy: grant.approvedBy } : {}) }
}

function noStore(reply: FastifyReply, intent: number): FastifyReply {
  return reply.header('cache-control', 'no-store').header('access-log-index', String(intent))
}
