import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { components } from '../generated/gateway.js'
import { denyWith, logFor } from '../http/audit.js'
import { GatewayError } from '../http/errors.js'
import { specRoute } from '../http/spec-route.js'
import { type Action, decide } from '../policy/decide.js'
import type { Services } from '../services.js'
import { runConformance } from './conformance.js'
import type { ResponseValidators } from './responses.js'
import { conflicts, servingAdapter } from './routing.js'
import type { Adapter, Store } from './types.js'

type AdapterCreate = components['schemas']['AdapterCreate']
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
      { ...(adapter.court ? { adapterCourt: adapter.court } : {}), ...(adapter.covers ? { covers: adapter.covers } : {}) },
      undefined,
      now(),
      policy,
    )
    if (!decision.allow) {
      await denyWith(
        log,
        request,
        { action, resource: { ...(adapter.court ? { court: adapter.court } : {}), ...(adapter.id ? { adapter: adapter.id } : {}) } },
        new GatewayError(decision.reason, decision.message),
      )
    }
  }

  function load(id: string): Adapter {
    const adapter = adapters.get(id)
    if (!adapter) throw new GatewayError('NOT_FOUND', 'no such adapter')
    return adapter
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
      await denyWith(log, request, { action: 'adapter.register', resource: { court: body.court } }, new GatewayError('NOT_FOUND', `court ${body.court} is not in the directory`))
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
    return reply.code(201).send(present(adapter))
  })

  specRoute(app, spec, 'listAdapters', async () => ({ items: adapters.list().map(present) }))

  specRoute(app, spec, 'getAdapter', async (request) => present(load((request.params as { id: string }).id)))

  specRoute(app, spec, 'activateAdapter', async (request, reply) => {
    const adapter = load((request.params as { id: string }).id)
    await allowed(request, 'adapter.activate', { id: adapter.id, court: adapter.court })
    const clashes = conflicts(adapter, adapters.list(), directory)
    if (clashes.length > 0) {
      const first = clashes[0]!
      await denyWith(
        log,
        request,
        { action: 'adapter.activate', resource: { court: adapter.court, adapter: adapter.id } },
        new GatewayError(
          'ADAPTER_CONFLICT',
          `adapter ${first.adapter.id} already serves the ${first.store} store of court ${first.court}`,
          { extra: { conflictsWith: first.adapter.id, court: first.court, store: first.store } },
        ),
      )
    }
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
        { action: 'adapter.activate', resource: { court: adapter.court, adapter: adapter.id }, detail: { checks } },
        new GatewayError('CONFORMANCE_FAILED', `adapter ${adapter.id} failed ${checks.filter((c) => !c.ok).length} check(s)`, {
          extra: { checks },
        }),
      )
    }
    const at = now().toISOString()
    const active: Adapter = { ...adapter, status: 'active', activatedAt: at, updatedAt: at }
    adapters.update(active)
    await changed(request, 'adapter.activate', active, { checks: checks.map((c) => c.name) })
    return reply.send(present(active))
  })

  specRoute(app, spec, 'suspendAdapter', async (request) => {
    const adapter = load((request.params as { id: string }).id)
    await allowed(request, 'adapter.suspend', { id: adapter.id, court: adapter.court })
    const at = now().toISOString()
    const suspended: Adapter = { ...adapter, status: 'suspended', suspendedAt: at, updatedAt: at }
    adapters.update(suspended)
    // Who serves the courts now: the next covering adapter, if any (DESIGN §4, changes without gaps).
    const all = adapters.list()
    const handedTo = [adapter.court, ...adapter.covers].flatMap((court) =>
      adapter.stores.map((store) => ({ court, store, adapter: servingAdapter(all, court, store, directory)?.id ?? null })),
    )
    await changed(request, 'adapter.suspend', suspended, { from: adapter.status, handedTo })
    return present(suspended)
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

  specRoute(app, spec, 'getJwks', async (_request, reply) => reply.header('cache-control', 'max-age=300').send(services.signer.jwks()), {
    config: { public: true },
  })
}
