import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { auditRoutes } from './accesslog/routes.js'
import type { ResponseValidators } from './adapters/responses.js'
import { adapterRoutes } from './adapters/routes.js'
import { fileRoutes } from './files/routes.js'
import { grantRoutes } from './grants/routes.js'
import { opsRoutes } from './http/ops-routes.js'
import addressLimit from './http/address-limit.js'
import { GatewayError } from './http/errors.js'
import { findUnloggable, isIdentifier } from './http/loggable-input.js'
import problemPlugin from './http/problem-plugin.js'
import rateLimits from './http/rate-limit.js'
import { requestIdFrom } from './http/request-id.js'
import identityPlugin from './identity/authenticate.js'
import type { DevIssuer } from './identity/dev-issuer.js'
import type { Services } from './services.js'

export interface AppOptions {
  services: Services & { validators: ResponseValidators }
  devIssuer?: DevIssuer | undefined
  logger?: FastifyServerOptions['logger']
  /** Reads that are still streaming or logging their outcome; close waits for them. */
  inflight?: Set<Promise<unknown>>
}

/** The largest JSON body the API accepts; every request body of the spec is far smaller. */
const BODY_LIMIT = 64 * 1024

/** Composition only: plugins first, then the routes, each route plugin owning one part of the API. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { services } = options
  const inflight = options.inflight ?? new Set<Promise<unknown>>()
  let closing = false
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    // Fastify would take any client value; requestIdFrom keeps only short, safe ones.
    requestIdHeader: false,
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    // Unknown fields must be refused, not silently dropped: the spec's additionalProperties:false means it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false, strict: false } },
    routerOptions: { maxParamLength: 200 },
  })

  await app.register(problemPlugin)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    services.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    services.metrics.requestSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })
  // Shared limits: counted in Redis by every replica. While Redis cannot answer, request limits let requests
  // through only if `redis.onUnavailable` says so (the document quota decides for itself, in the read route).
  const { redis: redisConfig } = services.config
  const sharedLimits =
    redisConfig && services.redis ? { client: services.redis, keyPrefix: redisConfig.keyPrefix } : undefined
  const requestLimitsFailOpen = sharedLimits !== undefined && redisConfig?.onUnavailable !== 'refuse'
  // Before identity: its hook must run before any token is verified.
  await app.register(addressLimit, {
    failures: services.config.limits.authFailuresPerAddressPerMinute,
    ...(sharedLimits ? { redis: sharedLimits } : {}),
    failOpen: requestLimitsFailOpen,
  })
  await app.register(identityPlugin, {
    identity: services.config.identity,
    findOrg: (code: string) => services.directory.org(code),
    ...(options.devIssuer ? { devIssuer: options.devIssuer } : {}),
  })
  // Input the access log could not hold is refused before any route decides or changes anything (one place
  // for every route: bodies, queries, path parameters and the request id all reach the log).
  app.addHook('preValidation', async (request) => {
    const found = findUnloggable({ params: request.params, query: request.query, body: request.body })
    const problem =
      found ?? (isIdentifier(request.id) ? undefined : { path: 'x-request-id', problem: 'is not an identifier' })
    if (problem) {
      throw new GatewayError('VALIDATION_FAILED', `${problem.path} ${problem.problem}`, {
        extra: { field: problem.path },
      })
    }
  })
  // After identity: the limits count people and organisations, so they need the principal.
  const { requestsPerMinute, organisationRequestsPerMinute } = services.config.limits
  await app.register(rateLimits, {
    log: services.log,
    perUser: requestsPerMinute,
    perOrganisation: organisationRequestsPerMinute,
    ...(sharedLimits ? { store: { redis: sharedLimits.client, nameSpace: `${sharedLimits.keyPrefix}rate:` } } : {}),
    failOpen: requestLimitsFailOpen,
  })
  app.addHook('onRoute', (route) => {
    // The docs UI and its assets are public; every other route states `public` itself or is authenticated.
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true }
  })
  await app.register(swagger, { mode: 'static', specification: { document: services.spec as never } })
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })

  const shared = { ...services, inflight, ready: () => !closing }
  await app.register(async (scope) => {
    await grantRoutes(scope, shared)
    await fileRoutes(scope, shared)
    await adapterRoutes(scope, shared)
    await auditRoutes(scope, shared)
    await opsRoutes(scope, shared)
  })

  app.addHook('preClose', async () => {
    closing = true
    // In-flight reads finish and log their outcomes before the log is closed. Their keep-alive connections
    // are idle afterwards: close them now rather than after Fastify's 72-s keep-alive timeout.
    await Promise.allSettled([...inflight])
    app.server.closeIdleConnections()
  })
  return app
}
