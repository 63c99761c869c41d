import type { KeyObject } from 'node:crypto'
import { createDecoder, createVerifier, TokenError } from 'fast-jwt'

export interface TokenVerifierOptions {
  /** Every algorithm any trusted issuer may use; `keyFor` narrows it to the issuer's own. */
  algorithms: readonly string[]
  audience: string | readonly string[]
  issuers: readonly string[]
  clockToleranceMs: number
  /**
   * The trusted key the token must be signed with, chosen from its decoded but unverified header and
   * payload (attacker-controlled: they only pick among trusted keys); throws to refuse the token.
   */
  keyFor: (header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<KeyObject>
  /** Verified tokens remembered, each until it expires; 0 turns the cache off. */
  maxCachedTokens?: number
}

type Claims = Readonly<Record<string, unknown>>

interface CachedToken {
  /** The token's header and payload as decoded: the same text decodes to the same, so a hit decodes nothing. */
  decoded: Decoded
  key: KeyObject
  claims: Claims
}

interface Decoded {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

const DEFAULT_MAX_CACHED_TOKENS = 10_000

/**
 * Verifies bearer tokens (signature, `alg`, `iss`, `aud`, `exp`, `nbf`) with one fast-jwt verifier per
 * trusted key, built once: a verifier built per request imports the public key again every time.
 *
 * A token whose signature verified is remembered (by its full text, not a hash of it) until it expires, so a
 * client's next requests skip decoding it and checking its signature. A cache hit still goes through `keyFor`, so a withdrawn
 * key or an issuer no longer trusted refuses the token at once, and `exp`/`nbf` are checked against the clock
 * of each call. Errors are fast-jwt `TokenError`s (or whatever `keyFor` throws).
 */
export class TokenVerifier {
  readonly #options: TokenVerifierOptions
  readonly #decode = createDecoder({ complete: true })
  readonly #verifiers = new WeakMap<KeyObject, (token: string) => Record<string, unknown>>()
  readonly #cache = new Map<string, CachedToken>()
  readonly #maxCached: number

  constructor(options: TokenVerifierOptions) {
    this.#options = options
    this.#maxCached = options.maxCachedTokens ?? DEFAULT_MAX_CACHED_TOKENS
  }

  /** How many verified tokens are remembered. */
  get cachedTokens(): number {
    return this.#cache.size
  }

  /** The verified claims of `token` at `now` (milliseconds since the epoch). */
  async verify(token: string, now: number): Promise<Claims> {
    const cached = this.#cache.get(token)
    const decoded = cached?.decoded ?? (this.#decode(token) as Decoded)
    const key = await this.#options.keyFor(decoded.header, decoded.payload)
    let claims: Claims
    if (cached !== undefined && cached.key === key) {
      claims = cached.claims
    } else {
      claims = Object.freeze(this.#verifierFor(key)(token))
      this.#remember(token, { decoded, key, claims })
    }
    try {
      this.#checkTimes(claims, now)
    } catch (error) {
      this.#cache.delete(token)
      throw error
    }
    return claims
  }

  #verifierFor(key: KeyObject): (token: string) => Record<string, unknown> {
    let verifier = this.#verifiers.get(key)
    if (verifier === undefined) {
      const { algorithms, audience, issuers } = this.#options
      verifier = createVerifier({
        key: key.export({ type: 'spki', format: 'pem' }).toString(),
        // Without this list fast-jwt accepts whatever algorithm the key can do.
        algorithms: [...algorithms] as never,
        allowedAud: [audience].flat() as string[],
        allowedIss: [...issuers],
        // fast-jwt checks aud and iss only when present: requiring them is what makes the lists above bite.
        requiredClaims: ['exp', 'iat', 'iss', 'aud'],
        // Times are checked by #checkTimes against the caller's clock, on cache hits too.
        ignoreExpiration: true,
        ignoreNotBefore: true,
        cache: false,
      }) as (token: string) => Record<string, unknown>
      this.#verifiers.set(key, verifier)
    }
    return verifier
  }

  /** fast-jwt's own rules for `nbf` and `exp` (tolerance on both sides), against `now`. */
  #checkTimes(claims: Claims, now: number): void {
    const { exp, nbf } = claims
    const tolerance = this.#options.clockToleranceMs
    if (typeof exp !== 'number' || (nbf !== undefined && typeof nbf !== 'number')) {
      throw new TokenError(TokenError.codes.invalidClaimType, 'The exp and nbf claims must be numbers.')
    }
    if (typeof nbf === 'number' && now < nbf * 1000 - tolerance) {
      throw new TokenError(TokenError.codes.inactive, 'The token is not active yet.')
    }
    if (now > exp * 1000 + tolerance) throw new TokenError(TokenError.codes.expired, 'The token has expired.')
  }

  #remember(token: string, entry: CachedToken): void {
    if (this.#maxCached <= 0) return
    // Oldest first out: a Map iterates in insertion order.
    if (this.#cache.size >= this.#maxCached) this.#cache.delete(this.#cache.keys().next().value as string)
    this.#cache.set(token, entry)
  }
}
