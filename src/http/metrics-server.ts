import Fastify, { type FastifyInstance } from 'fastify'
import type { AccessLog } from '../accesslog/access-log.js'
import { collectProcessMetrics, type Metrics } from './metrics.js'
import { schemaController } from './validator-compiler.js'

/**
 * The Prometheus endpoint, on a listener of its own (`metrics {host, port}`) rather than on the API port:
 * metrics name adapters, routes and volumes of traffic, which are not for every caller of the API, and a
 * scraper holds no token. Keep its host on loopback or an operations network.
 */
export function buildMetricsApp(metrics: Metrics, log: Pick<AccessLog, 'size'>): FastifyInstance {
  collectProcessMetrics(metrics)
  const app = Fastify({ logger: false, schemaController: schemaController() })
  app.get('/metrics', async (_request, reply) => {
    metrics.logSize.set(log.size())
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  return app
}
