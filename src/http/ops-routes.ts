import type { FastifyInstance } from 'fastify'
import { sharedLimitsReadiness } from '../limits/redis.js'
import { specRoute } from './spec-route.js'
import type { Services } from '../services.js'

/**
 * Liveness, readiness and the API description: public, for load balancers and people. Metrics have a listener
 * of their own (src/http/metrics-server.ts).
 */
export async function opsRoutes(app: FastifyInstance, services: Services & { ready: () => boolean }): Promise<void> {
  const { spec, log } = services
  const open = { config: { public: true } }

  specRoute(app, spec, 'healthz', async () => ({ status: 'ok' }), open)

  specRoute(
    app,
    spec,
    'readyz',
    async (_request, reply) => {
      // Ready means: not shutting down, and the access log answers (nothing can be served without it).
      let logOk = true
      try {
        log.size()
      } catch {
        logOk = false
      }
      const limits = await sharedLimitsReadiness(services.redis, services.config.redis)
      const ready = services.ready() && logOk && limits.ready
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not-ready',
        checks: {
          accessLog: logOk ? 'ok' : 'unavailable',
          shuttingDown: !services.ready(),
          ...limits.checks,
        },
      })
    },
    open,
  )

  app.get('/openapi.json', { config: { public: true } }, async () => spec)
}
