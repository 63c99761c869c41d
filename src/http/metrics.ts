import { createRequire } from 'node:module'
import type * as PromClient from 'prom-client'

/**
 * prom-client's metric classes, each loaded by itself: the package's index also loads the default metrics,
 * the push gateway, the cluster aggregator and OpenTelemetry's API (about 20 ms of CPU per start, against
 * about 4 ms for these). They are the modules the index exports; prom-client 15 has no `exports` map.
 */
const require = createRequire(import.meta.url)
const Registry = require('prom-client/lib/registry.js') as typeof PromClient.Registry
const Counter = require('prom-client/lib/counter.js') as typeof PromClient.Counter
const Gauge = require('prom-client/lib/gauge.js') as typeof PromClient.Gauge
const Histogram = require('prom-client/lib/histogram.js') as typeof PromClient.Histogram

/** The gateway's Prometheus metrics (docs/operators.md#metrics-and-alerts), on a registry of its own so tests can build many apps. */
export function createMetrics() {
  const registry = new Registry()
  return {
    registry,
    requests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'] as const,
      registers: [registry],
    }),
    upstreamSeconds: new Histogram({
      name: 'gateway_adapter_request_duration_seconds',
      help: 'Time to response headers from court adapters',
      labelNames: ['adapter', 'outcome'] as const,
      registers: [registry],
    }),
    breakerOpen: new Gauge({
      name: 'gateway_adapter_breaker_open',
      help: '1 while an adapter circuit breaker is open',
      labelNames: ['adapter'] as const,
      registers: [registry],
    }),
    logBatchSize: new Histogram({
      name: 'gateway_access_log_batch_size',
      help: 'Entries committed per access-log transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    logAppendSeconds: new Histogram({
      name: 'gateway_access_log_commit_seconds',
      help: 'Time to sequence and durably commit one access-log batch',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    logSize: new Gauge({ name: 'gateway_access_log_size', help: 'Entries in the access log', registers: [registry] }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/**
 * Adds Node's own metrics (CPU, memory, event-loop lag, GC) to the registry. Called only when the metrics
 * listener is configured, since nothing else reads them: setting them up (a GC observer, an event-loop delay
 * histogram, a dozen gauges) took about 30 ms of every start.
 */
export function collectProcessMetrics(metrics: Metrics): void {
  const { collectDefaultMetrics } = require('prom-client') as typeof PromClient
  collectDefaultMetrics({ register: metrics.registry })
}
