import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { resolveAdapter } from '../adapters/resolve.js'
import type { ResponseValidators } from '../adapters/responses.js'
import { type LegacyCourts, normaliseCaseNumber, parseCaseNumber, storeForTypeCode } from '../directory/case-number.js'
import type { components } from '../generated/gateway.js'
import { changeWith, denyWith, logFor, refusal } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { specRoute } from '../http/spec-route.js'
import { type Action, decide, type Resource } from '../policy/decide.js'
import type { ActiveTransfers } from '../files/transfers.js'
import type { Services } from '../services.js'
import { ChangeConflict } from '../storage/state-change.js'
import { normaliseMembers } from './members.js'
import { effectiveStatus, type Grant, type GrantStatus } from './types.js'

type CreateGrantBody = components['schemas']['GrantCreate']
const DAY_MS = 86_400_000

/** The grant as clients see it: stored status with expiry applied. */
export function presentGrant(
  grant: Grant,
  now: Date,
): Omit<Grant, 'status'> & { status: ReturnType<typeof effectiveStatus> } {
  return { ...grant, status: effectiveStatus(grant, now) }
}

export async function grantRoutes(
  app: FastifyInstance,
  services: Services & { validators: ResponseValidators; transfers: ActiveTransfers },
): Promise<void> {
  const { spec, grants, log, policy, now } = services
  const legacyCourts = services.directory.legacyCourts()

  /**
   * Loads the grant `id` and asks decide() whether the caller may do `action` to it; a refusal is logged and
   * thrown. decide() answers a grant the caller may not know of exactly like a missing one.
   */
  async function decidedGrant(request: FastifyRequest, id: string, action: Action, resource: Resource = {}) {
    const grant = await grants.get(id)
    const decision = decide(request.principal!, action, resource, grant, now(), policy)
    if (!decision.allow) {
      return denyWith(
        log,
        request,
        { action, resource: grant ? grantResource(grant) : { grant: id } },
        refusal(decision),
      )
    }
    // decide() allows no action on a grant that is not there.
    return grant!
  }

  specRoute(app, spec, 'createGrant', async (request, reply) => {
    const body = request.body as CreateGrantBody
    const principal = request.principal!
    const action = 'grant.create'
    const base = { action, resource: { court: body.court, caseNo: body.caseNo } }
    let caseNo: ReturnType<typeof parseCaseNumber>
    try {
      caseNo = parseCaseNumber(body.caseNo, { legacyCourts })
    } catch (error) {
      return denyWith(log, request, base, error as GatewayError)
    }
    const resource = { ...base.resource, caseNo: caseNo.text }
    const decision = decide(
      principal,
      action,
      {
        court: body.court,
        caseTypeCode: caseNo.typeCode,
        caseCourtCode: caseNo.courtCode,
        // The order in which a client lists the volumes means nothing.
        requestedVolumes: [...body.volumes].sort(),
        ...(body.days === undefined ? {} : { days: body.days }),
      },
      undefined,
      now(),
      policy,
    )
    if (!decision.allow) return denyWith(log, request, { action, resource }, refusal(decision))
    const members = normaliseMembers(body.members ?? [], principal.org.code, principal.sub)
    if (!members.ok) {
      return denyWith(
        log,
        request,
        { action, resource },
        new GatewayError('VALIDATION_FAILED', members.message, { extra: { member: members.member } }),
      )
    }
    const existing = await grants.findOpen(principal.sub, principal.org.code, caseNo.text, body.supervisionCase, now())
    if (existing) return denyWith(log, request, { action, resource }, duplicateGrant(existing.id))
    const store = storeForTypeCode(caseNo.typeCode)
    const adapter = store ? await resolveAdapter(services, body.court, store) : undefined
    if (!adapter || !store) {
      return denyWith(log, request, { action, resource }, adapterUnavailable(body.court, store))
    }

    // The case must exist at the court: that is a request to the court, so its intent is logged first.
    const id = randomUUID()
    const started = Date.now()
    const intent = await logFor(log, request, {
      action,
      resource: { ...resource, grant: id, adapter: adapter.id },
      purpose: { supervisionCase: body.supervisionCase },
      phase: 'intent',
      decision: 'allow',
    })
    /** Closes the intent with the refusal, then refuses: the log tells why the grant was not opened. */
    const failCreate = async (failure: GatewayError): Promise<never> => {
      await logFor(log, request, {
        action,
        resource: { ...resource, grant: id },
        phase: 'outcome',
        decision: 'deny',
        reason: failure.code,
        intent,
        outcome: { result: 'failed', status: failure.status, durationMs: Date.now() - started },
      })
      throw failure
    }
    try {
      const summary = await services.adapterClient.getJson(
        adapter,
        `/v1/cases/${encodeURIComponent(caseNo.text)}`,
        {
          court: body.court,
          sub: principal.sub,
          org: principal.org.code,
          grant: id,
          purpose: body.supervisionCase,
          log: intent,
        },
        'case',
      )
      // The court must answer with this very case, in the contract's shape, before a grant names it.
      const checked = services.validators.caseSummary(summary, adapter)
      if (checked.court !== body.court || !sameCaseNumber(checked.caseNo, caseNo.text, legacyCourts)) {
        throw new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} answered with another case`)
      }
    } catch (error) {
      return failCreate(error as GatewayError)
    }
    const createdAt = now()
    const days = body.days ?? services.config.policy.grantDays
    const grant: Grant = {
      id,
      status: body.volumes.includes('sub') ? 'pending' : 'active',
      court: body.court,
      caseNo: caseNo.text,
      supervisionCase: body.supervisionCase,
      volumes: [...body.volumes].sort() as Grant['volumes'],
      reason: body.reason,
      org: principal.org.code,
      createdBy: principal.sub,
      members: members.members,
      createdAt: createdAt.toISOString(),
      expiresAt: new Date(createdAt.getTime() + days * DAY_MS).toISOString(),
    }
    // The grant opens in the transaction that logs the outcome. The case check awaited the court, so a twin
    // request may have opened the same grant meanwhile: the change's condition refuses a second open grant.
    try {
      await logFor(
        log,
        request,
        {
          action,
          resource: grantResource(grant),
          purpose: { supervisionCase: grant.supervisionCase },
          phase: 'outcome',
          decision: 'allow',
          intent,
          outcome: { result: 'completed', durationMs: Date.now() - started },
          detail: { status: grant.status, volumes: grant.volumes, expiresAt: grant.expiresAt, members: grant.members },
        },
        { kind: 'grant.open', grant },
      )
    } catch (error) {
      // Any other failure leaves the intent to the log rather than log a second outcome here: if the outcome
      // was committed after all (a writer lost after its commit) it already closes it; if not, the log closes
      // the intent as interrupted once it has read the store back (TransparencyLog #closeInDoubt).
      if (!(error instanceof ChangeConflict)) throw error
      const twin = await grants.findOpen(principal.sub, principal.org.code, caseNo.text, body.supervisionCase, now())
      return failCreate(
        twin ? duplicateGrant(twin.id) : new GatewayError('CONFLICT', 'a change made meanwhile conflicts'),
      )
    }
    return reply.code(201).header('location', `/v1/grants/${grant.id}`).send(presentGrant(grant, now()))
  })

  specRoute(app, spec, 'listGrants', async (request) => {
    const query = request.query as { status?: GrantStatus; limit?: number }
    const decision = decide(request.principal!, 'grant.list', {}, undefined, now(), policy)
    if (!decision.allow) {
      return denyWith(log, request, { action: 'grant.list' }, refusal(decision))
    }
    const limit = query.limit ?? 100
    const at = now()
    // The stored status of an expired grant is still pending or active, so the effective status is filtered
    // here, and the page is cut only afterwards, lest expired grants take the places of the ones asked for.
    const stored = query.status === 'expired' ? undefined : query.status
    const listed = await grants.list(
      { ...decision.scope, ...(stored ? { status: stored } : {}) },
      query.status ? Number.MAX_SAFE_INTEGER : limit,
    )
    const items = listed
      .map((grant) => presentGrant(grant, at))
      .filter((grant) => !query.status || grant.status === query.status)
      .slice(0, limit)
    return { items }
  })

  specRoute(app, spec, 'getGrant', async (request) => {
    const { id } = request.params as { id: string }
    return presentGrant(await decidedGrant(request, id, 'grant.view'), now())
  })

  /**
   * Replaces `grant` by `updated` in the transaction that logs the change with who made it, only if nobody
   * changed the grant meanwhile (compare-and-swap on the whole grant); a lost race is refused and logged,
   * and changes nothing.
   */
  async function store(
    request: FastifyRequest,
    action: Action,
    grant: Grant,
    updated: Grant,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await changeWith(
      log,
      request,
      {
        action,
        resource: grantResource(updated),
        purpose: {
          supervisionCase: updated.supervisionCase,
          ...(updated.approvedBy ? { approvedBy: updated.approvedBy } : {}),
        },
        phase: 'event',
        decision: 'allow',
        detail,
      },
      { kind: 'grant.replace', grant: updated, expected: grant },
      () => new GatewayError('INVALID_TRANSITION', 'the grant changed meanwhile; reload it and try again'),
    )
  }

  /** approve, reject and revoke: a decided, compare-and-swapped transition, logged with who did it. */
  function transition(
    operationId: string,
    action: Extract<Action, 'grant.approve' | 'grant.reject' | 'grant.revoke'>,
    apply: (grant: Grant, request: FastifyRequest, at: string) => Grant,
  ): void {
    specRoute(app, spec, operationId, async (request) => {
      const { id } = request.params as { id: string }
      const grant = await decidedGrant(request, id, action)
      const updated = apply(grant, request, now().toISOString())
      await store(request, action, grant, updated, {
        from: grant.status,
        to: updated.status,
        ...(updated.decisionNote ? { note: updated.decisionNote } : {}),
      })
      // Once the revocation is durable, reads already streaming through the grant stop too.
      if (updated.status === 'revoked') services.transfers.revoke(updated.id)
      return presentGrant(updated, now())
    })
  }

  /** Who decided, when, and their note: the same three facts for each transition, in its own fields. */
  const decided =
    (
      status: Grant['status'],
      by: 'approvedBy' | 'rejectedBy' | 'revokedBy',
      at: 'approvedAt' | 'rejectedAt' | 'revokedAt',
    ) =>
    (grant: Grant, request: FastifyRequest, when: string): Grant => {
      const body = (request.body ?? {}) as { note?: string; reason?: string }
      const note = body.note ?? body.reason
      return { ...grant, status, [by]: request.principal.sub, [at]: when, ...(note ? { decisionNote: note } : {}) }
    }
  transition('approveGrant', 'grant.approve', decided('active', 'approvedBy', 'approvedAt'))
  transition('rejectGrant', 'grant.reject', decided('rejected', 'rejectedBy', 'rejectedAt'))
  transition('revokeGrant', 'grant.revoke', decided('revoked', 'revokedBy', 'revokedAt'))

  specRoute(app, spec, 'renewGrant', async (request) => {
    const { id } = request.params as { id: string }
    const { days } = request.body as { days: number }
    const grant = await decidedGrant(request, id, 'grant.renew', { days })
    const expiresAt = new Date(now().getTime() + days * DAY_MS).toISOString()
    const updated: Grant = { ...grant, expiresAt }
    await store(request, 'grant.renew', grant, updated, { from: grant.expiresAt, to: updated.expiresAt, days })
    return presentGrant(updated, now())
  })
}

/** Whether an adapter's case number is `expected` once normalised; an unparsable one is simply not it. */
/** Whether a court's `text` names the case whose normalised number is `expected` (false if it names none). */
export function sameCaseNumber(text: string, expected: string, legacyCourts: LegacyCourts): boolean {
  try {
    return normaliseCaseNumber(text, { legacyCourts }) === expected
  } catch {
    return false
  }
}

export function grantResource(grant: Grant) {
  return { court: grant.court, caseNo: grant.caseNo, grant: grant.id }
}

function duplicateGrant(existing: string): GatewayError {
  return new GatewayError('DUPLICATE_GRANT', `grant ${existing} is already open for this case and supervision case`, {
    extra: { grant: existing },
  })
}

export function adapterUnavailable(court: string, store: string | undefined): GatewayError {
  return new GatewayError(
    'ADAPTER_UNAVAILABLE',
    store
      ? `no active adapter serves the ${store} store of court ${court}`
      : `the case type is served by no file store of court ${court}`,
    { extra: { court, ...(store ? { store } : {}) } },
  )
}
