/**
 * Console sign-in with an issuer: the OpenID Connect authorisation-code flow with PKCE (RFC 7636, S256), run
 * by this page as a public client (docs/auditors.md#signing-in). The page sends the browser to the issuer,
 * the issuer sends it back to /console with a code, and the page exchanges the code at the token endpoint for
 * an access token, which is then the bearer token of every API call, exactly like a pasted one: the gateway
 * verifies it and the API alone decides what it may see.
 *
 * What this tab started is kept in sessionStorage (it must survive the trip to the issuer and back, and
 * nothing else needs it); it is read once and removed before anything else happens, so a code can be
 * redeemed by the tab that asked for it only, and only once.
 */

/** One issuer as GET /console/sign-in describes it. */
export interface SignInIssuer {
  issuer: string
  label: string
  clientId: string
  scopes: string[]
  discoveryUrl: string
  resource?: string
}

/** What the tab remembers between sending the browser to the issuer and its return. */
interface Pending {
  issuer: string
  clientId: string
  tokenEndpoint: string
  redirectUri: string
  state: string
  nonce: string
  verifier: string
  openid: boolean
  resource?: string
}

const PENDING_KEY = 'cfg.oidc.pending'

/** A sign-in that failed, with a sentence an auditor can act on. */
export class SignInError extends Error {}

/** `bytes` as unpadded base64url (RFC 4648 section 5), the encoding of PKCE values. */
export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

type Fill = (bytes: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer>

/**
 * A code verifier: 32 random octets as base64url, 43 characters of the unreserved set (RFC 7636 section
 * 4.1, which recommends exactly this). Also the state and the nonce, which need the same unguessability.
 */
export function randomVerifier(fill: Fill = (bytes) => crypto.getRandomValues(bytes)): string {
  return base64url(fill(new Uint8Array(32)))
}

/** The S256 code challenge of a verifier: BASE64URL(SHA-256(ASCII(verifier))) (RFC 7636 section 4.2). */
export async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))))
}

/** The issuer's discovery document, checked for what this flow needs. */
async function discover(issuer: SignInIssuer, allowedOrigins: readonly string[]) {
  const doc = (await fetchJson(issuer.discoveryUrl, undefined, 'discovery document')) as Record<string, unknown>
  // OpenID Connect Discovery 1.0 section 4.3: a document naming another issuer is not this issuer's.
  if (doc.issuer !== issuer.issuer) {
    throw new SignInError(`The discovery document names the issuer ${String(doc.issuer)}, not ${issuer.issuer}.`)
  }
  const authorize = URL.parse(String(doc.authorization_endpoint ?? ''))
  const token = URL.parse(String(doc.token_endpoint ?? ''))
  if (!authorize || !token || !/^https?:$/.test(authorize.protocol)) {
    throw new SignInError(`The discovery document of ${issuer.issuer} has no usable authorisation or token endpoint.`)
  }
  // The gateway's Content-Security-Policy lets the page reach the discovery document's origin only; say so
  // plainly rather than let the browser block the code exchange with a console message nobody reads.
  if (!allowedOrigins.includes(token.origin)) {
    throw new SignInError(
      `The token endpoint of ${issuer.issuer} (${token.href}) is on an origin this gateway does not let the console reach.`,
    )
  }
  // RFC 8414 section 2: an issuer that lists its methods without S256 does not do PKCE as this flow needs.
  const methods = doc.code_challenge_methods_supported
  if (Array.isArray(methods) && !methods.includes('S256')) {
    throw new SignInError(`${issuer.issuer} does not offer PKCE with S256, which console sign-in needs.`)
  }
  return { authorize, token }
}

/**
 * Prepares the authorisation request: a fresh verifier, state and nonce, remembered in `storage`; returns the
 * URL to send the browser to.
 */
export async function beginSignIn(
  issuer: SignInIssuer,
  redirectUri: string,
  storage: Storage,
  fill?: Fill,
): Promise<string> {
  const allowed = [new URL(issuer.discoveryUrl).origin]
  const { authorize, token } = await discover(issuer, allowed)
  const pending: Pending = {
    issuer: issuer.issuer,
    clientId: issuer.clientId,
    tokenEndpoint: token.href,
    redirectUri,
    state: randomVerifier(fill),
    nonce: randomVerifier(fill),
    verifier: randomVerifier(fill),
    openid: issuer.scopes.includes('openid'),
    ...(issuer.resource ? { resource: issuer.resource } : {}),
  }
  const query = authorize.searchParams
  query.set('response_type', 'code')
  query.set('client_id', issuer.clientId)
  query.set('redirect_uri', redirectUri)
  query.set('scope', issuer.scopes.join(' '))
  query.set('state', pending.state)
  query.set('code_challenge', await s256(pending.verifier))
  query.set('code_challenge_method', 'S256')
  if (pending.openid) query.set('nonce', pending.nonce)
  if (issuer.resource) query.set('resource', issuer.resource)
  storage.setItem(PENDING_KEY, JSON.stringify(pending))
  return authorize.href
}

/** Whether the page was loaded as the answer of an issuer (a redirect back with `code` or `error`). */
export function isSignInAnswer(params: URLSearchParams): boolean {
  return params.has('state') || params.has('code') || params.has('error')
}

/**
 * Finishes the sign-in this tab started: checks the answer (state, issuer, refusal), redeems the code with the
 * verifier, checks the ID token's nonce, and returns the access token.
 */
export async function completeSignIn(params: URLSearchParams, storage: Storage): Promise<string> {
  const saved = storage.getItem(PENDING_KEY)
  storage.removeItem(PENDING_KEY)
  if (!saved) throw new SignInError('No sign-in was started in this tab, or it was already finished; sign in again.')
  const pending = JSON.parse(saved) as Pending
  // RFC 6749 section 10.12: an answer to a request this tab did not make is refused, refusals included, so
  // that another site cannot make this tab sign in (or appear refused) with its own code.
  if (params.get('state') !== pending.state) {
    throw new SignInError('The answer from the issuer does not match the sign-in this tab started (bad state).')
  }
  // RFC 9207: when the issuer names itself, it must be the one this tab went to.
  const iss = params.get('iss')
  if (iss !== null && iss !== pending.issuer) {
    throw new SignInError(`The answer came from ${iss}, not from ${pending.issuer}, where this tab signed in.`)
  }
  const error = params.get('error')
  if (error) {
    const description = params.get('error_description')
    throw new SignInError(`${pending.issuer} refused the sign-in: ${error}${description ? ` (${description})` : ''}.`)
  }
  const code = params.get('code')
  if (!code) throw new SignInError('The answer from the issuer has no authorisation code.')

  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: pending.redirectUri,
    client_id: pending.clientId,
    code_verifier: pending.verifier,
  })
  if (pending.resource) body.set('resource', pending.resource)
  const tokens = (await fetchJson(pending.tokenEndpoint, { method: 'POST', body }, 'token endpoint')) as {
    access_token?: unknown
    token_type?: unknown
    id_token?: unknown
  }
  if (typeof tokens.access_token !== 'string' || !tokens.access_token) {
    throw new SignInError('The token endpoint answered without an access token.')
  }
  if (typeof tokens.token_type !== 'string' || tokens.token_type.toLowerCase() !== 'bearer') {
    throw new SignInError(`The token endpoint answered with a ${String(tokens.token_type)} token, not a bearer token.`)
  }
  if (pending.openid) checkIdToken(tokens.id_token, pending)
  return tokens.access_token
}

/**
 * The ID token's issuer, audience and nonce (OpenID Connect Core 1.0 section 3.1.3.7). Its signature is not
 * checked: it came straight from the token endpoint over the connection the page opened (item 6 there), and
 * the page never uses it as a credential; the nonce check ties the answer to this tab's request.
 */
function checkIdToken(idToken: unknown, pending: Pending): void {
  let claims: { iss?: unknown; aud?: unknown; nonce?: unknown }
  try {
    const payload = String(idToken).split('.')[1] ?? ''
    claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as typeof claims
  } catch {
    throw new SignInError('The token endpoint answered without a readable ID token.')
  }
  const audiences = [claims.aud].flat()
  if (claims.iss !== pending.issuer || !audiences.includes(pending.clientId) || claims.nonce !== pending.nonce) {
    throw new SignInError('The ID token was not issued for this sign-in (issuer, audience or nonce differ).')
  }
}

async function fetchJson(url: string, init: RequestInit | undefined, what: string): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, { ...init, cache: 'no-store', credentials: 'omit' })
  } catch (e) {
    throw new SignInError(`The ${what} at ${url} could not be reached (${(e as Error).message}).`)
  }
  let json: unknown
  try {
    json = await response.json()
  } catch {
    json = undefined
  }
  if (!response.ok) {
    const problem = (json ?? {}) as { error?: string; error_description?: string }
    const detail = [problem.error, problem.error_description].filter(Boolean).join(': ')
    throw new SignInError(`The ${what} at ${url} refused: ${response.status}${detail ? ` ${detail}` : ''}.`)
  }
  if (typeof json !== 'object' || json === null) throw new SignInError(`The ${what} at ${url} did not answer JSON.`)
  return json
}
