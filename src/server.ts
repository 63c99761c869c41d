import type { FastifyInstance } from 'fastify'
import closeWithGrace from 'close-with-grace'
import { type AccessLog, TransparencyLog } from './accesslog/access-log.js'
import { IntentLeases } from './accesslog/intent-leases.js'
import type { SequencerSettings } from './storage/postgres.js'
import { AddressPolicy, type Resolver } from './adapters/addresses.js'
import { AdapterClient } from './adapters/client.js'
import { HealthMonitor } from './adapters/health.js'
import { createResponseValidators } from './adapters/responses.js'
import { loadOrCreateKey, RequestSigner, readPrivateKey } from './adapters/signing.js'
import { buildApp } from './app.js'
import type { Config } from './config/types.js'
import { loadDirectory } from './directory/directory.js'
import {
  BatchedDocumentReadCounter,
  DOCUMENT_READS_UPSERT_SQL,
  cstDay,
  cstDayStart,
  DocumentQuota,
  type DocumentReadCounter,
  readerKey,
} from './files/quota.js'
import { DigestPool } from './files/digests.js'
import { SocketBufferReclaimer } from './files/socket-buffers.js'
import { RedisDocumentReadCounter } from './files/redis-quota.js'
import { createMetrics } from './http/metrics.js'
import { buildMetricsApp } from './http/metrics-server.js'
import { loadSpec } from './http/openapi.js'
import { runtimeCompilations } from './http/schema-compiler.js'
import { DEV_ISSUER, type DevIssuer, loadDevIssuer } from './identity/dev-issuer.js'
import { connectRedis, logRedisState, waitForRedis } from './limits/redis.js'
import { ADAPTER_SPEC, GATEWAY_SPEC, PROJECT_ROOT } from './paths.js'
import { openSqliteStorage } from './storage/sqlite.js'
import { StateCache } from './storage/state-cache.js'
import type { Storage } from './storage/storage.js'
import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'

/** The gateway's own issuer name in the tokens it signs for adapters. */
export const GATEWAY_ISSUER = 'court-file-gateway'

export interface Gateway {
  app: FastifyInstance
  log: AccessLog
  devIssuer: DevIssuer | undefined
  /** The Prometheus endpoint when `metrics` is configured; whoever starts the gateway listens on it. */
  metrics: FastifyInstance | undefined
  /** Checks the active adapters every `adapters.healthIntervalMs`; `checkAll()` runs a round now. */
  health: HealthMonitor
  /** The threads hashing large documents (`adapters.hashWorkers`). */
  digests: DigestPool
  /** Starts the signing and digest threads now rather than shortly after the start, and resolves once they run. */
  threadsReady(): Promise<void>
  /** Stops taking requests, lets in-flight reads finish, signs a last checkpoint and closes the database. */
  close(): Promise<void>
}

/**
 * Builds every service from the configuration and the app on top. Start-up order matters for crash
 * safety: the log is opened (and checked against its last signed checkpoint), this process takes its lease on
 * the intents it will append, and intents left open by ended processes are closed as `interrupted` before
 * any request is taken (see IntentLeases: never those of a live peer).
 */
export async function createGateway(
  config: Config,
  /** `resolve` stands in for DNS, so tests can point names where real DNS would not. */
  options: { logger?: boolean | object; now?: () => Date; resolve?: Resolver } = {},
) {
  // Read before anything is opened: a missing file must not leave a database and timers behind.
  const https = config.server.tls && readTls(config.server.tls)
  // First, so that a bad directory file stops the start before any file or database is opened.
  const directory = loadDirectory(config.directory)
  const dev = config.dev?.issuer === true
  const now = options.now ?? (() => new Date())
  const storage = await openStorage(config.storage, now)
  // Starts the SQLite log's writer thread now, so that its start overlaps the rest of this one instead of
  // waiting for the first readiness probe; a failure here is what that probe reports.
  if (config.storage.kind === 'sqlite') storage.log.probe().catch(() => {})
  // Grants and the adapter registry in memory for the read path; every change drops what it touches (see
  // StateCache), and on PostgreSQL the other replicas' changes arrive through the feed.
  const feed =
    config.storage.kind === 'postgres'
      ? await startFeed(config.storage.url, config.storage.stateStalenessMs ?? DEFAULT_STALENESS_MS)
      : undefined
  const state = new StateCache(storage, feed ? { feed } : {})
  const metrics = createMetrics()
  const logKey = loadOrCreateKey(config.accessLog.signingKeyFile, dev)
  const transparency = await TransparencyLog.open({
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
    onChangeSettled: (change) => state.settled(change),
  })
  // On PostgreSQL one process sequences for all (see sequencer.ts); the others forward their entries to it.
  let log: AccessLog = transparency
  if (storage.sequence) {
    try {
      log = await storage.sequence(transparency, {
        listen: { host: config.accessLog.sequencer.host, port: config.accessLog.sequencer.port },
        advertise: config.accessLog.sequencer.advertise,
        inDoubtAfterMs: config.accessLog.leaseTtlMs,
        now,
        onWarning: (message) => process.emitWarning(message),
      })
    } catch (error) {
      await transparency.close().catch(() => {})
      await storage.close().catch(() => {})
      throw error
    }
  }
  const leases = new IntentLeases({
    log,
    store: storage.log,
    ttlMs: config.accessLog.leaseTtlMs,
    now,
    onError: (error) => process.emitWarning(`access log: intent lease renewal or sweep failed: ${String(error)}`),
  })
  try {
    await leases.start()
  } catch (error) {
    // Nothing is served unless the intents left open are closed: stop here, leaving no connection behind.
    await log.close().catch(() => {})
    await feed?.close()
    await storage.close().catch(() => {})
    throw error
  }

  const { signingKeyFile, signingAlgorithm, nextSigningKeyFile } = config.adapters
  const signer = await RequestSigner.create(
    config.server.publicUrl ?? GATEWAY_ISSUER,
    loadOrCreateKey(signingKeyFile, dev, signingAlgorithm),
    nextSigningKeyFile ? readPrivateKey(nextSigningKeyFile) : undefined,
  )
  const adapterClient = new AdapterClient({
    signer,
    timeoutMs: config.adapters.timeoutMs,
    minimumBytesPerSecond: config.adapters.minimumBytesPerSecond,
    connections: config.adapters.connections,
    connectionsByAdapter: config.adapters.connectionsByAdapter,
    allowHttp: config.adapters.allowHttp,
    addresses: new AddressPolicy(config.adapters.allowedNetworks),
    ...(options.resolve ? { resolve: options.resolve } : {}),
    breaker: config.adapters.breaker,
    metrics,
    now: () => now().getTime(),
  })
  const health = new HealthMonitor(adapterClient, state.adapters)
  health.start(config.adapters.healthIntervalMs)
  const devIssuer = dev ? loadDevIssuer(config.dev?.keyFile, config.dev ?? {}) : undefined
  const inflight = new Set<Promise<unknown>>()
  const digests = new DigestPool(config.adapters.hashWorkers)
  // Shared limits. The gateway starts whether Redis answers or not (readiness says which); the wait only lets
  // the first requests find a connection already made.
  const redis = config.redis ? connectRedis(config.redis) : undefined
  if (redis && config.redis) await waitForRedis(redis, config.redis.connectTimeoutMs)
  // With Redis every replica counts there; without, this process counts in memory over its own database,
  // from today's served reads in the log (the intents it holds durably: the floor of the quota after a crash).
  const readCounter =
    redis && config.redis
      ? new RedisDocumentReadCounter(redis, { keyPrefix: config.redis.keyPrefix, now })
      : await storage.localReadCounter(now)
  const app = await buildApp({
    https,
    trustProxy: config.server.trustProxy,
    services: {
      config,
      directory,
      policy: { policy: config.policy, directory },
      grants: state.grants,
      adapters: state.adapters,
      stateChanges: state,
      log,
      adapterClient,
      health,
      signer,
      spec: loadSpec(GATEWAY_SPEC),
      validators: createResponseValidators(loadSpec(ADAPTER_SPEC)),
      metrics,
      quota: new DocumentQuota(readCounter, config.limits.documentsPerDay, now),
      digests,
      socketBuffers: new SocketBufferReclaimer(config.adapters.reclaimBuffersEveryBytes),
      ...(redis ? { redis } : {}),
      now,
    },
    devIssuer,
    inflight,
    logger: options.logger ?? false,
  })
  if (redis) logRedisState(redis, app.log)
  const metricsApp = config.metrics ? buildMetricsApp(metrics, log) : undefined
  // The signing and digest threads start just after this start rather than during it (a thread's start takes
  // about 150 ms of CPU, which on two cores held readiness back by about 50 ms), and before traffic rather than
  // with the first large document, so that their memory is part of the footprint at start
  // (docs/architecture.md#memory-per-transfer). Until then requests are signed on libuv's pool, and a large
  // document read starts a digest thread itself. Set once nothing of the start can fail any more, so that a
  // failed start leaves no thread behind.
  const threadsStart = setTimeout(() => {
    signer.startThread()
    if (config.adapters.hashInWorkerFromBytes > 0) digests.start()
  }, THREADS_AFTER_MS).unref()
  let closed: Promise<void> | undefined
  const close = () => {
    closed ??= (async () => {
      await metricsApp?.close()
      await app.close()
      // A read that began streaming while the server was closing may still be logging its outcome.
      await Promise.allSettled([...inflight])
      await leases.stop()
      clearTimeout(threadsStart)
      await digests.close()
      await signer.close()
      // Before the log: on SQLite the counts are written by the log's writer thread.
      await readCounter.close()
      await log.close()
      // Every read of this process has its outcome now: nothing it leaves open needs to wait for the lease.
      await leases.release().catch((error: unknown) => app.log.warn({ err: error }, 'cannot release the intent lease'))
      await health.stop()
      await adapterClient.close()
      redis?.disconnect()
      await feed?.close()
      await storage.close()
    })()
    return closed
  }
  const threadsReady = async () => {
    await Promise.all([signer.threadReady(), config.adapters.hashInWorkerFromBytes > 0 ? digests.ready() : undefined])
  }
  return { app, log, devIssuer, metrics: metricsApp, health, digests, threadsReady, close } satisfies Gateway
}

/** How long after the gateway's start its signing and digest threads start (see createGateway). */
const THREADS_AFTER_MS = 2000

/** See PostgresChangeFeed: how long another replica's change to a grant or adapter may go unseen here. */
const DEFAULT_STALENESS_MS = 1000

/** The other replicas' changes on PostgreSQL (loaded only here, like the driver). */
async function startFeed(url: string, stalenessMs: number) {
  const { PostgresChangeFeed } = await import('./storage/postgres-feed.js')
  const feed = new PostgresChangeFeed(url, {
    stalenessMs,
    onError: (error) =>
      process.emitWarning(
        `state feed: listening for other replicas' changes failed, reading from the database: ${String(error)}`,
      ),
  })
  feed.start()
  return feed
}

/** The quota counter of this process over its own database, for when no Redis shares the counts. */
type LocalReadCounter = DocumentReadCounter & { close(): void | Promise<void> }

/** The stores the configuration names: the SQLite file (the default) or a PostgreSQL database. */
async function openStorage(
  storage: Config['storage'],
  now: () => Date,
): Promise<
  Storage & {
    localReadCounter(now: () => Date): Promise<LocalReadCounter>
    sequence?: (log: TransparencyLog, settings: SequencerSettings) => Promise<AccessLog>
  }
> {
  if (storage.kind === 'postgres') {
    // Loaded only here: the driver takes a while to load, and a SQLite gateway never needs it.
    const { openPostgresStorage } = await import('./storage/postgres.js')
    const postgres = await openPostgresStorage(storage.url, now)
    return { ...postgres, localReadCounter: async () => postgres.documentReads }
  }
  const sqlite = openSqliteStorage(storage.path)
  return {
    ...sqlite,
    // Counts in memory over the file, from today's served reads in the log (the intents it holds durably:
    // the floor of the quota after a crash).
    localReadCounter: async (now) =>
      new BatchedDocumentReadCounter(sqlite.db, {
        write: (rows) => sqlite.log.execute(DOCUMENT_READS_UPSERT_SQL, rows, { durable: false }),
        logged: (await sqlite.log.allowedIntentsSince('document.read', cstDayStart(now()).toISOString())).map(
          (intent) => ({ reader: readerKey(intent.org ?? '', intent.actor ?? ''), day: cstDay(new Date(intent.time)) }),
        ),
        // The counts stay in memory and the log keeps the floor: a failed batch is retried, not fatal.
        onError: (error) => process.emitWarning(`document quota: a batch of counts was not written: ${String(error)}`),
      }),
  }
}

/** The certificate chain and key of `server.tls`, checked to be a usable pair. */
function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const cert = readSetting(tls.certFile, 'server.tls.certFile')
  const key = readSetting(tls.keyFile, 'server.tls.keyFile')
  try {
    createSecureContext({ cert, key })
  } catch (error) {
    throw new Error(`server.tls: the certificate and key are not a usable pair: ${(error as Error).message}`)
  }
  return { cert, key }
}

/** A file a setting names, or an error naming the setting. */
function readSetting(path: string, setting: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new Error(`cannot read ${setting} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

/** A database URL fit for a log line: without its password. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = 'redacted'
    return parsed.toString()
  } catch {
    return 'postgres:(unparsable URL)'
  }
}

/** Pino options: JSON lines, request ids, and never a bearer token in a log line. */
export const LOGGER_OPTIONS = {
  level: process.env.LOG_LEVEL ?? 'info',
  redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
}

/** What a started gateway runs with, for the one start-up log line an operator reads first. */
export function startupSummary(config: Config, gateway: Pick<Gateway, 'log' | 'devIssuer'>, address: string) {
  return {
    version: packageVersion(),
    listen: address,
    storage: config.storage.kind === 'sqlite' ? `sqlite:${config.storage.path}` : redactedUrl(config.storage.url),
    issuers: [...config.identity.issuers.map((issuer) => issuer.issuer), ...(gateway.devIssuer ? [DEV_ISSUER] : [])],
    devIssuer: gateway.devIssuer !== undefined,
    accessLog: { origin: config.accessLog.origin, verifierKey: gateway.log.verifierKey() },
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version
}

/**
 * Serves until SIGTERM/SIGINT, then shuts down gracefully (in-flight streams finish, the log is flushed). A
 * gateway that cannot start rejects, after closing what it had opened, so that `serve` exits non-zero: a
 * supervisor must never read a failed start (a port in use, say) as a clean stop.
 */
export async function serve(config: Config): Promise<Gateway> {
  const gateway = await createGateway(config, { logger: LOGGER_OPTIONS })
  let address: string
  try {
    address = await gateway.app.listen({ host: config.server.host, port: config.server.port })
    if (gateway.metrics && config.metrics) {
      await gateway.metrics.listen({ host: config.metrics.host, port: config.metrics.port })
    }
  } catch (error) {
    await gateway.close()
    throw new Error(`cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}`)
  }
  closeWithGrace({ delay: 30_000 }, async ({ err, signal }) => {
    if (err) gateway.app.log.error({ err }, 'shutting down after an error')
    else gateway.app.log.info({ signal }, 'shutting down')
    await gateway.close()
  })
  const summary = startupSummary(config, gateway, address)
  gateway.app.log.info(summary, 'court-file-gateway started')
  // Every schema of a built gateway is prebuilt (dist/prebuilt); compiling some at start means dist/ is older
  // than the specs or the code it runs: correct, but slower to start.
  const compiled = runtimeCompilations()
  if (compiled > 0) {
    gateway.app.log.warn({ compiled }, 'schemas compiled at start-up: dist/prebuilt is stale (run npm run build)')
  }
  if (summary.devIssuer) {
    gateway.app.log.warn(
      { devIssuer: DEV_ISSUER },
      'DEVELOPMENT ISSUER ON: anyone holding its key mints tokens for any person and role; never in production',
    )
  }
  return gateway
}
