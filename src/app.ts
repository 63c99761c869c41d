import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { auditRoutes } from './accesslog/routes.js'
import type { ResponseValidators } from './adapters/responses.js'
import { adapterRoutes } from './adapters/routes.js'
import { fileRoutes } from './files/routes.js'
import { grantRoutes } from './grants/routes.js'
import { opsRoutes } from './http/ops-routes.js'
import problemPlugin from './http/problem-plugin.js'
import rateLimits from './http/rate-limit.js'
import identityPlugin from './identity/authenticate.js'
import type { DevIssuer } from './identity/dev-issuer.js'
import type { Services } from './services.js'

export interface AppOptions {
  services: Services & { validators: ResponseValidators }
  devIssuer?: DevIssuer | undefined
  logger?: FastifyServerOptions['logger']
  /** Reads that are still streaming or logging their outcome; close waits for them. */
  inflight?: Set<Promise<unknown>>
  /** Serve HTTPS with this certificate chain and key (PEM), instead of plain HTTP. */
  https?: { cert: Buffer; key: Buffer } | undefined
  /**
   * Addresses and CIDR blocks of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed;
   * from anyone else those headers are ignored, so a client cannot choose the address it is logged under.
   */
  trustProxy?: string[]
}

/** The largest JSON body the API accepts; every request body of the spec is far smaller. */
const BODY_LIMIT = 64 * 1024

/** Composition only: plugins first, then the routes, each route plugin owning one part of the API. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { services } = options
  const inflight = options.inflight ?? new Set<Promise<unknown>>()
  let closing = false
  const app = Fastify({
    ...(options.https ? { https: options.https } : {}),
    trustProxy: options.trustProxy !== undefined && options.trustProxy.length > 0 ? options.trustProxy : false,
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
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
  await app.register(identityPlugin, {
    identity: services.config.identity,
    findOrg: (code: string) => services.directory.org(code),
    ...(options.devIssuer ? { devIssuer: options.devIssuer } : {}),
  })
  // After identity: the limits count people and organisations, so they need the principal.
  const { requestsPerMinute, organisationRequestsPerMinute } = services.config.limits
  await app.register(rateLimits, {
    log: services.log,
    perUser: requestsPerMinute,
    perOrganisation: organisationRequestsPerMinute,
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
