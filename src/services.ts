import type { Redis } from 'ioredis'
import type { AccessLog } from './accesslog/access-log.js'
import type { AdapterClient } from './adapters/client.js'
import type { HealthMonitor } from './adapters/health.js'
import type { RequestSigner } from './adapters/signing.js'
import type { AdapterStore } from './adapters/store.js'
import type { Config } from './config/types.js'
import type { Directory } from './directory/directory.js'
import type { DigestPool } from './files/digests.js'
import type { DocumentQuota } from './files/quota.js'
import type { SocketBufferReclaimer } from './files/socket-buffers.js'
import type { GrantStore } from './grants/store.js'
import type { OpenApiSpec } from './http/openapi.js'
import type { Metrics } from './http/metrics.js'
import type { PolicyContext } from './policy/decide.js'
import type { StateCache } from './storage/state-cache.js'

/** Everything the route plugins use, built once by the server and handed to buildApp. */
export interface Services {
  config: Config
  directory: Directory
  policy: PolicyContext
  grants: GrantStore
  adapters: AdapterStore
  log: AccessLog
  adapterClient: AdapterClient
  health: HealthMonitor
  signer: RequestSigner
  spec: OpenApiSpec
  metrics: Metrics
  /** The daily document quota of each person (`limits.documentsPerDay`). */
  quota: DocumentQuota
  /** Threads hashing large documents (`adapters.hashInWorkerFromBytes`); without it every hash is inline. */
  digests?: DigestPool
  /** Frees dead court socket buffers every `adapters.reclaimBuffersEveryBytes` forwarded. */
  socketBuffers?: SocketBufferReclaimer
  /** The client of the shared limits, when `redis` is configured; the limits are then counted there. */
  redis?: Redis
  /** Changes other replicas made to grants and adapters, as the feed reports them (PostgreSQL). */
  stateChanges?: Pick<StateCache, 'onRemoteChange'>
  now: () => Date
}
