import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { OpenApiSpec } from './openapi.js'

/** Hop-by-hop and framing headers of the inner answer: the outer reply sets its own. */
const NOT_FORWARDED = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date'])

/**
 * The API reference (`/docs`, `/docs/json`, `/docs/yaml`, `/docs/static/*`), served by @fastify/swagger and
 * @fastify/swagger-ui as before, but built on the first request rather than at start: loading them (with
 * @fastify/static and the `yaml` package) took about a tenth of a start, and a start does not need them.
 *
 * The routes registered here are the gateway's own, so every hook of the gateway (request id, rate limits,
 * metrics, problem answers, the `public` flag and the getDocs schema set by app.ts's onRoute hook) applies as
 * it did. Each request is passed to a small Fastify instance holding the two plugins, by `inject`; what it
 * cannot find becomes the gateway's own 404.
 */
export function docsRoutes(app: FastifyInstance, spec: OpenApiSpec): void {
  let docsApp: Promise<FastifyInstance> | undefined
  const build = async (): Promise<FastifyInstance> => {
    const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
      import('@fastify/swagger'),
      import('@fastify/swagger-ui'),
    ])
    const inner = Fastify({ logger: false })
    await inner.register(swagger, { mode: 'static', specification: { document: spec as never } })
    await inner.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } })
    await inner.ready()
    return inner
  }
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    docsApp ??= build().catch((error: unknown) => {
      docsApp = undefined // a later request tries again
      throw error
    })
    const inner = await docsApp
    const answer = await inner.inject({
      method: request.method as 'GET' | 'HEAD',
      url: request.url,
      headers: request.headers,
    })
    if (answer.statusCode === 404) return reply.callNotFound()
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) reply.header(name, value)
    }
    return reply.code(answer.statusCode).send(answer.rawPayload)
  }
  app.get('/docs', handler)
  app.get('/docs/*', handler)
}
