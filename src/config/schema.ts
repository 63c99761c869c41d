import { ROLES } from '../identity/principal.js'

/** JSON Schema of the configuration file; defaults here are the documented defaults (README, docs/operators.md#configuration). */
const algorithms = { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['ES256', 'EdDSA', 'RS256'] } }
const orgKinds = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { enum: ['court', 'procuratorate', 'operator', 'audit'] },
}

/** A claim name, or a dotted path into nested claims (`realm_access.roles`). */
const claimPath = { type: 'string', pattern: '^[^.\\s]+(\\.[^.\\s]+)*$', maxLength: 256 }

/** A token living longer than a day is a credential, not a session. */
const maxTokenLifetimeSeconds = { type: 'integer', minimum: 60, maximum: 86400, default: 3600 }

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['identity', 'accessLog', 'adapters'],
  properties: {
    $schema: { type: 'string' },
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certFile', 'keyFile'],
          properties: { certFile: { type: 'string', minLength: 1 }, keyFile: { type: 'string', minLength: 1 } },
        },
        trustProxy: { type: 'array', default: [], items: { type: 'string', minLength: 1 } },
        /** Check every answer against openapi/gateway.yaml and log departures (staging; costs CPU). */
        validateResponses: { type: 'boolean', default: false },
        /** The gateway's public URL: the `iss` of the tokens it signs for court adapters. */
        publicUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    storage: {
      type: 'object',
      default: { kind: 'sqlite', path: '../data/gateway.db' },
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'path'],
          properties: { kind: { const: 'sqlite' }, path: { type: 'string', minLength: 1 } },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'url'],
          properties: {
            kind: { const: 'postgres' },
            url: { type: 'string', pattern: '^postgres(ql)?://' },
            stateStalenessMs: { type: 'integer', minimum: 50, maximum: 60000 },
          },
        },
      ],
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^rediss?://' },
        keyPrefix: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$', default: 'gateway:' },
        onUnavailable: { enum: ['refuse', 'allow-requests', 'allow-all'], default: 'refuse' },
        connectTimeoutMs: { type: 'integer', minimum: 50, maximum: 60000, default: 2000 },
        commandTimeoutMs: { type: 'integer', minimum: 10, maximum: 60000, default: 500 },
      },
    },
    identity: {
      type: 'object',
      additionalProperties: false,
      required: ['audience', 'issuers'],
      properties: {
        audience: { type: 'string', minLength: 1 },
        clockToleranceSeconds: { type: 'integer', minimum: 0, maximum: 300, default: 30 },
        issuers: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['issuer', 'algorithms', 'orgKinds'],
            oneOf: [{ required: ['jwksFile'] }, { required: ['jwksUrl'] }],
            properties: {
              issuer: { type: 'string', minLength: 1 },
              jwksFile: { type: 'string', minLength: 1 },
              jwksUrl: { type: 'string', pattern: '^https?://' },
              algorithms,
              orgKinds,
              maxTokenLifetimeSeconds,
              claims: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  org: claimPath,
                  roles: claimPath,
                  roleMap: {
                    type: 'object',
                    maxProperties: 256,
                    additionalProperties: { enum: [...ROLES] },
                  },
                },
              },
              consoleSignIn: {
                type: 'object',
                additionalProperties: false,
                required: ['clientId'],
                properties: {
                  clientId: { type: 'string', minLength: 1, maxLength: 256 },
                  label: { type: 'string', minLength: 1, maxLength: 100 },
                  // Space-separated on the wire (RFC 6749 section 3.3), so no scope may hold a space.
                  scopes: {
                    type: 'array',
                    minItems: 1,
                    uniqueItems: true,
                    items: { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' },
                    default: ['openid'],
                  },
                  discoveryUrl: { type: 'string', pattern: '^https?://[^\\s]+$' },
                  resource: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s#]+$' },
                },
              },
            },
          },
        },
      },
    },
    directory: { type: 'string', minLength: 1, default: 'directory/heilongjiang.json' },
    policy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        jurisdiction: { enum: ['province', 'same-level'], default: 'province' },
        caseTypes: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 3 }, uniqueItems: true },
        grantDays: { type: 'integer', minimum: 1, maximum: 180, default: 90 },
        maxGrantDays: { type: 'integer', minimum: 1, maximum: 180, default: 180 },
      },
    },
    accessLog: {
      type: 'object',
      additionalProperties: false,
      required: ['origin', 'signingKeyFile'],
      properties: {
        origin: { type: 'string', minLength: 1, pattern: '^[^\\s+]+$' },
        signingKeyFile: { type: 'string', minLength: 1 },
        checkpointIntervalMs: { type: 'integer', minimum: 10, maximum: 3600000, default: 1000 },
        leaseTtlMs: { type: 'integer', minimum: 300, maximum: 3600000, default: 15000 },
        sequencer: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            host: { type: 'string', minLength: 1, default: '127.0.0.1' },
            port: { type: 'integer', minimum: 0, maximum: 65535, default: 0 },
            advertise: { type: 'string', pattern: '^\\S+:[0-9]{1,5}$' },
          },
        },
      },
    },
    adapters: {
      type: 'object',
      additionalProperties: false,
      required: ['signingKeyFile'],
      properties: {
        allowHttp: { type: 'boolean', default: false },
        allowedNetworks: {
          type: 'array',
          default: [],
          items: { type: 'string', pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$' },
        },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
        // A transfer of N bytes gets timeoutMs + N / minimumBytesPerSecond in all. The floor keeps an operator
        // from turning the deadline into none (1 KiB/s still bounds a 100 MB document to about a day).
        minimumBytesPerSecond: { type: 'integer', minimum: 1024, default: 32768 },
        signingKeyFile: { type: 'string', minLength: 1 },
        signingAlgorithm: { type: 'string', enum: ['EdDSA', 'ES256'], default: 'EdDSA' },
        /** Published in the JWKS before it signs anything (docs/courts.md#key-rotation). */
        nextSigningKeyFile: { type: 'string', minLength: 1 },
        healthIntervalMs: { type: 'integer', minimum: 1000, default: 30000 },
        // Connections per adapter: a document download holds one for its whole transfer, so fewer connections
        // than concurrent downloads makes the rest wait (16 made 32 downloads run in two waves).
        connections: { type: 'integer', minimum: 1, maximum: 1024, default: 64 },
        /** Per adapter id, overriding `connections` (a court that takes fewer, or serves more). */
        connectionsByAdapter: {
          type: 'object',
          default: {},
          additionalProperties: { type: 'integer', minimum: 1, maximum: 1024 },
        },
        /**
         * Documents of at least this many bytes are hashed on a worker thread while their bytes are forwarded;
         * smaller ones inline, where no copy or message is needed (inline SHA-256 costs about 0.85 ms of main
         * thread per MiB here; the worker's fixed cost per stream is two messages). 0 hashes everything inline.
         */
        hashInWorkerFromBytes: { type: 'integer', minimum: 0, default: 1048576 },
        hashWorkers: { type: 'integer', minimum: 1, maximum: 16, default: 1 },
        /**
         * Dead court socket buffers are freed (a young-generation collection) every this many bytes read
         * from courts; 0 leaves it to V8, which lets them reach 64 MiB (src/files/socket-buffers.ts).
         */
        reclaimBuffersEveryBytes: { type: 'integer', minimum: 0, default: 16777216 },
        breaker: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            failures: { type: 'integer', minimum: 1, default: 5 },
            cooldownMs: { type: 'integer', minimum: 100, default: 30000 },
          },
        },
        // How long a case catalogue decides document reads without asking the court again (0: every read
        // asks, conditionally when the court sent an ETag). The ceiling bounds how late a court's change of
        // a catalogue is seen by reads whose answer the court does not confirm (docs/courts.md#catalogue-cache).
        catalogueCache: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            ttlMs: { type: 'integer', minimum: 0, maximum: 60000, default: 5000 },
            maxEntries: { type: 'integer', minimum: 1, maximum: 1000000, default: 10000 },
          },
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        requestsPerMinute: { type: 'integer', minimum: 1, default: 600 },
        organisationRequestsPerMinute: { type: 'integer', minimum: 1 },
        authFailuresPerAddressPerMinute: { type: 'integer', minimum: 1, default: 60 },
        documentsPerDay: { type: 'integer', minimum: 1, default: 500 },
      },
    },
    /** The auditor console (docs/auditors.md#patterns): thresholds of the patterns worth a second look. */
    console: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        patterns: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            manyCasesPerDay: { type: 'integer', minimum: 1, default: 10 },
            /** Defaults to limits.documentsPerDay (config/load.ts). */
            dailyQuota: { type: 'integer', minimum: 1 },
            quotaWarningFraction: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.8 },
            workingHours: {
              type: 'object',
              additionalProperties: false,
              default: {},
              properties: {
                start: { type: 'integer', minimum: 0, maximum: 23, default: 8 },
                end: { type: 'integer', minimum: 1, maximum: 24, default: 18 },
                weekdays: {
                  type: 'array',
                  uniqueItems: true,
                  items: { type: 'integer', minimum: 0, maximum: 6 },
                  default: [1, 2, 3, 4, 5],
                },
              },
            },
            recentMainReadDays: { type: 'integer', minimum: 1, default: 30 },
            quickApprovalMinutes: { type: 'integer', minimum: 1, default: 5 },
            quickApprovalsPerPair: { type: 'integer', minimum: 1, default: 2 },
          },
        },
      },
    },
    dev: {
      type: 'object',
      additionalProperties: false,
      properties: {
        issuer: { type: 'boolean' },
        keyFile: { type: 'string', minLength: 1 },
        maxTokenLifetimeSeconds,
      },
    },
  },
} as const
