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
      // Ready means: not shutting down, and an access-log append could be written now (nothing can be served
      // without it; the grants and adapters share its database, so the probe covers them too).
      const accessLog = await withDeadline(log.writable(), READINESS_PROBE_MS)
      const serving = services.ready()
      const limits = await sharedLimitsReadiness(services.redis, services.config.redis)
      const ready = serving && accessLog && limits.ready
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks: { accessLog, serving, ...limits.checks } })
    },
    open,
  )

  specRoute(app, spec, 'getOpenApiDocument', async () => spec, open)
}

/** Longer than the log writer's busy timeout (1 s), so a lock held briefly by a checkpoint still passes. */
const READINESS_PROBE_MS = 3000

/** `probe`'s answer, or false when it has none within `ms` (a stuck writer is not ready). */
async function withDeadline(probe: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([probe, late])
  } finally {
    clearTimeout(timer)
  }
}
