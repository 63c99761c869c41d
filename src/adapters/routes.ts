import { randomUUID } from 'node:crypto'
import type { CatalogueCache } from '../files/catalogue-cache.js'
import type { ActiveTransfers } from '../files/transfers.js'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { checkAdapter } from '../conformance/activation.js'
import type { components } from '../generated/gateway.js'
import { changeWith, denyWith, refusal } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { loadSpec } from '../http/openapi.js'
import { specRoute } from '../http/spec-route.js'
import { ADAPTER_SPEC } from '../paths.js'
import { type Action, decide, inCourtScope, type Resource } from '../policy/decide.js'
import type { Services } from '../services.js'
import type { StateChange } from '../storage/state-change.js'
import type { ResponseValidators } from './responses.js'
import { claims, conflicts, servingAdapter } from './routing.js'
import type { Adapter, Store } from './types.js'

type AdapterCreate = components['schemas']['AdapterCreate']
type AdapterUpdate = components['schemas']['AdapterUpdate']
const STORES: Store[] = ['trial', 'execution']

/** The registrations of `all` other than `id`. */
const othersThan = (all: Adapter[], id: string) => all.filter((adapter) => adapter.id !== id)

/** The public view of a registration: the CA certificate is configuration, not something to echo around. */
function present(adapter: Adapter) {
  const { caCertificate: _ca, ...rest } = adapter
  return { ...rest, ...(adapter.caCertificate ? { hasCaCertificate: true } : {}) }
}

export async function adapterRoutes(
  app: FastifyInstance,
  services: Services & { validators: ResponseValidators; transfers: ActiveTransfers; catalogues: CatalogueCache },
) {
  const { spec, adapters, log, policy, now, directory, adapterClient } = services

  /** Asks decide() whether the caller may do `action`; a refusal is logged about `about` and thrown. */
  async function allowed(
    request: FastifyRequest,
    action: Action,
    resource: Resource,
    about: { court?: string; adapter?: string },
  ): Promise<void> {
    const decision = decide(request.principal!, action, resource, undefined, now(), policy)
    if (!decision.allow) {
      return denyWith(log, request, { action, resource: about }, refusal(decision))
    }
  }

  /**
   * The adapter `id`, if the caller may do `action` to it. decide() answers one the caller may not know of
   * (another court's, for a court-admin) exactly like a missing one.
   */
  async function decidedAdapter(request: FastifyRequest, id: string, action: Action, resource: Resource = {}) {
    const adapter = await adapters.get(id)
    await allowed(
      request,
      action,
      { ...resource, ...(adapter ? { adapter } : {}) },
      adapter ? { court: adapter.court, adapter: id } : { adapter: id },
    )
    // decide() allows no action on an adapter that is not there.
    return adapter!
  }

  async function load(id: string): Promise<Adapter> {
    const adapter = await adapters.get(id)
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
   * Pairs grouped by store and adapter, courts listed once each: a leaf is at most 16 KiB (docs/architecture.md#entry-format) and an
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
   * Two activations may both pass this check; the one committed second is refused by its change's condition
   * (`unchanged`: every other registration still as read), and its conflict is reported from a fresh read.
   */
  async function conflictOf(adapter: Adapter): Promise<GatewayError | undefined> {
    const first = conflicts(adapter, await adapters.list(), directory)[0]
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
   * Makes `change` (to `adapter`) in the transaction that logs it; refused and logged with `conflict` (by
   * default: changed meanwhile) when a registration it relied on changed meanwhile, changing nothing.
   */
  const changed = (
    request: FastifyRequest,
    action: Action,
    adapter: Adapter,
    detail: Record<string, unknown>,
    change: StateChange,
    conflict: () => GatewayError | Promise<GatewayError> = () =>
      new GatewayError('CONFLICT', `adapter ${adapter.id} changed meanwhile; reload it and try again`),
  ) =>
    changeWith(
      log,
      request,
      { action, resource: { court: adapter.court, adapter: adapter.id }, phase: 'event', decision: 'allow', detail },
      change,
      conflict,
    ).then((index) => {
      // Out of service (suspended, or changed and pending its checks again): reads already streaming from
      // it stop too, as a revocation stops those through a grant.
      if (adapter.status !== 'active') services.transfers.outOfService(adapter.id)
      // Whatever changed (status, URL, what it serves), its catalogues were answers of the registration before.
      services.catalogues.dropAdapter(adapter.id)
      return index
    })

  specRoute(app, spec, 'createAdapter', async (request, reply) => {
    const body = request.body as AdapterCreate
    await allowed(
      request,
      'adapter.register',
      { adapterCourt: body.court, covers: body.covers ?? [] },
      { court: body.court },
    )
    const baseUrl = await adapterClient.vetBaseUrl(body.baseUrl)
    const at = now().toISOString()
    const adapter: Adapter = {
      id: randomUUID(),
      court: body.court,
      baseUrl,
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
    await changed(
      request,
      'adapter.register',
      adapter,
      { baseUrl: adapter.baseUrl, covers: adapter.covers, stores: adapter.stores },
      { kind: 'adapter.register', adapter },
    )
    return reply.code(201).header('location', `/v1/adapters/${adapter.id}`).send(present(adapter))
  })

  specRoute(app, spec, 'listAdapters', async (request) => {
    const decision = decide(request.principal!, 'adapter.list', {}, undefined, now(), policy)
    if (!decision.allow) {
      return denyWith(log, request, { action: 'adapter.list' }, refusal(decision))
    }
    return {
      items: (await adapters.list()).filter((adapter) => inCourtScope(decision.scope, adapter.court)).map(present),
    }
  })

  specRoute(app, spec, 'getAdapter', async (request) =>
    present(await decidedAdapter(request, (request.params as { id: string }).id, 'adapter.view')),
  )

  specRoute(app, spec, 'activateAdapter', async (request, reply) => {
    const { id } = request.params as { id: string }
    const adapter = await decidedAdapter(request, id, 'adapter.activate')
    const resource = { court: adapter.court, adapter: adapter.id }
    // Refused before the checks too, so a conflicting adapter is not probed for nothing.
    const early = await conflictOf(adapter)
    if (early) await denyWith(log, request, { action: 'adapter.activate', resource }, early)
    const conformance = await checkAdapter(
      adapter,
      {
        adapterClient,
        signer: services.signer,
        validators: services.validators,
        adapterSpec: loadSpec(ADAPTER_SPEC),
        legacyCourts: directory.legacyCourts(),
        now,
        socketBuffers: services.socketBuffers,
      },
      { sub: request.principal!.sub, org: request.principal!.org.code, log: log.size() },
    )
    const { checks } = conformance
    if (!conformance.passed) {
      const failed = checks.filter((check) => check.required && check.outcome !== 'pass')
      await denyWith(
        log,
        request,
        { action: 'adapter.activate', resource, detail: { failed: failed.map((check) => check.name) } },
        new GatewayError('CONFORMANCE_FAILED', `adapter ${adapter.id} failed ${failed.length} check(s)`, {
          extra: { checks },
        }),
      )
    }
    // The checks awaited the network: the registration may have changed and another adapter may have been
    // activated meanwhile, so both are read again; and the activation only commits if every registration
    // read here is still as read (another activation may commit between this check and the commit).
    const current = await load(id)
    const late = await conflictOf(current)
    if (late) await denyWith(log, request, { action: 'adapter.activate', resource }, late)
    const all = await adapters.list()
    const before = servers(current, all)
    const at = now().toISOString()
    const active: Adapter = { ...current, status: 'active', activatedAt: at, updatedAt: at, conformance }
    const after = all.map((adapter) => (adapter.id === active.id ? active : adapter))
    // The courts and stores this activation takes over, and from whom, so the log shows every change of hands.
    const takesOver = before
      .filter((pair) => pair.adapter !== active.id)
      .filter((pair) => servingAdapter(after, pair.court, pair.store, directory)?.id === active.id)
    await changed(
      request,
      'adapter.activate',
      active,
      {
        from: current.status,
        checks: checks.filter((c) => c.ok).map((c) => c.name),
        takesOver: grouped(takesOver, 'from'),
      },
      { kind: 'adapter.replace', adapter: active, expected: current, unchanged: othersThan(all, id) },
      async () =>
        (await conflictOf(await load(id))) ??
        new GatewayError('CONFLICT', `adapter ${id} changed meanwhile; try again`),
    )
    return reply.send(present(active))
  })

  specRoute(app, spec, 'suspendAdapter', async (request) => {
    const { id } = request.params as { id: string }
    await decidedAdapter(request, id, 'adapter.suspend')
    // Read again after the await, so a change made meanwhile (an activation, say) is not written back over.
    const adapter = await load(id)
    const all = await adapters.list()
    const served = servers(adapter, all).filter((pair) => pair.adapter === adapter.id)
    const at = now().toISOString()
    const suspended: Adapter = { ...adapter, status: 'suspended', suspendedAt: at, updatedAt: at }
    // Who serves what it served: the next covering adapter, if any (docs/architecture.md#adapters-and-routing, changes without gaps). A group
    // without `adapter` is a gap; entries leave out what does not apply rather than write null (docs/architecture.md#entry-format).
    // The entry names them, so the suspension commits only if no registration changed meanwhile.
    const after = all.map((other) => (other.id === id ? suspended : other))
    const handedTo = grouped(
      served.map(({ court, store }) => ({ court, store, adapter: servingAdapter(after, court, store, directory)?.id })),
      'adapter',
    )
    await changed(
      request,
      'adapter.suspend',
      suspended,
      { from: adapter.status, handedTo },
      { kind: 'adapter.replace', adapter: suspended, expected: adapter, unchanged: othersThan(all, id) },
    )
    return present(suspended)
  })

  specRoute(app, spec, 'updateAdapter', async (request) => {
    const { id } = request.params as { id: string }
    const body = request.body as AdapterUpdate
    // The covers it will have are checked, so a change of the directory cannot be carried over unchecked.
    await decidedAdapter(request, id, 'adapter.update', {
      covers: body.covers ?? (await adapters.get(id))?.covers ?? [],
    })
    const baseUrl = body.baseUrl === undefined ? undefined : await adapterClient.vetBaseUrl(body.baseUrl)
    // Read again after the awaits; any change sends the adapter back to pending: it serves nothing until an
    // operator has run the conformance checks on what it now is.
    const adapter = await load(id)
    const at = now().toISOString()
    const updated: Adapter = {
      ...adapter,
      ...(baseUrl !== undefined ? { baseUrl } : {}),
      ...(body.covers !== undefined ? { covers: body.covers } : {}),
      ...(body.stores !== undefined ? { stores: body.stores as Store[] } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.caCertificate !== undefined ? { caCertificate: body.caCertificate } : {}),
      ...(body.probeCase !== undefined ? { probeCase: body.probeCase } : {}),
      status: 'pending',
      updatedAt: at,
    }
    const { caCertificate: _ca, ...fields } = body
    await changed(
      request,
      'adapter.update',
      updated,
      {
        from: adapter.status,
        changed: Object.keys(body),
        ...fields,
        ...(baseUrl !== undefined ? { baseUrl } : {}),
        ...(body.caCertificate !== undefined ? { caCertificateChanged: true } : {}),
      },
      { kind: 'adapter.replace', adapter: updated, expected: adapter },
    )
    return present(updated)
  })

  specRoute(app, spec, 'getAdapterHealth', async (request) => {
    const adapter = await decidedAdapter(request, (request.params as { id: string }).id, 'adapter.view')
    return services.health.status(adapter)
  })

  specRoute(app, spec, 'listCourts', async () => {
    const all = await adapters.list()
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
