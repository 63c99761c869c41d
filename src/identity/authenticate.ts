import type { KeyObject } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Algorithm, Config, IssuerConfig } from '../config/types.js'
import type { Org, OrgKind } from '../directory/types.js'
import { GatewayError, isGatewayError } from '../http/errors.js'
import type { DevIssuer } from './dev-issuer.js'
import { JwksSource } from './jwks.js'
import { isIdentifier, isWellFormed } from '../http/loggable-input.js'
import { TokenVerifier } from './token-verifier.js'
import { type Principal, ROLES, type Role } from './principal.js'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The caller, set before any handler of a non-public route runs. Public routes (`config.public`) run
     * without one and must not read it.
     */
    principal: Principal
  }
  interface FastifyContextConfig {
    /** Serve this route without a token (health, OpenAPI document). */
    public?: boolean
  }
}

/** Every algorithm an issuer may be configured with; `none` and HMAC are deliberately absent. */
export const SUPPORTED_ALGORITHMS: readonly Algorithm[] = ['ES256', 'EdDSA', 'RS256']

/** docs/architecture.md#roles: which kinds of organisation each role belongs to. */
export const ROLE_ORG_KINDS: Readonly<Record<Role, readonly OrgKind[]>> = {
  prosecutor: ['procuratorate'],
  approver: ['procuratorate'],
  auditor: ['procuratorate', 'court', 'audit'],
  'court-admin': ['court'],
  operator: ['operator'],
}

/** `identity.issuers[].maxTokenLifetimeSeconds` (and `dev.maxTokenLifetimeSeconds`) when not configured. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 3600

const MAX_SUB_LENGTH = 128
const MAX_NAME_LENGTH = 256
// Token claims are checked here, at authentication: a `sub` with control or format characters (or a `name`
// with controls) could forge or hide text in logs and exports that print them, and a lone surrogate cannot
// be logged at all. Such a token speaks for nobody (401), whatever the request.
const CONTROL_CHARS = /\p{Cc}/u

export interface IdentityOptions {
  identity: Config['identity']
  /** The directory lookup: the organisation a token's `org` claim names, or `undefined`. */
  findOrg: (code: string) => Org | undefined
  /** The local issuer, when `dev.issuer` is on; trusted in addition to the configured issuers. */
  devIssuer?: DevIssuer
  /** Milliseconds since the epoch, for `exp`/`nbf` and the JWKS refetch throttle; tests step it. */
  now?: () => number
}

export type ClaimsCheck = { ok: true; principal: Principal } | { ok: false; reason: string }

function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

/**
 * Decides who a verified token speaks for. Signature, `aud`, `exp` and `nbf` are checked before this;
 * here are the gateway's own rules: the person, an organisation from the directory that this issuer may
 * vouch for, and roles that exist and fit that organisation.
 */
export function principalFromClaims(
  claims: Readonly<Record<string, unknown>>,
  issuer: Pick<IssuerConfig, 'issuer' | 'orgKinds'>,
  findOrg: (code: string) => Org | undefined,
): ClaimsCheck {
  const fail = (reason: string): ClaimsCheck => ({ ok: false, reason })
  if (claims.iss !== issuer.issuer) return fail('the token issuer does not match')

  const { sub, org: orgCode, roles, name } = claims
  if (typeof sub !== 'string' || sub.length === 0) return fail('the token has no subject')
  if (sub.length > MAX_SUB_LENGTH) return fail('the token subject is too long')
  if (!isIdentifier(sub)) return fail('the token subject contains control characters or format characters')

  if (typeof orgCode !== 'string' || orgCode.length === 0) return fail('the token names no organisation')
  const org = findOrg(orgCode)
  if (org === undefined) return fail('the token organisation is not in the directory')
  if (!issuer.orgKinds.includes(org.kind))
    return fail(`the token issuer may not vouch for organisations of kind ${org.kind}`)

  if (!Array.isArray(roles) || roles.length === 0) return fail('the token has no roles')
  if (!roles.every(isRole)) return fail('the token names an unknown role')
  const uniqueRoles = [...new Set(roles)]
  const misfit = uniqueRoles.find((role) => !ROLE_ORG_KINDS[role].includes(org.kind))
  if (misfit !== undefined) return fail(`the role ${misfit} does not fit organisations of kind ${org.kind}`)

  if (name !== undefined) {
    if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || CONTROL_CHARS.test(name) || !isWellFormed(name)) {
      return fail('the token name claim is invalid')
    }
  }

  const principal: Principal = { sub, issuer: issuer.issuer, roles: uniqueRoles, org }
  if (typeof name === 'string' && name.length > 0) principal.name = name
  return { ok: true, principal }
}

/**
 * Why a verified token's lifetime is unacceptable, or undefined. `exp − iat` is capped per issuer: a stolen
 * token is worth at most that long, however generous the issuer was. `iat` must not lie in the future, or
 * an issuer's token could be dated ahead to live longer than the cap.
 */
export function lifetimeProblem(
  claims: Readonly<Record<string, unknown>>,
  maxLifetimeSeconds: number,
  nowSeconds: number,
  toleranceSeconds: number,
): string | undefined {
  const { iat, exp } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'the token has no exp claim'
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'the token has no iat claim'
  if (iat > nowSeconds + toleranceSeconds) return 'the token is issued in the future'
  if (exp - iat > maxLifetimeSeconds) {
    return `the token lives longer than the ${maxLifetimeSeconds} s its issuer's tokens may live`
  }
  return undefined
}

/**
 * The token of an `Authorization: Bearer <token>` header, or why there is none; `presented` tells a bad
 * token apart from no credentials at all, which RFC 6750 §3.1 answers differently.
 */
export function bearerToken(header: string | undefined): { token: string } | { reason: string; presented: boolean } {
  if (header === undefined || header.trim() === '') return { reason: 'no bearer token', presented: false }
  const match = /^(\S+)(?:[ \t]+(.*))?$/.exec(header.trim())
  if (match?.[1]?.toLowerCase() !== 'bearer') {
    return { reason: 'the authorization scheme must be Bearer', presented: false }
  }
  const token = match[2]?.trim()
  if (token === undefined || token === '') return { reason: 'no bearer token', presented: false }
  if (/\s/.test(token)) return { reason: 'the token is malformed', presented: true }
  return { token }
}

const CHALLENGE = 'Bearer'
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'

/** RFC 6750 §3.1: a request without credentials gets a bare challenge, a bad token an `invalid_token` one. */
function unauthenticated(reason: string, tokenPresented = true): GatewayError {
  return new GatewayError('UNAUTHENTICATED', reason, {
    headers: { 'www-authenticate': tokenPresented ? INVALID_TOKEN_CHALLENGE : CHALLENGE },
  })
}

/**
 * A short reason for a failure reported by fast-jwt. Their messages are fixed templates,
 * but they are matched here rather than passed through so that no library wording (or, in a future
 * version, token content) reaches the client.
 */
function reasonFor(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown }
  switch (code) {
    case 'FAST_JWT_EXPIRED':
      return 'the token has expired'
    case 'FAST_JWT_INACTIVE':
      return 'the token is not valid yet'
    case 'FAST_JWT_MISSING_SIGNATURE':
      return 'the token is not signed'
    case 'FAST_JWT_INVALID_SIGNATURE':
      return 'the token signature is invalid'
    case 'FAST_JWT_INVALID_ALGORITHM':
      return 'the token algorithm is not allowed'
    case 'FAST_JWT_INVALID_CLAIM_TYPE':
      return 'a token claim has the wrong type'
    case 'FAST_JWT_INVALID_CRIT_HEADER':
      return 'the token has an unsupported critical header'
    case 'FAST_JWT_MALFORMED':
    case 'FAST_JWT_INVALID_PAYLOAD':
    case 'FAST_JWT_INVALID_TYPE':
      return 'the token is malformed'
  }
  const text = typeof message === 'string' ? message : ''
  const required = /The (exp|iat|iss|aud) claim is required/.exec(text)
  if (required) return `the token has no ${required[1]} claim`
  if (/signature/i.test(text)) return 'the token signature is invalid'
  if (/The aud claim/.test(text)) return 'the token is not meant for this gateway'
  if (/The iss claim/.test(text)) return 'the token issuer is not trusted'
  if (/malformed|base64url|JSON|must be an object/.test(text)) return 'the token is malformed'
  if (/public key/i.test(text)) return 'the token signing key does not fit its algorithm'
  return 'the token is invalid'
}

interface TrustedIssuer {
  config: IssuerConfig
  source: JwksSource
}

async function identityPlugin(app: FastifyInstance, options: IdentityOptions): Promise<void> {
  const { identity, findOrg, devIssuer } = options
  const now = options.now ?? Date.now

  const issuerConfigs: Array<IssuerConfig & { jwks?: { keys: object[] } }> = [...identity.issuers]
  if (devIssuer !== undefined) issuerConfigs.push(devIssuer.issuerConfig())

  // A Map, not an object: `iss` is attacker-controlled and must not reach Object.prototype.
  const issuers = new Map<string, TrustedIssuer>()
  for (const config of issuerConfigs) {
    if (issuers.has(config.issuer)) throw new Error(`identity: issuer ${config.issuer} is configured twice`)
    if (config.algorithms.length === 0) throw new Error(`identity: issuer ${config.issuer} allows no algorithm`)
    for (const alg of config.algorithms) {
      if (!SUPPORTED_ALGORITHMS.includes(alg)) {
        throw new Error(`identity: issuer ${config.issuer} lists unsupported algorithm ${String(alg)}`)
      }
    }
    const source = new JwksSource({
      ...config,
      now,
      onError: (message, cause) =>
        app.log.warn({ reason: cause instanceof Error ? cause.message : undefined }, message),
    })
    issuers.set(config.issuer, { config, source })
  }
  // An empty list would make fast-jwt accept whatever the key can do; no issuer also means no caller.
  if (issuers.size === 0) throw new Error('identity: no issuer is configured')
  const algorithms = [...new Set(issuerConfigs.flatMap((config) => config.algorithms))]

  // The decoded header and payload are not verified yet: everything read here is attacker-controlled, and
  // only picks which trusted key the signature must then verify against.
  const keyFor = async (header: Record<string, unknown>, payload: Record<string, unknown>): Promise<KeyObject> => {
    const trusted = typeof payload.iss === 'string' ? issuers.get(payload.iss) : undefined
    if (trusted === undefined) throw unauthenticated('the token issuer is not trusted')
    const alg = header.alg
    if (typeof alg !== 'string' || !trusted.config.algorithms.includes(alg as Algorithm)) {
      throw unauthenticated('the token algorithm is not allowed for its issuer')
    }
    const kid = header.kid
    if (kid !== undefined && typeof kid !== 'string') throw unauthenticated('the token header is malformed')
    const key = await trusted.source.getKey(kid, alg)
    if (key === undefined) throw unauthenticated('the token signing key is not known')
    return key
  }
  const verifier = new TokenVerifier({
    algorithms,
    audience: identity.audience,
    issuers: [...issuers.keys()],
    // fast-jwt counts tolerance in milliseconds, the configuration in seconds.
    clockToleranceMs: identity.clockToleranceSeconds * 1000,
    keyFor,
  })

  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const bearer = bearerToken(request.headers.authorization)
    if ('reason' in bearer) throw unauthenticated(bearer.reason, bearer.presented)

    let claims: Readonly<Record<string, unknown>>
    try {
      claims = await verifier.verify(bearer.token, now())
    } catch (error) {
      if (isGatewayError(error)) throw error
      throw unauthenticated(reasonFor(error))
    }

    const trusted = typeof claims.iss === 'string' ? issuers.get(claims.iss) : undefined
    if (trusted === undefined) throw unauthenticated('the token issuer is not trusted')
    const lifetime = lifetimeProblem(
      claims,
      trusted.config.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
      now() / 1000,
      identity.clockToleranceSeconds,
    )
    if (lifetime !== undefined) throw unauthenticated(lifetime)
    const check = principalFromClaims(claims, trusted.config, findOrg)
    if (!check.ok) throw unauthenticated(check.reason)
    return check.principal
  }

  app.decorateRequest('principal', null as unknown as Principal)
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true) return
    request.principal = await authenticate(request)
  })
}

/**
 * Verifies the bearer token of every request, except on routes with `config: { public: true }`, and sets
 * `request.principal`. Register it after the problem plugin and before the routes.
 */
export default fp(identityPlugin, { name: 'identity', fastify: '5.x' })
