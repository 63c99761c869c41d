import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { auditRoutes } from './accesslog/routes.js'
import type { ResponseValidators } from './adapters/responses.js'
import { adapterRoutes } from './adapters/routes.js'
import { fileRoutes } from './files/routes.js'
import { CatalogueCache } from './files/catalogue-cache.js'
import { ActiveTransfers } from './files/transfers.js'
import { grantRoutes } from './grants/routes.js'
import { consoleRoutes } from './http/console-routes.js'
import { docsRoutes } from './http/docs-routes.js'
import { opsRoutes } from './http/ops-routes.js'
import addressLimit from './http/address-limit.js'
import { GatewayError } from './http/errors.js'
import { findUnloggable } from './http/loggable-input.js'
import { pathMatcher, routeSchema } from './http/openapi.js'
import problemPlugin, { clientErrorHandler, sendProblem, toGatewayError } from './http/problem-plugin.js'
import { responseConformance } from './http/response-conformance.js'
import { schemaController, specValidatorCompiler } from './http/validator-compiler.js'
import rateLimits from './http/rate-limit.js'
import { requestIdFrom } from './http/request-id.js'
import identityPlugin from './identity/authenticate.js'
import type { DevIssuer } from './identity/dev-issuer.js'
import type { Services } from './services.js'
import type { RemoteChange } from './storage/state-cache.js'

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

/**
 * Checks every answer against the spec as it is sent, and logs those that depart from it (staging). It costs
 * 10-20 µs for a small JSON answer and about 0.8 ms for a 28 KB list (bench/response-conformance.ts), and
 * 0.7 s at start-up: off by default. Streamed bodies are checked by status and headers only.
 */
function checkResponses(app: FastifyInstance, spec: Services['spec']): void {
  const conformance = responseConformance(spec)
  app.addHook('onSend', async (request, reply, payload) => {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : payload == null ? '' : undefined
    const headers = reply.getHeaders()
    // Fastify sets Content-Length after onSend; the spec's is the length of what is sent.
    if (body !== undefined && headers['content-length'] === undefined)
      headers['content-length'] = Buffer.byteLength(body)
    const violations = conformance.check({
      method: request.method,
      path: request.url.split('?', 1)[0]!,
      status: reply.statusCode,
      headers,
      body,
    })
    if (violations.length > 0) request.log.error({ violations }, 'answer departs from openapi/gateway.yaml')
    return payload
  })
}

/**
 * Stops the transfers in flight here through a grant another replica revoked, or from an adapter it took out
 * of service, once the change is reported (`all`: every grant and adapter with a transfer is read again). The
 * record is read from the store after the report, so it shows the change.
 */
async function stopEndedElsewhere(
  services: Pick<Services, 'grants' | 'adapters'>,
  transfers: ActiveTransfers,
  change: RemoteChange,
): Promise<void> {
  /** Of the records with transfers here, those the change may have touched. */
  const touched = (ids: string[], kind: 'grant' | 'adapter') =>
    change === 'all' ? ids : ids.filter((id) => change === `${kind}:${id}`)
  for (const id of touched(transfers.grants(), 'grant')) {
    const grant = await services.grants.get(id)
    if (grant === undefined || grant.status === 'revoked') transfers.revoke(id)
  }
  for (const id of touched(transfers.adapters(), 'adapter')) {
    const adapter = await services.adapters.get(id)
    if (adapter?.status !== 'active') transfers.outOfService(id)
  }
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
    // Fastify would take any client value; requestIdFrom keeps only short, safe ones.
    requestIdHeader: false,
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    routerOptions: { maxParamLength: 200 },
    // Refusals by Node's parser and Fastify's router are problem+json too.
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, toGatewayError(error)),
    schemaController: schemaController(),
  })
  app.setValidatorCompiler(specValidatorCompiler())
  // JSON is the only request body the API takes: any other media type is 415, not a string for validation.
  app.removeContentTypeParser('text/plain')

  const knownPath = pathMatcher(services.spec)
  await app.register(problemPlugin, {
    allowedMethods: (path) => {
      const known = knownPath(path)
      if (!known) return undefined
      // Fastify answers HEAD wherever a GET route exposes it: every GET whose operation has no `x-no-head`.
      const url = known.template.replaceAll(/\{(\w+)\}/g, ':$1')
      return app.hasRoute({ method: 'HEAD', url }) ? [...known.methods, 'HEAD'] : known.methods
    },
  })
  if (services.config.server.validateResponses) checkResponses(app, services.spec)
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
  // for every route: bodies, queries and path parameters reach the log; the request id is safe by construction,
  // see requestIdFrom).
  app.addHook('preValidation', async (request) => {
    const problem = findUnloggable({ params: request.params, query: request.query, body: request.body })
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
    // The page itself is an operation of the spec: it validates its request like every other.
    if (route.url === '/docs' && route.method === 'GET') route.schema = routeSchema(services.spec, 'getDocs').schema
  })
  docsRoutes(app, services.spec)

  // Document reads in flight, by grant: a revocation stops the ones already streaming through it.
  const transfers = new ActiveTransfers()
  const catalogues = new CatalogueCache({
    ...services.config.adapters.catalogueCache,
    now: () => services.now().getTime(),
  })
  services.stateChanges?.onRemoteChange((change) => {
    void stopEndedElsewhere(services, transfers, change).catch((error: unknown) =>
      app.log.warn({ err: error }, 'cannot check the transfers of a change made by another replica'),
    )
  })
  const shared = { ...services, inflight, transfers, catalogues, ready: () => !closing }
  await app.register(async (scope) => {
    await grantRoutes(scope, shared)
    await fileRoutes(scope, shared)
    await adapterRoutes(scope, shared)
    await auditRoutes(scope, shared)
    await opsRoutes(scope, shared)
    await consoleRoutes(scope, shared)
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
