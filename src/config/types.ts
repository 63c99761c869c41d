/** The configuration file (DESIGN §8, a contract). Validated by src/config/load.ts before use. */
export type Algorithm = 'ES256' | 'EdDSA' | 'RS256'

export interface IssuerConfig {
  issuer: string
  jwksFile?: string
  jwksUrl?: string
  algorithms: Algorithm[]
  orgKinds: Array<'court' | 'procuratorate' | 'operator' | 'audit'>
}

export interface Config {
  server: {
    host: string
    port: number
    /** PEM files of the certificate chain and its private key: the gateway serves HTTPS itself. */
    tls?: { certFile: string; keyFile: string }
    /** Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed; empty: none. */
    trustProxy: string[]
  }
  storage: { kind: 'sqlite'; path: string }
  identity: { audience: string; clockToleranceSeconds: number; issuers: IssuerConfig[] }
  /** Path of the directory file (courts, procuratorates, organisations). */
  directory: string
  policy: {
    jurisdiction: 'province' | 'same-level'
    caseTypes: string[]
    grantDays: number
    maxGrantDays: number
  }
  accessLog: { origin: string; signingKeyFile: string; checkpointIntervalMs: number }
  adapters: {
    allowHttp: boolean
    /** CIDR blocks adapter addresses must fall in, checked at connect time; empty = any address. */
    allowedNetworks: string[]
    timeoutMs: number
    signingKeyFile: string
    healthIntervalMs: number
    breaker: { failures: number; cooldownMs: number }
  }
  /**
   * `requestsPerMinute` is per person; `organisationRequestsPerMinute` (an addition to DESIGN §8, default ten
   * times the personal limit) is what all people of one organisation share.
   */
  limits: { requestsPerMinute: number; organisationRequestsPerMinute: number; documentsPerDay: number }
  /** A local issuer with a generated key, for trying the gateway out; never in production. */
  dev?: { issuer: boolean; keyFile?: string }
}
