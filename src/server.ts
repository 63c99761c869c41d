import type { FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { type AccessLog, closeInterruptedIntents, TransparencyLog } from './accesslog/access-log.js'
import { AddressPolicy, type Resolver } from './adapters/addresses.js'
import { AdapterClient } from './adapters/client.js'
import { HealthMonitor } from './adapters/health.js'
import { createResponseValidators } from './adapters/responses.js'
import { loadOrCreateKey, RequestSigner } from './adapters/signing.js'
import { buildApp } from './app.js'
import type { Config } from './config/types.js'
import { loadDirectory } from './directory/directory.js'
import { DocumentQuota, type DocumentReadCounter, SqliteDocumentReadCounter } from './files/quota.js'
import { createMetrics } from './http/metrics.js'
import { buildMetricsApp } from './http/metrics-server.js'
import { loadSpec } from './http/openapi.js'
import { type DevIssuer, loadDevIssuer } from './identity/dev-issuer.js'
import { ADAPTER_SPEC, GATEWAY_SPEC } from './paths.js'
import { openPostgresStorage } from './storage/postgres.js'
import { openSqliteStorage } from './storage/sqlite.js'
import type { Storage } from './storage/storage.js'
import { createPublicKey } from 'node:crypto'

/** The gateway's own issuer name in the tokens it signs for adapters. */
export const GATEWAY_ISSUER = 'court-file-gateway'

export interface Gateway {
  app: FastifyInstance
  log: AccessLog
  devIssuer: DevIssuer | undefined
  /** The Prometheus endpoint when `metrics` is configured; whoever starts the gateway listens on it. */
  metrics: FastifyInstance | undefined
  /** Stops taking requests, lets in-flight reads finish, signs a last checkpoint and closes the database. */
  close(): Promise<void>
}

/**
 * Builds every service from the configuration and the app on top. Start-up order matters for crash
 * safety: the log is opened (and checked against its last signed checkpoint) and intents left open by a
 * crash are closed as `interrupted` before any request is taken.
 */
export async function createGateway(
  config: Config,
  /** `resolve` stands in for DNS, so tests can point names where real DNS would not. */
  options: { logger?: boolean | object; now?: () => Date; resolve?: Resolver } = {},
) {
  const dev = config.dev?.issuer === true
  const storage = await openStorage(config.storage)
  const metrics = createMetrics()
  const now = options.now ?? (() => new Date())
  const logKey = loadOrCreateKey(config.accessLog.signingKeyFile, dev)
  const log = await TransparencyLog.open({
    store: storage.log,
    origin: config.accessLog.origin,
    signingKey: logKey,
    publicKey: createPublicKey(logKey),
    checkpointIntervalMs: config.accessLog.checkpointIntervalMs,
    now,
    onBatch: (size, seconds) => {
      metrics.logBatchSize.observe(size)
      metrics.logAppendSeconds.observe(seconds)
    },
  })
  await closeInterruptedIntents(log, await storage.log.openIntents())

  const directory = loadDirectory(config.directory)
  const signer = await RequestSigner.create(GATEWAY_ISSUER, loadOrCreateKey(config.adapters.signingKeyFile, dev))
  const adapterClient = new AdapterClient({
    signer,
    timeoutMs: config.adapters.timeoutMs,
    allowHttp: config.adapters.allowHttp,
    addresses: new AddressPolicy(config.adapters.allowedNetworks),
    ...(options.resolve ? { resolve: options.resolve } : {}),
    breaker: config.adapters.breaker,
    metrics,
  })
  const health = new HealthMonitor(adapterClient, storage.adapters)
  health.start(config.adapters.healthIntervalMs)
  const devIssuer = dev ? loadDevIssuer(config.dev?.keyFile, config.dev ?? {}) : undefined
  const inflight = new Set<Promise<unknown>>()
  const app = await buildApp({
    services: {
      config,
      directory,
      policy: { policy: config.policy, directory },
      grants: storage.grants,
      adapters: storage.adapters,
      log,
      adapterClient,
      health,
      signer,
      spec: loadSpec(GATEWAY_SPEC),
      validators: createResponseValidators(loadSpec(ADAPTER_SPEC)),
      metrics,
      quota: new DocumentQuota(storage.documentReads, config.limits.documentsPerDay, now),
      now,
    },
    devIssuer,
    inflight,
    logger: options.logger ?? false,
  })
  const metricsApp = config.metrics ? buildMetricsApp(metrics, log) : undefined
  let closed: Promise<void> | undefined
  const close = () => {
    closed ??= (async () => {
      await metricsApp?.close()
      await app.close()
      // A read that began streaming while the server was closing may still be logging its outcome.
      await Promise.allSettled([...inflight])
      await log.close()
      await health.stop()
      await adapterClient.close()
      await storage.close()
    })()
    return closed
  }
  return { app, log, devIssuer, metrics: metricsApp, close } satisfies Gateway
}

/** The stores the configuration names: the SQLite file (the default) or a PostgreSQL database. */
async function openStorage(
  storage: Config['storage'],
): Promise<Storage & { readonly documentReads: DocumentReadCounter }> {
  if (storage.kind === 'postgres') return openPostgresStorage(storage.url)
  const sqlite = openSqliteStorage(storage.path)
  return { ...sqlite, documentReads: new SqliteDocumentReadCounter(sqlite.db) }
}

/** Pino options: JSON lines, request ids, and never a bearer token in a log line. */
export const LOGGER_OPTIONS = {
  level: process.env.LOG_LEVEL ?? 'info',
  redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
}

/** Serves until SIGTERM/SIGINT, then shuts down gracefully (in-flight streams finish, the log is flushed). */
export async function serve(config: Config): Promise<Gateway> {
  const gateway = await createGateway(config, { logger: LOGGER_OPTIONS })
  closeWithGrace({ delay: 30_000 }, async ({ err, signal }) => {
    if (err) gateway.app.log.error({ err }, 'shutting down after an error')
    else gateway.app.log.info({ signal }, 'shutting down')
    await gateway.close()
  })
  await gateway.app.listen({ host: config.server.host, port: config.server.port })
  if (gateway.metrics && config.metrics) {
    await gateway.metrics.listen({ host: config.metrics.host, port: config.metrics.port })
  }
  return gateway
}
