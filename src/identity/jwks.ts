import { createPublicKey, type JsonWebKeyInput, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Algorithm } from '../config/types.js'

export interface JwksSourceOptions {
  /** Only used in messages: which issuer's keys these are. */
  issuer: string
  jwksFile?: string
  jwksUrl?: string
  /** A key set held in memory (the dev issuer); never part of the configuration file. */
  jwks?: { keys: object[] }
  /** Upper bound for one fetch of `jwksUrl`, headers and body together. */
  timeoutMs?: number
  /** Least time between two fetches of `jwksUrl`, so that tokens with made-up kids cannot hammer the issuer. */
  refetchIntervalMs?: number
  /**
   * Keys older than this are fetched again on the next lookup: without it a key the issuer withdrew
   * (say, after a compromise) would stay trusted until the gateway restarts.
   */
  maxAgeMs?: number
  /** Milliseconds since the epoch; injectable so tests can step over the refetch interval. */
  now?: () => number
  /** Told about fetches that failed or keys that were skipped; the caller decides how to log them. */
  onError?: (message: string, cause?: unknown) => void
}

interface KeyEntry {
  kid: string | undefined
  /** The JWK's own `alg`, when it pins one. */
  alg: string | undefined
  key: KeyObject
}

const DEFAULT_TIMEOUT_MS = 5_000
const DEFAULT_REFETCH_INTERVAL_MS = 30_000
const DEFAULT_MAX_AGE_MS = 10 * 60_000
/** A key set is a few kilobytes; anything far larger is not one and is not worth buffering. */
const MAX_JWKS_BYTES = 512 * 1024
const MIN_RSA_BITS = 2048

/** Whether `key` is the kind of key `alg` signs with, strong enough to trust. */
export function keyMatchesAlgorithm(key: KeyObject, alg: string): boolean {
  if (key.type !== 'public') return false
  const details = key.asymmetricKeyDetails
  switch (alg as Algorithm) {
    case 'ES256':
      return key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
    case 'EdDSA':
      return key.asymmetricKeyType === 'ed25519'
    case 'RS256':
      return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= MIN_RSA_BITS
    default:
      return false
  }
}

// Only the public members go to createPublicKey, so a set that carries private parts by mistake is still
// read as public keys and the private parts are dropped here rather than kept in memory.
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const

/**
 * Reads a JSON Web Key Set into verification keys. Symmetric keys and keys not meant for signatures are
 * dropped: a JWKS is public, so an HMAC key in it would let anyone mint tokens.
 */
export function parseJwks(value: unknown, onSkip?: (message: string, cause?: unknown) => void): KeyEntry[] {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { keys?: unknown }).keys)) {
    throw new Error('not a JSON Web Key Set (no "keys" array)')
  }
  const entries: KeyEntry[] = []
  for (const [index, raw] of (value as { keys: unknown[] }).keys.entries()) {
    if (typeof raw !== 'object' || raw === null) {
      onSkip?.(`key #${index} is not an object`)
      continue
    }
    const jwk = raw as Record<string, unknown>
    if (jwk.kty === 'oct') continue
    if (jwk.use !== undefined && jwk.use !== 'sig') continue
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) continue
    if (jwk.kid !== undefined && typeof jwk.kid !== 'string') {
      onSkip?.(`key #${index} has a kid that is not a string`)
      continue
    }
    const publicJwk: Record<string, unknown> = {}
    for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) publicJwk[member] = jwk[member]
    try {
      const key = createPublicKey({ key: publicJwk, format: 'jwk' } as JsonWebKeyInput)
      entries.push({ kid: jwk.kid, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined, key })
    } catch (error) {
      onSkip?.(`key #${index} is not a usable public key`, error)
    }
  }
  return entries
}

/**
 * The verification keys of one issuer, from a file read once, a URL fetched and cached, or a set in memory.
 * Lookups never throw: a key that cannot be found is `undefined`, and the caller refuses the token.
 */
export class JwksSource {
  readonly issuer: string
  private entries: KeyEntry[] = []
  private readonly url: string | undefined
  private readonly timeoutMs: number
  private readonly refetchIntervalMs: number
  private readonly maxAgeMs: number
  private readonly now: () => number
  private readonly onError: (message: string, cause?: unknown) => void
  /** When the last fetch started, successful or not; drives the refetch throttle. */
  private lastAttemptAt: number | undefined
  /** When keys were last loaded successfully; drives the maximum age. */
  private loadedAt: number | undefined
  private inFlight: Promise<boolean> | undefined

  constructor(options: JwksSourceOptions) {
    const sources = [options.jwksFile, options.jwksUrl, options.jwks].filter((s) => s !== undefined)
    if (sources.length !== 1) {
      throw new Error(`issuer ${options.issuer}: exactly one of jwksFile, jwksUrl or an in-memory key set is needed`)
    }
    this.issuer = options.issuer
    this.url = options.jwksUrl
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.refetchIntervalMs = options.refetchIntervalMs ?? DEFAULT_REFETCH_INTERVAL_MS
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS
    this.now = options.now ?? Date.now
    this.onError = options.onError ?? (() => {})

    // A broken key file is a configuration error: better to refuse to start than to refuse every token.
    if (options.jwksFile !== undefined) {
      let parsed: unknown
      try {
        parsed = JSON.parse(readFileSync(options.jwksFile, 'utf8'))
      } catch (error) {
        throw new Error(`issuer ${options.issuer}: cannot read JWKS file ${options.jwksFile}`, { cause: error })
      }
      this.entries = this.parse(parsed, `JWKS file ${options.jwksFile}`)
    } else if (options.jwks !== undefined) {
      this.entries = this.parse(options.jwks, 'in-memory JWKS')
    }
  }

  /** The key to verify a token of algorithm `alg` naming `kid`, or `undefined` when there is none. */
  async getKey(kid: string | undefined, alg: Algorithm | string): Promise<KeyObject | undefined> {
    if (this.url !== undefined && (this.loadedAt === undefined || this.now() - this.loadedAt >= this.maxAgeMs)) {
      await this.refresh()
    }
    const found = this.find(kid, alg)
    if (found !== undefined || kid === undefined || this.url === undefined) return found
    // An unknown kid is how an issuer's key rotation first shows up, so it earns one (throttled) refetch.
    if (await this.refresh()) return this.find(kid, alg)
    return undefined
  }

  /**
   * Fetches `jwksUrl` again unless a fetch started less than the refetch interval ago. Resolves to whether
   * new keys were loaded; a failed fetch keeps the keys already held.
   */
  refresh(): Promise<boolean> {
    if (this.url === undefined) return Promise.resolve(false)
    if (this.inFlight !== undefined) return this.inFlight
    const now = this.now()
    if (this.lastAttemptAt !== undefined && now - this.lastAttemptAt < this.refetchIntervalMs) {
      return Promise.resolve(false)
    }
    this.lastAttemptAt = now
    const url = this.url
    this.inFlight = this.fetchKeys(url)
      .then((entries) => {
        this.entries = entries
        this.loadedAt = this.now()
        return true
      })
      .catch((error: unknown) => {
        this.onError(`issuer ${this.issuer}: fetching JWKS from ${url} failed; keeping the previous keys`, error)
        return false
      })
      .finally(() => {
        this.inFlight = undefined
      })
    return this.inFlight
  }

  private find(kid: string | undefined, alg: string): KeyObject | undefined {
    if (kid === undefined) {
      // Without a kid only an unambiguous set can say which key was meant.
      const only = this.entries.length === 1 ? this.entries[0] : undefined
      return only !== undefined && this.usable(only, alg) ? only.key : undefined
    }
    return this.entries.find((entry) => entry.kid === kid && this.usable(entry, alg))?.key
  }

  private usable(entry: KeyEntry, alg: string): boolean {
    return (entry.alg === undefined || entry.alg === alg) && keyMatchesAlgorithm(entry.key, alg)
  }

  private parse(value: unknown, where: string): KeyEntry[] {
    try {
      return parseJwks(value, (message, cause) => this.onError(`issuer ${this.issuer}: ${where}: ${message}`, cause))
    } catch (error) {
      throw new Error(`issuer ${this.issuer}: ${where}: ${(error as Error).message}`)
    }
  }

  private async fetchKeys(url: string): Promise<KeyEntry[]> {
    // Loaded at the first fetch, not at start: the whole of undici costs about 90 ms of CPU to load.
    const { request } = await import('undici')
    const signal = AbortSignal.timeout(this.timeoutMs)
    const response = await request(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    })
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw new Error(`status ${response.statusCode}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length
      if (size > MAX_JWKS_BYTES) {
        response.body.destroy()
        throw new Error(`the key set is larger than ${MAX_JWKS_BYTES} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    return this.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')), `JWKS from ${url}`)
  }
}
