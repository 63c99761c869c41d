import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import {
  base64url,
  beginSignIn,
  completeSignIn,
  isSignInAnswer,
  randomVerifier,
  type SignInIssuer,
  s256,
  SignInError,
} from '../../console/src/oidc.js'
import { eachAtMost } from '../../console/src/pool.js'

/**
 * The console's sign-in helpers (console/src/oidc.ts) in Node, whose WebCrypto and fetch are the browser's
 * APIs: PKCE against RFC 7636's own example, and every refusal of an issuer that misbehaves. The flow with a
 * real provider in a real browser is test/console/sign-in.ts.
 */

/** RFC 7636 Appendix B: these 32 octets are the verifier below, whose S256 challenge is the one after. */
const APPENDIX_B_OCTETS = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91,
  88, 5, 88, 83, 132, 141, 121,
]
const APPENDIX_B_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const APPENDIX_B_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

t.test('PKCE: the verifier and its S256 challenge', async (t) => {
  const fromOctets = randomVerifier((bytes) => {
    bytes.set(APPENDIX_B_OCTETS)
    return bytes
  })
  t.equal(fromOctets, APPENDIX_B_VERIFIER, 'RFC 7636 Appendix B: 32 octets, base64url without padding')
  t.equal(await s256(APPENDIX_B_VERIFIER), APPENDIX_B_CHALLENGE, 'RFC 7636 Appendix B: the S256 challenge')

  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const verifier = randomVerifier()
    // RFC 7636 section 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
    t.ok(/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) && verifier.length === 43, `verifier ${verifier}`)
    seen.add(verifier)
  }
  t.equal(seen.size, 200, 'from crypto.getRandomValues: no two alike')
  t.equal(base64url(new Uint8Array([0xfb, 0xff, 0xbf])), '-_-_', 'the URL-safe alphabet')
  t.equal(base64url(new Uint8Array([0xff])), '_w', 'no padding')
})

t.test('what counts as an answer from an issuer', async (t) => {
  t.ok(isSignInAnswer(new URLSearchParams('code=a&state=b')))
  t.ok(isSignInAnswer(new URLSearchParams('error=access_denied')))
  t.notOk(isSignInAnswer(new URLSearchParams('')))
})

t.test('eachAtMost: every item, at most four at a time, stopping when told', async (t) => {
  let running = 0
  let most = 0
  const done: number[] = []
  await eachAtMost([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], async (n) => {
    running++
    most = Math.max(most, running)
    await new Promise((resolve) => setImmediate(resolve))
    done.push(n)
    running--
  })
  t.same(
    done.sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  )
  t.equal(most, 4)
  const started: number[] = []
  await eachAtMost(
    [1, 2, 3, 4, 5, 6],
    async (n) => {
      started.push(n)
    },
    { width: 2, live: () => started.length < 3 },
  )
  t.same(started, [1, 2, 3], 'no item is started once live() says no')
  await eachAtMost([], async () => {
    t.fail('no work for an empty list')
  })
})

/** sessionStorage as the browser has it, for Node, which has none. */
class MemoryStorage implements Storage {
  #items = new Map<string, string>()
  get length() {
    return this.#items.size
  }
  clear() {
    this.#items.clear()
  }
  getItem(key: string) {
    return this.#items.get(key) ?? null
  }
  key(index: number) {
    return [...this.#items.keys()][index] ?? null
  }
  removeItem(key: string) {
    this.#items.delete(key)
  }
  setItem(key: string, value: string) {
    this.#items.set(key, value)
  }
}

type Answer = { status?: number; json?: unknown; text?: string }

/**
 * An issuer whose every answer the test writes: a discovery document and a token endpoint that misbehave in
 * the ways the console must refuse (the well-behaved provider is oidc-provider in the browser test).
 */
async function issuerServer(t: Tap) {
  const answers: Record<string, (url: string, body: string) => Answer> = {}
  const bodies: string[] = []
  const handle: RequestListener = async (request, response) => {
    let body = ''
    for await (const chunk of request) body += chunk
    if (request.method === 'POST') bodies.push(body)
    const answer = answers[request.url?.split('?')[0] ?? '']?.(request.url ?? '', body) ?? { status: 404, json: {} }
    response.statusCode = answer.status ?? 200
    response.setHeader('content-type', answer.text === undefined ? 'application/json' : 'text/plain')
    response.end(answer.text ?? JSON.stringify(answer.json))
  }
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const discovery = (overrides: Record<string, unknown> = {}) => {
    answers['/.well-known/openid-configuration'] = () => ({
      json: {
        issuer: url,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        code_challenge_methods_supported: ['S256'],
        ...overrides,
      },
    })
  }
  discovery()
  const issuer: SignInIssuer = {
    issuer: url,
    label: 'Sign in',
    clientId: 'console',
    scopes: ['openid'],
    discoveryUrl: `${url}/.well-known/openid-configuration`,
  }
  return { url, issuer, answers, bodies, discovery }
}

type Tap = { teardown(fn: () => unknown): void }

const REDIRECT = 'https://gateway.example/console'

function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'ES256' })}.${part(claims)}.c2ln`
}

async function refused(t: Test, promise: Promise<unknown>, message: RegExp) {
  await t.rejects(promise, { constructor: SignInError, message })
}

t.test('sign-in against an issuer: the request, the exchange and every refusal', async (t) => {
  const op = await issuerServer(t)
  const storage = new MemoryStorage()

  const begin = async (issuer = op.issuer) => new URL(await beginSignIn(issuer, REDIRECT, storage))
  const asked = await begin({ ...op.issuer, resource: 'urn:gateway' })
  t.equal(asked.origin + asked.pathname, `${op.url}/authorize`)
  const q = asked.searchParams
  t.same([...q.keys()].sort(), [
    'client_id',
    'code_challenge',
    'code_challenge_method',
    'nonce',
    'redirect_uri',
    'resource',
    'response_type',
    'scope',
    'state',
  ])
  const pending = JSON.parse(storage.getItem('cfg.oidc.pending')!) as Record<string, string>
  t.equal(q.get('code_challenge'), await s256(pending.verifier!), 'the challenge is of the verifier kept in the tab')
  t.equal(q.get('state'), pending.state)
  t.equal(q.get('nonce'), pending.nonce)

  const tokens = (overrides: Record<string, unknown> = {}) => {
    op.answers['/token'] = () => ({
      json: {
        access_token: 'the-access-token',
        token_type: 'Bearer',
        id_token: idToken({ iss: op.url, aud: 'console', nonce: pending.nonce }),
        ...overrides,
      },
    })
  }
  tokens()
  const answer = (extra = '') => new URLSearchParams(`code=the-code&state=${pending.state}&iss=${op.url}${extra}`)
  t.equal(await completeSignIn(answer(), storage), 'the-access-token')
  t.same(
    Object.fromEntries(new URLSearchParams(op.bodies.at(-1))),
    {
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: REDIRECT,
      client_id: 'console',
      code_verifier: pending.verifier,
      resource: 'urn:gateway',
    },
    'a public client: the verifier and no secret',
  )
  t.equal(storage.length, 0, 'nothing of the sign-in is kept')
  await refused(t, completeSignIn(answer(), storage), /^No sign-in was started in this tab/)

  // Each refusal after a fresh start, whose pending sign-in it uses up.
  const cases: Array<[string, (started: Record<string, string>) => void, string, RegExp]> = [
    ['bad state', () => {}, `code=c&state=other&iss=${op.url}`, /\(bad state\)\.$/],
    [
      'another issuer',
      () => {},
      'code=c&state={state}&iss=https://evil.example',
      /^The answer came from https:\/\/evil/,
    ],
    [
      'refused',
      () => {},
      'error=access_denied&error_description=no+thanks&state={state}',
      /refused the sign-in: access_denied \(no thanks\)\.$/,
    ],
    [
      'refused, no description',
      () => {},
      'error=login_required&state={state}',
      /refused the sign-in: login_required\.$/,
    ],
    ['no code', () => {}, 'state={state}', /has no authorisation code/],
    [
      'token endpoint refuses',
      () => {
        op.answers['/token'] = () => ({ status: 400, json: { error: 'invalid_grant', error_description: 'spent' } })
      },
      'code=c&state={state}',
      /^The token endpoint at .*\/token refused: 400 invalid_grant: spent\.$/,
    ],
    [
      'token endpoint fails without JSON',
      () => {
        op.answers['/token'] = () => ({ status: 502, text: 'bad gateway' })
      },
      'code=c&state={state}',
      /refused: 502\.$/,
    ],
    [
      'not JSON',
      () => {
        op.answers['/token'] = () => ({ text: 'hello' })
      },
      'code=c&state={state}',
      /did not answer JSON/,
    ],
    ['no access token', () => tokens({ access_token: undefined }), 'code=c&state={state}', /without an access token/],
    ['not bearer', () => tokens({ token_type: 'DPoP' }), 'code=c&state={state}', /a DPoP token, not a bearer token/],
    ['no ID token', () => tokens({ id_token: undefined }), 'code=c&state={state}', /without a readable ID token/],
    [
      'another issuer in the ID token',
      (started) => tokens({ id_token: idToken({ iss: 'https://evil.example', aud: 'console', nonce: started.nonce }) }),
      'code=c&state={state}',
      /not issued for this sign-in/,
    ],
    [
      'another nonce',
      () => tokens({ id_token: idToken({ iss: op.url, aud: ['console'], nonce: 'replayed' }) }),
      'code=c&state={state}',
      /not issued for this sign-in/,
    ],
    [
      'another audience',
      (started) => tokens({ id_token: idToken({ iss: op.url, aud: 'someone-else', nonce: started.nonce }) }),
      'code=c&state={state}',
      /not issued for this sign-in/,
    ],
  ]
  for (const [what, arrange, query, message] of cases) {
    await begin()
    const started = JSON.parse(storage.getItem('cfg.oidc.pending')!) as Record<string, string>
    arrange(started)
    await refused(t, completeSignIn(new URLSearchParams(query.replaceAll('{state}', started.state!)), storage), message)
    t.equal(storage.length, 0, `${what}: the sign-in is used up`)
  }

  // Without openid there is no ID token to check, and none is asked for.
  const plain = await begin({ ...op.issuer, scopes: ['audit'] })
  t.notOk(plain.searchParams.has('nonce'))
  tokens({ id_token: undefined })
  const state = plain.searchParams.get('state')!
  t.equal(await completeSignIn(new URLSearchParams(`code=c&state=${state}`), storage), 'the-access-token')

  // Discovery documents the console will not use.
  const discoveryRefusals: Array<[Record<string, unknown>, RegExp]> = [
    [{ issuer: 'https://other.example' }, /names the issuer https:\/\/other\.example, not /],
    [{ token_endpoint: undefined }, /no usable authorisation or token endpoint/],
    [{ authorization_endpoint: 'javascript:alert(1)' }, /no usable authorisation or token endpoint/],
    [{ token_endpoint: 'https://tokens.example/token' }, /is on an origin this gateway does not let the console reach/],
    [{ code_challenge_methods_supported: ['plain'] }, /does not offer PKCE with S256/],
  ]
  for (const [overrides, message] of discoveryRefusals) {
    op.discovery(overrides)
    await refused(t, begin(), message)
  }
  op.discovery({ code_challenge_methods_supported: undefined })
  t.ok(await begin(), 'an issuer that does not list its PKCE methods is tried')
  await refused(
    t,
    begin({ ...op.issuer, discoveryUrl: 'http://127.0.0.1:1/.well-known/openid-configuration' }),
    /^The discovery document at http:\/\/127\.0\.0\.1:1\/.* could not be reached/,
  )
})
