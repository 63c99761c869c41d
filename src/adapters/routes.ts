import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { components } from '../generated/gateway.js'
import { denyWith, logFor } from '../http/audit.js'
import { hasRole } from '../identity/principal.js'
import { GatewayError } from '../http/errors.js'
import { specRoute } from '../http/spec-route.js'
import { type Action, decide } from '../policy/decide.js'
import type { Services } from '../services.js'
import { runConformance } from './conformance.js'
import type { ResponseValidators } from './responses.js'
import { claims, conflicts, servingAdapter } from './routing.js'
import type { Adapter, Store } from './types.js'

type AdapterCreate = components['schemas']['AdapterCreate']
type AdapterUpdate = components['schemas']['AdapterUpdate']
const STORES: Store[] = ['trial', 'execution']

/** The public view of a registration: the CA certificate is configuration, not something to echo around. */
function present(adapter: Adapter) {
  const { caCertificate: _ca, ...rest } = adapter
  return { ...rest, ...(adapter.caCertificate ? { hasCaCertificate: true } : {}) }
}

export async function adapterRoutes(app: FastifyInstance, services: Services & { validators: ResponseValidators }) {
  const { spec, adapters, log, policy, now, directory, adapterClient } = services

  async function allowed(request: FastifyRequest, action: Action, adapter: Partial<Adapter>) {
    const decision = decide(
      request.principal!,
      action,
      {
        ...(adapter.court ? { adapterCourt: adapter.court } : {}),
        ...(adapter.covers ? { covers: adapter.covers } : {}),
      },
      undefined,
      now(),
      policy,
    )
    if (!decision.allow) {
      await denyWith(
        log,
        request,
        {
          action,
          resource: {
            ...(adapter.court ? { court: adapter.court } : {}),
            ...(adapter.id ? { adapter: adapter.id } : {}),
          },
        },
        new GatewayError(decision.reason, decision.message),
      )
    }
  }

  function load(id: string): Adapter {
    const adapter = adapters.get(id)
    if (!adapter) throw new GatewayError('NOT_FOUND', 'no such adapter')
    return adapter
  }

  /** Who serves each of `adapter`'s claimed (court, store) pairs, given the registrations `all`. */
  const servers = (adapter: Adapter, all: Adapter[]) =>
    claims(adapter).map(({ court, store }) => ({
      court,
      store,
      adapter: servingAdapter(all, court, store, directory)?.id,
    }))

  /**
   * Pairs grouped by store and adapter, courts listed once each: a leaf is at most 16 KiB (DESIGN §6) and an
   * adapter may cover 200 courts, too many for one object per (court, store). `key` names the adapter field.
   */
  function grouped(
    pairs: Array<{ court: string; store: Store; adapter?: string | undefined }>,
    key: 'adapter' | 'from',
  ) {
    const groups = new Map<string, { store: Store; courts: string[]; adapter?: string | undefined }>()
    for (const { court, store, adapter } of pairs) {
      const name = `${store} ${adapter ?? ''}`
      const group = groups.get(name) ?? { store, courts: [], adapter }
      group.courts.push(court)
      groups.set(name, group)
    }
    return [...groups.values()].map(({ store, courts, adapter }) => ({
      store,
      courts,
      ...(adapter ? { [key]: adapter } : {}),
    }))
  }

  /**
   * The 409 for activating `adapter` beside an equally specific active adapter of a court's store, if any.
   * Synchronous on purpose: the activation checks and updates without yielding in between, so two activations
   * cannot both pass the check.
   */
  function conflictOf(adapter: Adapter): GatewayError | undefined {
    const first = conflicts(adapter, adapters.list(), directory)[0]
    if (!first) return undefined
    return new GatewayError(
      'ADAPTER_CONFLICT',
      `adapter ${first.adapter.id} already serves the ${first.store} store of court ${first.court}`,
      {
        extra: { conflictsWith: first.adapter.id, court: first.court, store: first.store },
      },
    )
  }

  /**
   * Which adapters the caller may see (the spec of listAdapters and getAdapter): operators every one, a
   * court-admin those of their own court, nobody else any. Base URLs say where a court's file system listens.
   */
  async function visibleTo(request: FastifyRequest): Promise<(adapter: Adapter) => boolean> {
    const principal = request.principal!
    if (principal.org.kind === 'operator' && hasRole(principal, 'operator')) return () => true
    if (principal.org.kind === 'court' && hasRole(principal, 'court-admin')) {
      const own = principal.org.code
      return (adapter) => adapter.court === own
    }
    return denyWith(
      log,
      request,
      { action: 'adapter.view', resource: {} },
      new GatewayError('FORBIDDEN', 'only operators and court-admins see adapters'),
    )
  }

  const changed = (request: FastifyRequest, action: Action, adapter: Adapter, detail: Record<string, unknown>) =>
    logFor(log, request, {
      action,
      resource: { court: adapter.court, adapter: adapter.id },
      phase: 'event',
      decision: 'allow',
      detail,
    })

  specRoute(app, spec, 'createAdapter', async (request, reply) => {
    const body = request.body as AdapterCreate
    if (!directory.court(body.court)) {
      await denyWith(
        log,
        request,
        { action: 'adapter.register', resource: { court: body.court } },
        // A 400 naming the field, as for grants: the URL exists, the body names something that does not.
        new GatewayError('VALIDATION_FAILED', `court ${body.court} is not in the directory`, {
          extra: { field: 'court' },
        }),
      )
    }
    await allowed(request, 'adapter.register', { court: body.court, covers: body.covers ?? [] })
    adapterClient.checkBaseUrl(body.baseUrl)
    const at = now().toISOString()
    const adapter: Adapter = {
      id: randomUUID(),
      court: body.court,
      baseUrl: body.baseUrl.replace(/\/+$/, ''),
      covers: body.covers ?? [],
      stores: (body.stores as Store[] | undefined) ?? STORES,
      ...(body.description ? { description: body.description } : {}),
      ...(body.caCertificate ? { caCertificate: body.caCertificate } : {}),
      ...(body.probeCase ? { probeCase: body.probeCase } : {}),
      status: 'pending',
      createdBy: request.principal!.sub,
      createdAt: at,
      updatedAt: at,
    }
    adapters.insert(adapter)
    await changed(request, 'adapter.register', adapter, {
      baseUrl: adapter.baseUrl,
      covers: adapter.covers,
      stores: adapter.stores,
    })
    return reply.code(201).header('location', `/v1/adapters/${adapter.id}`).send(present(adapter))
  })

  specRoute(app, spec, 'listAdapters', async (request) => {
    const visible = await visibleTo(request)
    return { items: adapters.list().filter(visible).map(present) }
  })

  /**
   * The adapter `id` if the caller may see it. The role is checked first (a 403 that says nothing about the
   * adapter); another court's adapter then answers exactly like a missing one, so its existence is not disclosed.
   */
  async function visibleAdapter(request: FastifyRequest, id: string, action: Action): Promise<Adapter> {
    const visible = await visibleTo(request)
    const adapter = adapters.get(id)
    if (!adapter || !visible(adapter)) {
      return denyWith(
        log,
        request,
        { action, resource: { adapter: id } },
        new GatewayError('NOT_FOUND', 'no such adapter'),
      )
    }
    return adapter
  }

  specRoute(app, spec, 'getAdapter', async (request) =>
    present(await visibleAdapter(request, (request.params as { id: string }).id, 'adapter.view')),
  )

  specRoute(app, spec, 'activateAdapter', async (request, reply) => {
    const { id } = request.params as { id: string }
    const adapter = load(id)
    const resource = { court: adapter.court, adapter: adapter.id }
    await allowed(request, 'adapter.activate', { id: adapter.id, court: adapter.court })
    // Refused before the checks too, so a conflicting adapter is not probed for nothing.
    const early = conflictOf(adapter)
    if (early) await denyWith(log, request, { action: 'adapter.activate', resource }, early)
    const checks = await runConformance(adapter, adapterClient, services.validators, {
      sub: request.principal!.sub,
      org: request.principal!.org.code,
      grant: 'conformance-check',
      purpose: 'conformance-check',
      log: log.size(),
    })
    if (checks.some((check) => !check.ok)) {
      await denyWith(
        log,
        request,
        { action: 'adapter.activate', resource, detail: { checks } },
        new GatewayError(
          'CONFORMANCE_FAILED',
          `adapter ${adapter.id} failed ${checks.filter((c) => !c.ok).length} check(s)`,
          {
            extra: { checks },
          },
        ),
      )
    }
    // The checks awaited the network: the registration may have changed and another adapter may have been
    // activated meanwhile, so both are read again, and nothing awaits from the check to the update.
    const current = load(id)
    const late = conflictOf(current)
    if (late) await denyWith(log, request, { action: 'adapter.activate', resource }, late)
    const before = servers(current, adapters.list())
    const at = now().toISOString()
    const active: Adapter = { ...current, status: 'active', activatedAt: at, updatedAt: at }
    adapters.update(active)
    // The courts and stores this activation takes over, and from whom, so the log shows every change of hands.
    const takesOver = before
      .filter((pair) => pair.adapter !== active.id)
      .filter((pair) => servingAdapter(adapters.list(), pair.court, pair.store, directory)?.id === active.id)
    await changed(request, 'adapter.activate', active, {
      from: current.status,
      checks: checks.map((c) => c.name),
      takesOver: grouped(takesOver, 'from'),
    })
    return reply.send(present(active))
  })

  specRoute(app, spec, 'suspendAdapter', async (request) => {
    const { id } = request.params as { id: string }
    await allowed(request, 'adapter.suspend', { id, court: load(id).court })
    // Read again after the await, so a change made meanwhile (an activation, say) is not written back over.
    const adapter = load(id)
    const served = servers(adapter, adapters.list()).filter((pair) => pair.adapter === adapter.id)
    const at = now().toISOString()
    const suspended: Adapter = { ...adapter, status: 'suspended', suspendedAt: at, updatedAt: at }
    adapters.update(suspended)
    // Who serves what it served: the next covering adapter, if any (DESIGN §4, changes without gaps). A group
    // without `adapter` is a gap; entries leave out what does not apply rather than write null (DESIGN §6).
    const all = adapters.list()
    const handedTo = grouped(
      served.map(({ court, store }) => ({ court, store, adapter: servingAdapter(all, court, store, directory)?.id })),
      'adapter',
    )
    await changed(request, 'adapter.suspend', suspended, { from: adapter.status, handedTo })
    return present(suspended)
  })

  specRoute(app, spec, 'updateAdapter', async (request) => {
    const { id } = request.params as { id: string }
    const body = request.body as AdapterUpdate
    const existing = await visibleAdapter(request, id, 'adapter.update')
    await allowed(request, 'adapter.update', { id, court: existing.court, covers: body.covers ?? existing.covers })
    if (body.baseUrl !== undefined) adapterClient.checkBaseUrl(body.baseUrl)
    // Read again after the awaits; any change sends the adapter back to pending: it serves nothing until an
    // operator has run the conformance checks on what it now is.
    const adapter = load(id)
    const at = now().toISOString()
    const updated: Adapter = {
      ...adapter,
      ...(body.baseUrl !== undefined ? { baseUrl: body.baseUrl.replace(/\/+$/, '') } : {}),
      ...(body.covers !== undefined ? { covers: body.covers } : {}),
      ...(body.stores !== undefined ? { stores: body.stores as Store[] } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.caCertificate !== undefined ? { caCertificate: body.caCertificate } : {}),
      ...(body.probeCase !== undefined ? { probeCase: body.probeCase } : {}),
      status: 'pending',
      updatedAt: at,
    }
    adapters.update(updated)
    const { caCertificate: _ca, ...fields } = body
    await changed(request, 'adapter.update', updated, {
      from: adapter.status,
      changed: Object.keys(body),
      ...fields,
      ...(body.caCertificate !== undefined ? { caCertificateChanged: true } : {}),
    })
    return present(updated)
  })

  specRoute(app, spec, 'getAdapterHealth', async (request) => {
    const adapter = await visibleAdapter(request, (request.params as { id: string }).id, 'adapter.view')
    return services.health.status(adapter)
  })

  specRoute(app, spec, 'listCourts', async () => {
    const all = adapters.list()
    return {
      items: directory.courts().map((court) => {
        const serving: Partial<Record<Store, { id: string; status: string }>> = {}
        for (const store of STORES) {
          const adapter = servingAdapter(all, court.code, store, directory)
          if (adapter) serving[store] = { id: adapter.id, status: adapter.status }
        }
        return { ...court, adapters: serving }
      }),
    }
  })

  specRoute(
    app,
    spec,
    'getJwks',
    async (_request, reply) => reply.header('cache-control', 'max-age=300').send(services.signer.jwks()),
    {
      config: { public: true },
    },
  )
}
