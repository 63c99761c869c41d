import type { Role } from '../identity/principal.js'

/** The configuration file (docs/operators.md#configuration, a contract). Validated by src/config/load.ts before use. */
export type Algorithm = 'ES256' | 'EdDSA' | 'RS256'

export interface IssuerConfig {
  issuer: string
  jwksFile?: string
  jwksUrl?: string
  algorithms: Algorithm[]
  orgKinds: Array<'court' | 'procuratorate' | 'operator' | 'audit'>
  /** The longest `exp − iat` accepted from this issuer; 3600 when not set. */
  maxTokenLifetimeSeconds?: number
  /**
   * Where this issuer's tokens carry the organisation code (default `org`) and the roles (default `roles`;
   * dotted paths such as `realm_access.roles`), and how its role names map to the gateway's.
   */
  claims?: { org?: string; roles?: string; roleMap?: Record<string, Role> }
  /**
   * Sign-in to the auditor console with this issuer (docs/auditors.md#signing-in): the OIDC authorisation-code
   * flow with PKCE, run by the browser as a public client. Absent, the console offers no button for it.
   */
  consoleSignIn?: ConsoleSignIn
}

export interface ConsoleSignIn {
  /** The console's client id at the issuer: a public client (no secret), redirect URI `<gateway>/console`. */
  clientId: string
  /** What the button says; the issuer's host when not set. */
  label?: string
  /** Scopes asked for; `openid` (the default) also brings an ID token whose nonce the console checks. */
  scopes: string[]
  /** Filled in by config/load.ts: `<issuer>/.well-known/openid-configuration` when not set. */
  discoveryUrl: string
  /** An RFC 8707 resource indicator sent with both requests, for issuers that pick the token's audience by it. */
  resource?: string
}

export interface Config {
  server: {
    host: string
    port: number
    /** PEM files of the certificate chain and its private key: the gateway serves HTTPS itself. */
    tls?: { certFile: string; keyFile: string }
    /** Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed; empty: none. */
    trustProxy: string[]
    /** Check every answer against the spec and log departures (for staging). */
    validateResponses: boolean
    /** The gateway's public URL: the `iss` of the tokens it signs for court adapters. */
    publicUrl?: string
  }
  /** A separate listener for `GET /metrics`; absent, metrics are not served. */
  metrics?: { host: string; port: number }
  storage:
    | { kind: 'sqlite'; path: string }
    | {
        kind: 'postgres'
        url: string
        /**
         * How long a grant or adapter change made by another replica may go unseen by this one (default
         * 1000): see PostgresChangeFeed and docs/operators.md#postgresql.
         */
        stateStalenessMs?: number
      }
  /**
   * Shared limits (docs/operators.md#shared-limits-redis): when set, request limits, the pre-auth address limit
   * and the daily document quotas are counted in this Redis, so every replica enforces one limit.
   * `onUnavailable` says what a request needing a counter gets while Redis cannot answer: `refuse` (503
   * `LIMITS_UNAVAILABLE` for everything limited), `allow-requests` (request limits are skipped, document reads
   * still refused) or `allow-all` (document quotas skipped too).
   */
  redis?: {
    url: string
    keyPrefix: string
    onUnavailable: 'refuse' | 'allow-requests' | 'allow-all'
    connectTimeoutMs: number
    commandTimeoutMs: number
  }
  identity: { audience: string; clockToleranceSeconds: number; issuers: IssuerConfig[] }
  /** Path of the directory file (courts, procuratorates, organisations). */
  directory: string
  policy: {
    jurisdiction: 'province' | 'same-level'
    caseTypes: string[]
    grantDays: number
    maxGrantDays: number
  }
  accessLog: {
    origin: string
    signingKeyFile: string
    checkpointIntervalMs: number
    /**
     * How long this process's lease on its open intents lasts without renewal (renewed every third of it);
     * once it has expired, peers close those intents as interrupted (src/accesslog/intent-leases.ts).
     */
    leaseTtlMs: number
    /**
     * On PostgreSQL, where this process listens while it sequences the log for its peers, and the address
     * they reach it at (by default the listening one: set it when the replicas run on several hosts); see
     * src/accesslog/sequencer.ts.
     */
    sequencer: { host: string; port: number; advertise?: string }
  }
  adapters: {
    allowHttp: boolean
    /**
     * CIDR blocks adapter addresses must fall in, checked at registration and before every connection; empty
     * means any address but loopback and link-local ones (src/adapters/addresses.ts).
     */
    allowedNetworks: string[]
    /** Idle timeout (connect, headers, silence between chunks). */
    timeoutMs: number
    /** With timeoutMs, bounds a whole transfer: timeoutMs + bytes / minimumBytesPerSecond. */
    minimumBytesPerSecond: number
    signingKeyFile: string
    /** EdDSA, or ES256 for court stacks (Spring Security / Nimbus) that verify only that out of the box. */
    signingAlgorithm: 'EdDSA' | 'ES256'
    /** The next signing key, published in the JWKS ahead of use (rotation without an outage). */
    nextSigningKeyFile?: string
    healthIntervalMs: number
    /** Connections of each adapter's pool; `connectionsByAdapter` (adapter id → count) overrides it. */
    connections: number
    connectionsByAdapter: Record<string, number>
    /** Documents of at least this size (bytes) are hashed on one of `hashWorkers` threads; 0: all inline. */
    hashInWorkerFromBytes: number
    hashWorkers: number
    /** Bytes read from courts between two collections of their dead socket buffers; 0: V8 decides. */
    reclaimBuffersEveryBytes: number
    breaker: { failures: number; cooldownMs: number }
    /** Case catalogues kept for document reads (src/files/catalogue-cache.ts). */
    catalogueCache: { ttlMs: number; maxEntries: number }
  }
  /**
   * `requestsPerMinute` is per person; `organisationRequestsPerMinute` (docs/operators.md#limits, default ten
   * times the personal limit) is what all people of one organisation share. `authFailuresPerAddressPerMinute`
   * (also an addition) is how many failed authentications one client address may cause before its requests
   * are refused unverified.
   */
  limits: {
    requestsPerMinute: number
    organisationRequestsPerMinute: number
    authFailuresPerAddressPerMinute: number
    documentsPerDay: number
  }
  /** The auditor console's pattern thresholds (docs/auditors.md#patterns), served at GET /v1/audit/patterns. */
  console: {
    patterns: {
      manyCasesPerDay: number
      dailyQuota: number
      quotaWarningFraction: number
      workingHours: { start: number; end: number; weekdays: number[] }
      recentMainReadDays: number
      quickApprovalMinutes: number
      quickApprovalsPerPair: number
    }
  }
  /** A local issuer with a generated key, for trying the gateway out; never in production. */
  dev?: { issuer: boolean; keyFile?: string; maxTokenLifetimeSeconds?: number }
}
