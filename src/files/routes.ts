import type { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AdapterClient, AdapterResponse } from '../adapters/client.js'
import { mapError, releaseEmpty, statusError } from '../adapters/client.js'
import { resolveAdapter } from '../adapters/resolve.js'
import type { AdapterDocument, AdapterVolume, AdapterVolumes, ResponseValidators } from '../adapters/responses.js'
import type { RequestClaims } from '../adapters/signing.js'
import type { Adapter, Store } from '../adapters/types.js'
import { parseCaseNumber, storeForTypeCode } from '../directory/case-number.js'
import { adapterUnavailable, grantResource, sameCaseNumber } from '../grants/routes.js'
import type { Grant } from '../grants/types.js'
import type { OutcomeResult } from '../accesslog/entry.js'
import { denyWith, logFor, refusal } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { limitsUnavailable } from '../http/limits-unavailable.js'
import { specRoute } from '../http/spec-route.js'
import { type Action, decide } from '../policy/decide.js'
import type { Services } from '../services.js'
import { LimitsUnavailableError } from '../limits/redis.js'
import { forwardChecked, IntegrityError, reprDigest, sha256FromReprDigest } from './digest-guard.js'
import { DigestUnavailableError, InlineHasher, type StreamHasher } from './digests.js'
import type { CatalogueCache } from './catalogue-cache.js'
import { ENTITY_TAG } from './entity-tag.js'
import type { QuotaCheck } from './quota.js'
import { servedMediaType } from './media-types.js'
import { type ByteRange, contentRange, parseRange, rangeLength } from './range.js'
import type { ActiveTransfers, DocumentTransfer, TransferEnd } from './transfers.js'

/** Case numbers whose store is kept (then all are forgotten at once): far more than are read in a day. */
const MAX_KEPT_CASES = 10_000

/** A case catalogue as a read sees it: kept from an earlier read, or sent (or confirmed) for this one. */
interface CatalogueView {
  catalogue: AdapterVolumes
  key: string
  fromCourt: boolean
}

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
  services: Services & {
    validators: ResponseValidators
    inflight: Set<Promise<unknown>>
    transfers: ActiveTransfers
    catalogues: CatalogueCache
  },
): Promise<void> {
  const { spec, grants, log, policy, now, validators, transfers, catalogues } = services
  const legacyCourts = services.directory.legacyCourts()
  const client: AdapterClient = services.adapterClient

  /**
   * The file store (trial or execution) of a grant's case, from its case type, worked out once per case:
   * parsing the case number again on every read was 2 % of a read's CPU. A grant's case number never changes.
   */
  const storesOfCases = new Map<string, Store | undefined>()
  function storeOfCase(caseNo: string): Store | undefined {
    if (storesOfCases.has(caseNo)) return storesOfCases.get(caseNo)
    const store = storeForTypeCode(parseCaseNumber(caseNo, { legacyCourts }).typeCode)
    if (storesOfCases.size >= MAX_KEPT_CASES) storesOfCases.clear()
    storesOfCases.set(caseNo, store)
    return store
  }

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
      return denyWith(log, request, { action, resource: about }, refusal(decision))
    }
    // decide() allows no read without a grant.
    const grant = found!
    const resource = { ...grantResource(grant), ...(document ? { document } : {}) }
    const store = storeOfCase(grant.caseNo)
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
    result: { result: OutcomeResult; status?: number; bytes?: number; sha256?: string },
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
    const summary = await guarded(request, context, action, async () => {
      const answer = validators.caseSummary(
        await client.getJson(context.adapter, casePath(context.grant), context.claims, 'case'),
        context.adapter,
      )
      if (answer.court !== context.grant.court) anotherCase(context)
      return ofThisCase(answer, context)
    })
    await outcome(request, context, action, { result: 'completed', status: 200 })
    return noStore(reply, context.intent).send(summary)
  })

  specRoute(app, spec, 'getGrantVolumes', async (request, reply) => {
    const action = 'volumes.read'
    const context = await begin(request, action)
    const { catalogue } = await guarded(request, context, action, () => catalogueFor(context, true))
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
    let quota: QuotaCheck
    try {
      quota = await services.quota.take(principal.org.code, principal.sub)
    } catch (error) {
      if (!(error instanceof LimitsUnavailableError)) throw error
      // Fail closed unless the operator chose otherwise: an uncounted read would be a way around the quota.
      if (services.config.redis?.onUnavailable === 'allow-all') {
        request.log.warn({ err: error }, 'document read not counted: the shared quota did not answer')
        return
      }
      return denyWith(
        log,
        request,
        { action: 'document.read', resource, detail: { quota: 'documentsPerDay' } },
        limitsUnavailable('the daily document quota', error),
      )
    }
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

  /**
   * The case's catalogue for a read: the kept one while within its lifetime (unless `ask`), otherwise the
   * court's, asked with If-None-Match when it sent an ETag (a 304 keeps the catalogue for another lifetime).
   * A failed request forgets what was kept: the court is not trusted to answer the next read from it.
   */
  async function catalogueFor(context: ReadContext, ask: boolean): Promise<CatalogueView> {
    const key = catalogues.key(context.adapter, context.grant.caseNo)
    const kept = catalogues.get(key)
    if (kept?.current && !ask) return { ...kept.entry, key, fromCourt: false }
    try {
      const path = `${casePath(context.grant)}/volumes`
      const answer = await client.getRevalidated(context.adapter, path, context.claims, 'case', kept?.entry.etag)
      // getRevalidated answers 304 only to an If-None-Match, which is sent only with a kept entry.
      const entry =
        'notModified' in answer
          ? catalogues.set(key, context.adapter, kept!.entry)
          : catalogues.set(key, context.adapter, {
              catalogue: ofThisCase(validators.volumes(answer.body, context.adapter), context),
              etag: answer.etag,
            })
      return { ...entry, key, fromCourt: true }
    } catch (error) {
      catalogues.delete(key)
      throw error
    }
  }

  /**
   * A court's answer about a case must be about the grant's case: another case's summary or catalogue shown
   * under this grant (and logged as this case) would disclose a case nobody was granted.
   */
  function ofThisCase<T extends { caseNo: string }>(answer: T, context: ReadContext): T {
    if (!sameCaseNumber(answer.caseNo, context.grant.caseNo, legacyCourts)) anotherCase(context)
    return answer
  }

  function anotherCase(context: ReadContext): never {
    throw new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${context.adapter.id} answered with another case`)
  }

  specRoute(app, spec, 'getGrantDocument', async (request, reply) => {
    const action = 'document.read'
    const { documentId } = request.params as { documentId: string }
    const context = await begin(request, action, documentId, (resource) => takeQuota(request, resource))
    let view = await guarded(request, context, action, () => catalogueFor(context, false))
    for (;;) {
      const read = await readDocument(request, reply, context, view, documentId)
      if (read !== 'revalidate') return read
      // The catalogue was kept, not sent for this read, and the read hinged on it or the court's answer
      // disagreed with it: once more with the court's current catalogue, which cannot come back here.
      view = await guarded(request, context, action, () => catalogueFor(context, true))
    }
  })

  /**
   * One attempt at a document read from `view`. Answers 'revalidate' — before anything reached the client
   * and without an outcome — when `view` was kept rather than sent for this read and might be why the read
   * is refused or would be wrongly allowed (docs/courts.md#catalogue-cache): the document missing, in the
   * sub-volume, of a type or size that refuses the read; a main-volume read through a grant without the
   * sub-volume that the court does not confirm with Volume-Kind; a court answer naming other bytes or
   * another volume. A stale catalogue can thus make a read slower, never more permissive.
   */
  async function readDocument(
    request: FastifyRequest,
    reply: FastifyReply,
    context: ReadContext,
    view: CatalogueView,
    documentId: string,
  ): Promise<FastifyReply | 'revalidate'> {
    const action = 'document.read'
    const kept = !view.fromCourt
    // The volume a document belongs to comes from the court's catalogue, never from the client.
    const refuse = async (failure: GatewayError): Promise<never> => {
      await outcome(request, context, action, { result: 'failed', status: failure.status }, failure.code)
      throw failure
    }
    const volume = view.catalogue.volumes.find((v) => v.documents.some((d) => d.id === documentId))
    const document = volume?.documents.find((d) => d.id === documentId)
    if (!volume || !document) {
      if (kept) return 'revalidate'
      return refuse(new GatewayError('NOT_FOUND', 'no such document in this case'))
    }
    context.resource = { ...context.resource, volume: volume.kind } as ReadContext['resource']
    const principal = request.principal!
    const decision = decide(principal, action, { volume: volume.kind }, context.grant, now(), policy)
    if (!decision.allow) {
      if (kept) return 'revalidate'
      return refuse(refusal(decision))
    }
    const mediaType = servedMediaType(document.mediaType)
    if (!mediaType) {
      if (kept) return 'revalidate'
      return refuse(
        new GatewayError('DOCUMENT_TYPE_NOT_SERVED', `documents of type ${document.mediaType} are not served`),
      )
    }
    const range = parseRange(headerOf(request.headers.range), document.size)
    if (range === 'unsatisfiable') {
      if (kept) return 'revalidate'
      return refuse(
        new GatewayError('RANGE_NOT_SATISFIABLE', 'the requested range is not satisfiable', {
          headers: { 'content-range': `bytes */${document.size}` },
        }),
      )
    }
    // Allowed as a main-volume document to a grant that could not read it in the sub-volume: a kept
    // catalogue must be confirmed, by the court's Volume-Kind on the document, or by asking for the catalogue
    // first when this court's last document answer named no volume.
    const confirm = kept && !decide(principal, action, { volume: 'sub' }, context.grant, now(), policy).allow
    if (confirm && !catalogues.confirmsVolumes(context.adapter.id)) return 'revalidate'
    const ifNoneMatch = headerOf(request.headers['if-none-match'])
    const expected: Expected = {
      document,
      volume: volume.kind,
      range,
      ifNoneMatch: ifNoneMatch !== undefined,
      bytes: range ? rangeLength(range) : document.size,
    }
    // Only what the gateway checked goes to the court: one satisfiable range, normalised.
    const forwarded: Record<string, string> = { accept: '*/*' }
    if (range) forwarded.range = `bytes=${range.first}-${range.last}`
    if (ifNoneMatch !== undefined) forwarded['if-none-match'] = ifNoneMatch

    const transfer = transfers.start(context.grant.id, context.adapter.id, client.deadlineMs(expected.bytes))
    // A revocation (or the adapter leaving service) that became durable while the catalogue was fetched did
    // not see this transfer registered; one after the registration stops it. Checked in that order, none
    // slips between the two.
    const [grantNow, adapterNow] = await Promise.all([
      grants.get(context.grant.id),
      services.adapters.get(context.adapter.id),
    ])
    if (grantNow?.status === 'revoked') transfer.stop('revoked')
    if (adapterNow?.status !== 'active') transfer.stop('out-of-service')
    const raw = reply.raw
    const clientGone = () => {
      if (!raw.writableFinished) transfer.stop('client-gone')
    }
    raw.on('close', clientGone)
    if (raw.destroyed) clientGone()
    const path = `${casePath(context.grant)}/documents/${encodeURIComponent(documentId)}`
    let upstream: AdapterResponse | undefined
    try {
      upstream = await client.get(context.adapter, path, context.claims, forwarded, { signal: transfer.signal })
      const named = upstream.headers['volume-kind']
      catalogues.noteVolumeHeader(context.adapter.id, named === 'main' || named === 'sub')
      if (kept && !transfer.end && contradicts(upstream, expected, confirm)) {
        upstream.body.destroy()
        raw.off('close', clientGone)
        transfer.dispose()
        catalogues.delete(view.key)
        return 'revalidate'
      }
      checkUpstream(upstream, expected, context.adapter, () =>
        validators.documentHeaders(upstream!.status, upstream!.headers, context.adapter),
      )
    } catch (error) {
      transfer.settle({ kind: 'failed', error })
    }
    if (raw.destroyed) clientGone()
    if (!upstream || transfer.end) {
      upstream?.body.destroy()
      await finish(request, reply, context, action, transfer, undefined, view.key)
      return reply
    }

    noStore(reply, context.intent)
    const etag = upstream.headers.etag
    if (typeof etag === 'string' && ENTITY_TAG.test(etag)) reply.header('etag', etag)
    if (upstream.status === 304) {
      releaseEmpty(upstream.body)
      transfer.settle({ kind: 'completed' })
      await finish(request, reply, context, action, transfer, { status: 304, bytes: 0 }, view.key)
      return reply.code(304).send()
    }
    // A court may answer a Range with the whole document (RFC 9110 §14.2): then it is checked as a whole.
    const whole = upstream.status === 200
    reply
      .code(upstream.status)
      .header('content-type', mediaType)
      .header('x-content-type-options', 'nosniff')
      .header('content-length', String(whole ? document.size : expected.bytes))
      .header('accept-ranges', 'bytes')
      .header('repr-digest', reprDigest(document.sha256))
    if (!whole) reply.header('content-range', contentRange(range!, document.size))
    const bytes = whole ? document.size : expected.bytes
    const check = { sha256: whole ? document.sha256 : undefined, bytes, hasher: hasherFor(bytes) }
    return streamDocument(request, reply, context, action, upstream.body, check, transfer, view.key)
  }

  /**
   * Logs the read's one outcome from how its transfer ended, and answers the client when nothing was sent
   * yet: the refusal as a problem, nothing at all to a client that has gone.
   */
  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    context: ReadContext,
    action: Action,
    transfer: DocumentTransfer,
    sent: { status: number; bytes: number; sha256?: string } | undefined,
    catalogueKey: string,
  ): Promise<void> {
    transfer.dispose()
    const end = transfer.end!
    // A court failure or bytes other than the catalogue's may mean the kept catalogue is out of date: the
    // next read asks for it.
    if (end.kind === 'failed' || end.kind === 'deadline') catalogues.delete(catalogueKey)
    const failure = failureOf(end, context.adapter)
    const status = sent?.status ?? failure?.status
    await outcome(
      request,
      context,
      action,
      {
        result: RESULTS[end.kind],
        ...(status === undefined ? {} : { status }),
        ...(sent ? { bytes: sent.bytes, ...(sent.sha256 ? { sha256: sent.sha256 } : {}) } : {}),
      },
      failure?.code,
    )
    if (sent) return
    if (failure) throw failure
    // The client has gone before anything was sent: there is nobody to answer.
    reply.hijack()
    reply.raw.destroy()
  }

  /**
   * Large documents are hashed on a worker thread while the main thread forwards their bytes; below the
   * threshold the copy to the worker and the messages cost more than hashing inline (BENCHMARKS.md).
   */
  function hasherFor(bytes: number): StreamHasher {
    const from = services.config.adapters.hashInWorkerFromBytes
    return services.digests && from > 0 && bytes >= from ? services.digests.hasher() : new InlineHasher()
  }

  /**
   * Streams without buffering; headers go out at once (with Access-Log-Index: with the first bytes, or at
   * the next turn of the event loop when none follow at once), even when the body is held back for its
   * digest check. The outcome is appended once the transfer ends, and tracked in `inflight` so
   * shutdown waits for it. A transfer that did not complete is cut for the client (the connection is
   * destroyed short of its Content-Length), never ended cleanly.
   */
  function streamDocument(
    request: FastifyRequest,
    reply: FastifyReply,
    context: ReadContext,
    action: Action,
    body: Readable,
    check: { sha256: string | undefined; bytes: number; hasher: StreamHasher },
    transfer: DocumentTransfer,
    catalogueKey: string,
  ): FastifyReply {
    reply.hijack()
    const raw = reply.raw
    const status = reply.statusCode
    raw.writeHead(status, reply.getHeaders() as Record<string, string>)
    // The cause is recorded (first one wins) before the streams are torn down.
    const onFailure = (error: unknown) => transfer.settle({ kind: 'failed', error })
    const onLeftToCollector = services.socketBuffers?.forwarded
    // The body is undici's, read from the court's socket into a fresh buffer per read: nothing else holds them.
    const done = forwardChecked(body, raw, {
      ...check,
      onFailure,
      freeWrittenBuffers: true,
      ...(onLeftToCollector ? { onLeftToCollector } : {}),
    })
      .then(({ sent, error }) => {
        if (error === undefined) transfer.settle({ kind: 'completed' })
        else request.log.warn({ err: error, intent: context.intent }, 'document transfer did not complete')
        return sent
      })
      .then((sent) => finish(request, reply, context, action, transfer, { status, ...sent }, catalogueKey))
    const tracked = done.catch((error: unknown) => request.log.error({ err: error }, 'cannot log read outcome'))
    services.inflight.add(tracked)
    void tracked.finally(() => services.inflight.delete(tracked))
    return reply
  }
}

interface Expected {
  document: AdapterDocument
  /** The document's volume in the catalogue the read was decided on. */
  volume: AdapterVolume['kind']
  range: ByteRange | undefined
  ifNoneMatch: boolean
  /** Bytes of the body: the document's size, or the range's length. */
  bytes: number
}

/**
 * Whether a court's document answer disagrees with a kept catalogue in a way a current one might not: no
 * such document, another volume named (or none, where the read needs it named: `confirm`), another digest,
 * or another size. Only asked of kept catalogues; against one the court has just sent, the same answer is
 * the court's fault (checkUpstream).
 */
function contradicts(upstream: AdapterResponse, expected: Expected, confirm: boolean): boolean {
  const { status, headers } = upstream
  if (status === 404) return true
  const named = headers['volume-kind']
  if (named === undefined ? confirm : named !== expected.volume) return true
  const announced = sha256FromReprDigest(headers['repr-digest'])
  if (announced !== undefined && announced !== expected.document.sha256) return true
  const length = headers['content-length']
  if (status === 200 && length !== undefined && length !== String(expected.document.size)) return true
  const range = headers['content-range']
  return status === 206 && typeof range === 'string' && !range.endsWith(`/${expected.document.size}`)
}

/**
 * Refuses (destroying the body) every court answer the client's request could not have caused, or that
 * announces other bytes than the catalogue's: a 206 without a Range we sent or for another range, a 304
 * without If-None-Match, a length or a digest that is not the catalogue's, and headers off the adapter
 * contract (`checkContract`, which throws ADAPTER_BAD_RESPONSE).
 */
function checkUpstream(
  upstream: AdapterResponse,
  expected: Expected,
  adapter: Adapter,
  checkContract: () => void,
): void {
  const { status, headers } = upstream
  const refuse = (failure: GatewayError): never => {
    upstream.body.destroy()
    throw failure
  }

  const bad = (what: string) => refuse(new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} ${what}`))
  const contract = () => {
    try {
      checkContract()
    } catch (error) {
      refuse(error as GatewayError)
    }
  }
  if (status === 404) refuse(new GatewayError('NOT_FOUND', 'the court adapter has no such document'))
  // The court's own catalogue decided the read; a document answer placing it elsewhere leaves its volume unknown.
  const named = headers['volume-kind']
  if (named !== undefined && named !== expected.volume) bad(`named volume ${String(named)}, not its catalogue's`)
  if (status === 304) {
    if (!expected.ifNoneMatch) bad('answered 304 to a request without If-None-Match')
    contract()
    return
  }
  if (status === 206) {
    const range = expected.range
    if (!range) bad('answered 206 to a request without Range')
    if (headers['content-range'] !== contentRange(range!, expected.document.size)) {
      bad('answered 206 with a Content-Range other than the one requested')
    }
  } else if (status !== 200) {
    refuse(statusError(status, adapter))
  }
  const length = headers['content-length']
  const bytes = status === 200 ? expected.document.size : expected.bytes
  if (length !== undefined && length !== String(bytes)) {
    refuse(new GatewayError('DOCUMENT_INTEGRITY_FAILED', `the court adapter announced ${length} bytes, not ${bytes}`))
  }
  // The representation digest must be the catalogue's: otherwise the bytes are not the document the
  // catalogue (and the log) describe.
  const announced = sha256FromReprDigest(headers['repr-digest'])
  if (announced !== undefined && announced !== expected.document.sha256) {
    refuse(new GatewayError('DOCUMENT_INTEGRITY_FAILED', 'the court adapter announced a different digest'))
  }
  // Last, so that an answer announcing other bytes is named an integrity failure rather than a contract one.
  contract()
}

const RESULTS: Record<TransferEnd['kind'], OutcomeResult> = {
  completed: 'completed',
  'client-gone': 'aborted',
  revoked: 'revoked',
  'out-of-service': 'failed',
  deadline: 'failed',
  failed: 'failed',
}

/** The coded error of a transfer that did not complete, or undefined (completed, or the client left). */
function failureOf(end: TransferEnd, adapter: Adapter): GatewayError | undefined {
  switch (end.kind) {
    case 'completed':
    case 'client-gone':
      return undefined
    case 'revoked':
      return new GatewayError('GRANT_NOT_ACTIVE', 'the grant was revoked during the read')
    case 'out-of-service':
      return new GatewayError('ADAPTER_UNAVAILABLE', `adapter ${adapter.id} was taken out of service during the read`, {
        extra: { court: adapter.court },
      })
    case 'deadline':
      return new GatewayError('ADAPTER_TIMEOUT', `adapter ${adapter.id} did not send the document in time`)
    case 'failed':
      if (end.error instanceof IntegrityError) {
        return new GatewayError('DOCUMENT_INTEGRITY_FAILED', 'the document failed its integrity check')
      }
      // The gateway's own fault, not the court's: the bytes could not be checked, so their end was withheld.
      if (end.error instanceof DigestUnavailableError) {
        return new GatewayError('INTERNAL', 'the document could not be checked', { cause: end.error })
      }
      return mapError(end.error, adapter)
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}

function purposeOf(grant: Grant) {
  return { supervisionCase: grant.supervisionCase, ...(grant.approvedBy ? { approvedBy: grant.approvedBy } : {}) }
}

function noStore(reply: FastifyReply, intent: number): FastifyReply {
  return reply.header('cache-control', 'no-store').header('access-log-index', String(intent))
}
