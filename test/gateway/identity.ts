import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { createLocalJWKSet, jwtVerify } from 'jose'
import t from 'tap'
import { request } from 'undici'
import type { Config } from '../../src/config/types.js'
import type { Org } from '../../src/directory/types.js'
import problemPlugin from '../../src/http/problem-plugin.js'
import identityPlugin, { bearerToken, principalFromClaims } from '../../src/identity/authenticate.js'
import { DEV_ISSUER, loadDevIssuer } from '../../src/identity/dev-issuer.js'
import { JwksSource, keyMatchesAlgorithm, parseJwks } from '../../src/identity/jwks.js'

// ---------------------------------------------------------------------------------------------------------
// Fixtures: a tiny directory, three issuers with their keys, a JWKS endpoint that counts its fetches.

const ORGS: Org[] = [
  {
    kind: 'procuratorate',
    code: '230100',
    name: '黑龙江省哈尔滨市人民检察院',
    procuratorate: { code: '230100', name: '黑龙江省哈尔滨市人民检察院', level: 'city', region: '230100' },
  },
  {
    kind: 'court',
    code: '黑01',
    name: '黑龙江省哈尔滨市中级人民法院',
    court: { code: '黑01', name: '黑龙江省哈尔滨市中级人民法院', level: 'intermediate', region: '230100' },
  },
  { kind: 'operator', code: 'HLJ-OPS', name: 'Gateway operations' },
  { kind: 'audit', code: 'HLJ-AUDIT', name: 'Provincial audit office' },
]
const findOrg = (code: string): Org | undefined => ORGS.find((org) => org.code === code)

const AUDIENCE = 'https://gateway.example/court-files'
const ES_ISSUER = 'https://idp.procuratorate.example'
const ED_ISSUER = 'https://idp.ops.example'
const RS_ISSUER = 'https://idp.court.example'

const esKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rogueEsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
// An RSA key listed in the ES256 issuer's set: proves the per-issuer algorithm list, not the key set, decides.
const esRsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
const edKey = generateKeyPairSync('ed25519')
const edKey2 = generateKeyPairSync('ed25519')

function jwkOf(key: KeyObject, kid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...key.export({ format: 'jwk' }), kid, ...extra }
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

type Alg = 'ES256' | 'RS256' | 'EdDSA'
function signJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`
  const data = Buffer.from(input)
  const alg = header.alg as Alg
  const signature =
    alg === 'ES256'
      ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' })
      : alg === 'RS256'
        ? sign('sha256', data, key)
        : sign(null, data, key)
  return `${input}.${signature.toString('base64url')}`
}

function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

let clock = Date.now()
const seconds = (): number => Math.floor(clock / 1000)

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ES_ISSUER,
    aud: AUDIENCE,
    sub: 'prosecutor-17',
    org: '230100',
    roles: ['prosecutor'],
    name: '张检察官',
    iat: seconds(),
    exp: seconds() + 600,
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key]
    else base[key] = value
  }
  return base
}

const esToken = (overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string =>
  signJwt({ alg: 'ES256', typ: 'JWT', kid: 'es-1', ...header }, claims(overrides), esKey.privateKey)
const edToken = (overrides: Record<string, unknown> = {}, kid = 'ed-1', key = edKey.privateKey): string =>
  signJwt(
    { alg: 'EdDSA', typ: 'JWT', kid },
    claims({ iss: ED_ISSUER, org: 'HLJ-OPS', roles: ['operator'], sub: 'ops-1', ...overrides }),
    key,
  )
const rsToken = (overrides: Record<string, unknown> = {}): string =>
  signJwt(
    { alg: 'RS256', typ: 'JWT', kid: 'rs-1' },
    claims({ iss: RS_ISSUER, org: '黑01', roles: ['court-admin', 'auditor'], sub: 'clerk-3', ...overrides }),
    rsKey.privateKey,
  )

// The JWKS endpoint of the EdDSA issuer: its key set, its answer status and its fetch count are all mutable.
const jwksEndpoint = {
  keys: [jwkOf(edKey.publicKey, 'ed-1')] as object[],
  status: 200,
  fetches: 0,
}
const jwksServer: Server = createServer((_req, res) => {
  jwksEndpoint.fetches++
  res.statusCode = jwksEndpoint.status
  res.setHeader('content-type', 'application/jwk-set+json')
  res.end(jwksEndpoint.status === 200 ? JSON.stringify({ keys: jwksEndpoint.keys }) : 'down')
})
await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())))
const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`

const dir = t.testdir({
  'es-jwks.json': JSON.stringify({
    keys: [jwkOf(esKey.publicKey, 'es-1'), jwkOf(esRsaKey.publicKey, 'es-rsa')],
  }),
  'rs-jwks.json': JSON.stringify({ keys: [jwkOf(rsKey.publicKey, 'rs-1', { alg: 'RS256', use: 'sig' })] }),
})

const devIssuer = loadDevIssuer(join(dir, 'dev', 'dev-issuer-key.pem'))

const identity: Config['identity'] = {
  audience: AUDIENCE,
  clockToleranceSeconds: 30,
  issuers: [
    {
      issuer: ES_ISSUER,
      jwksFile: join(dir, 'es-jwks.json'),
      algorithms: ['ES256'],
      orgKinds: ['procuratorate', 'audit'],
    },
    {
      issuer: ED_ISSUER,
      jwksUrl,
      algorithms: ['EdDSA'],
      orgKinds: ['operator', 'procuratorate'],
      maxTokenLifetimeSeconds: 7200,
    },
    { issuer: RS_ISSUER, jwksFile: join(dir, 'rs-jwks.json'), algorithms: ['RS256'], orgKinds: ['court'] },
  ],
}

const app: FastifyInstance = Fastify({ logger: false })
await app.register(problemPlugin)
await app.register(identityPlugin, { identity, findOrg, devIssuer, now: () => clock })
app.get('/me', async (req) => req.principal)
app.get('/health', { config: { public: true } }, async () => ({ ok: true }))
await app.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => app.close())
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

async function call(
  authorization?: string,
  path = '/me',
): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  const response = await request(`${base}${path}`, {
    headers: authorization === undefined ? {} : { authorization },
  })
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as Record<string, unknown>,
  }
}

// The subtest type, taken from t.test's last overload `(cb: (t) => any)`.
type Subtest = Parameters<Parameters<typeof t.test>[0]>[0]

async function refused(tt: Subtest, authorization: string | undefined, why: string): Promise<void> {
  const { status, headers, body } = await call(authorization)
  tt.equal(status, 401, `${why}: 401`)
  tt.match(headers['content-type'], /^application\/problem\+json/, `${why}: problem+json`)
  tt.equal(body.code, 'UNAUTHENTICATED', `${why}: code`)
  tt.match(headers['www-authenticate'], /^Bearer\b/, `${why}: WWW-Authenticate`)
  const token = authorization?.replace(/^\S+\s*/, '')
  if (token) tt.notOk(String(body.detail).includes(token), `${why}: detail does not echo the token`)
}

// ---------------------------------------------------------------------------------------------------------
// Through HTTP: the JWKS cache of the URL-served issuer.

// First, so that no other test has made the gateway fetch the EdDSA issuer's key set yet.
t.test('the JWKS endpoint is fetched once, and refetched for unknown kids at most every 30 s', async (tt) => {
  tt.equal(jwksEndpoint.fetches, 0, 'nothing fetched before the first token')
  // An issuer's key rotation: ed-2 is published after the gateway first fetched the set.
  const rotated = edToken({}, 'ed-2', edKey2.privateKey)

  tt.equal((await call(`Bearer ${edToken()}`)).status, 200)
  tt.equal(jwksEndpoint.fetches, 1, 'first token fetches the set')
  tt.equal((await call(`Bearer ${edToken()}`)).status, 200)
  tt.equal(jwksEndpoint.fetches, 1, 'known kid: served from the cache')

  jwksEndpoint.keys = [jwkOf(edKey.publicKey, 'ed-1'), jwkOf(edKey2.publicKey, 'ed-2')]
  clock += 5_000
  await refused(tt, `Bearer ${rotated}`, 'new kid within 30 s of the last fetch')
  await refused(tt, `Bearer ${edToken({}, 'ed-made-up')}`, 'made-up kid within 30 s')
  tt.equal(jwksEndpoint.fetches, 1, 'unknown kids within 30 s do not refetch')

  clock += 26_000
  tt.equal((await call(`Bearer ${rotated}`)).status, 200, 'after 30 s the unknown kid triggers a refetch')
  tt.equal(jwksEndpoint.fetches, 2)
  await refused(tt, `Bearer ${edToken({}, 'ed-made-up')}`, 'made-up kid right after a refetch')
  tt.equal(jwksEndpoint.fetches, 2, 'and no second refetch')

  // The issuer goes down: a failed refetch keeps the keys already held.
  jwksEndpoint.status = 503
  clock += 31_000
  await refused(tt, `Bearer ${edToken({}, 'ed-made-up')}`, 'made-up kid while the issuer is down')
  tt.equal(jwksEndpoint.fetches, 3, 'the refetch was tried')
  tt.equal((await call(`Bearer ${edToken()}`)).status, 200, 'ed-1 still works')
  tt.equal((await call(`Bearer ${rotated}`)).status, 200, 'ed-2 still works')
  tt.equal(jwksEndpoint.fetches, 3)
  jwksEndpoint.status = 200
})

// ---------------------------------------------------------------------------------------------------------
// Through HTTP: accepted tokens.

t.test('valid tokens of each issuer give the right principal', async (tt) => {
  const es = await call(`Bearer ${esToken()}`)
  tt.equal(es.status, 200)
  tt.same(es.body, {
    sub: 'prosecutor-17',
    name: '张检察官',
    issuer: ES_ISSUER,
    roles: ['prosecutor'],
    org: ORGS[0],
  })

  const ed = await call(`Bearer ${edToken({ name: undefined })}`)
  tt.equal(ed.status, 200)
  tt.same(ed.body, { sub: 'ops-1', issuer: ED_ISSUER, roles: ['operator'], org: ORGS[2] })
  tt.notOk('name' in ed.body)

  const rs = await call(`Bearer ${rsToken()}`)
  tt.equal(rs.status, 200)
  tt.same(rs.body, {
    sub: 'clerk-3',
    name: '张检察官',
    issuer: RS_ISSUER,
    roles: ['court-admin', 'auditor'],
    org: ORGS[1],
  })

  // The scheme name is case-insensitive (RFC 7235 §2.1).
  tt.equal((await call(`bearer ${esToken()}`)).status, 200)
  // An array audience that includes the gateway is fine.
  tt.equal((await call(`Bearer ${esToken({ aud: ['https://other.example', AUDIENCE] })}`)).status, 200)
})

t.test('the public route needs no token', async (tt) => {
  const { status, body } = await call(undefined, '/health')
  tt.equal(status, 200)
  tt.same(body, { ok: true })
  // Not even a broken one gets in its way.
  tt.equal((await call('Bearer garbage', '/health')).status, 200)
})

t.test('the dev issuer mints tokens the gateway accepts', async (tt) => {
  const token = devIssuer.mint({
    sub: 'dev-user',
    org: '230100',
    roles: ['prosecutor', 'approver'],
    audience: AUDIENCE,
  })
  const { status, body } = await call(`Bearer ${token}`)
  tt.equal(status, 200)
  tt.same(body, { sub: 'dev-user', issuer: DEV_ISSUER, roles: ['prosecutor', 'approver'], org: ORGS[0] })
  const court = devIssuer.mint({ sub: 'c', org: '黑01', roles: ['court-admin'], name: '李', audience: AUDIENCE })
  tt.equal((await call(`Bearer ${court}`)).status, 200)
  const elsewhere = devIssuer.mint({ sub: 'c', org: '黑01', roles: ['court-admin'], audience: 'https://else.example' })
  await refused(tt, `Bearer ${elsewhere}`, 'dev token for another audience')
})

t.test('exp inside the clock tolerance is accepted, beyond it refused', async (tt) => {
  tt.equal((await call(`Bearer ${esToken({ exp: seconds() - 10 })}`)).status, 200)
  tt.equal((await call(`Bearer ${esToken({ nbf: seconds() + 10 })}`)).status, 200)
  await refused(tt, `Bearer ${esToken({ exp: seconds() - 120 })}`, 'expired')
  await refused(tt, `Bearer ${esToken({ nbf: seconds() + 120 })}`, 'not yet valid')
  const expired = await call(`Bearer ${esToken({ exp: seconds() - 120 })}`)
  tt.equal(expired.body.detail, 'the token has expired')
  tt.equal(expired.headers['www-authenticate'], 'Bearer error="invalid_token"')
})

t.test('token lifetime: exp − iat is capped per issuer; iat is required and not in the future', async (tt) => {
  const now = seconds()
  tt.equal((await call(`Bearer ${esToken({ iat: now, exp: now + 3600 })}`)).status, 200, 'the default cap, exactly')
  await refused(tt, `Bearer ${esToken({ iat: now, exp: now + 3601 })}`, 'a second over the default cap')
  const long = await call(`Bearer ${esToken({ iat: now, exp: now + 3601 })}`)
  tt.equal(long.body.detail, "the token lives longer than the 3600 s its issuer's tokens may live")
  await refused(tt, `Bearer ${esToken({ iat: now - 86_400, exp: now + 60 })}`, 'issued a day ago, valid for a minute')
  tt.equal((await call(`Bearer ${edToken({ iat: now, exp: now + 7200 })}`)).status, 200, 'an issuer allowed two hours')
  await refused(tt, `Bearer ${edToken({ iat: now, exp: now + 7201 })}`, "over that issuer's own cap")

  tt.equal((await call(`Bearer ${esToken({ iat: now + 20, exp: now + 600 })}`)).status, 200, 'iat within tolerance')
  await refused(tt, `Bearer ${esToken({ iat: now + 3600, exp: now + 7000 })}`, 'dated ahead to outlive the cap')
  tt.equal(
    (await call(`Bearer ${esToken({ iat: now + 3600, exp: now + 7000 })}`)).body.detail,
    'the token is issued in the future',
  )
  await refused(tt, `Bearer ${esToken({ iat: undefined })}`, 'no iat')
  tt.equal((await call(`Bearer ${esToken({ iat: undefined })}`)).body.detail, 'the token has no iat claim')
  await refused(tt, `Bearer ${esToken({ iat: 'yesterday' })}`, 'iat not a number')

  const dev = (ttlSeconds: number) =>
    devIssuer.mint({ sub: 'd', org: '230100', roles: ['prosecutor'], audience: AUDIENCE, ttlSeconds })
  tt.equal((await call(`Bearer ${dev(3600)}`)).status, 200, 'the dev issuer: an hour')
  await refused(tt, `Bearer ${dev(3601)}`, 'the dev issuer is capped too')
})

// ---------------------------------------------------------------------------------------------------------
// Through HTTP: every fault is a 401 problem with a Bearer challenge.

t.test('missing or non-Bearer credentials', async (tt) => {
  await refused(tt, undefined, 'no Authorization header')
  const missing = await call(undefined)
  tt.equal(missing.headers['www-authenticate'], 'Bearer', 'a bare challenge when no credentials were sent')
  await refused(tt, 'Basic dXNlcjpwYXNz', 'Basic scheme')
  await refused(tt, `Token ${esToken()}`, 'another scheme')
  await refused(tt, 'Bearer', 'Bearer without a token')
  await refused(tt, 'Bearer    ', 'Bearer with blanks')
  await refused(tt, `Bearer ${esToken()} extra`, 'two tokens')
})

t.test('malformed tokens', async (tt) => {
  await refused(tt, 'Bearer garbage', 'garbage')
  await refused(tt, `Bearer ${b64({ alg: 'ES256' })}.${b64(claims())}`, 'two parts')
  await refused(tt, 'Bearer ..', 'empty parts')
  await refused(tt, `Bearer ${b64({ alg: 'ES256', kid: 'es-1' })}.***.abc`, 'bad base64 payload')
  await refused(tt, `Bearer %%%.${b64(claims())}.abc`, 'bad base64 header')
  const notJson = Buffer.from('{"alg":"ES256",').toString('base64url')
  await refused(tt, `Bearer ${notJson}.${b64(claims())}.abc`, 'header not JSON')
  await refused(
    tt,
    `Bearer ${b64({ alg: 'ES256', kid: 'es-1' })}.${Buffer.from('nope').toString('base64url')}.abc`,
    'payload not JSON',
  )
  await refused(tt, `Bearer ${b64({ alg: 'ES256', kid: 'es-1' })}.${b64([1, 2])}.abc`, 'payload not an object')
  const valid = esToken()
  await refused(tt, `Bearer ${valid.slice(0, -4)}AAAA`, 'tampered signature')
  const [h, , s] = valid.split('.')
  await refused(tt, `Bearer ${h}.${b64(claims({ roles: ['prosecutor', 'approver'] }))}.${s}`, 'tampered payload')
  await refused(tt, `Bearer ${esToken({}, { kid: 42 })}`, 'kid not a string')
  await refused(tt, `Bearer ${esToken({ exp: 'tomorrow' })}`, 'exp not a number')
})

t.test('wrong audience, issuer or missing registered claims', async (tt) => {
  await refused(tt, `Bearer ${esToken({ aud: 'https://other.example' })}`, 'wrong audience')
  await refused(tt, `Bearer ${esToken({ aud: undefined })}`, 'no audience')
  await refused(tt, `Bearer ${esToken({ exp: undefined })}`, 'no exp')
  const noExp = await call(`Bearer ${esToken({ exp: undefined })}`)
  tt.equal(noExp.body.detail, 'the token has no exp claim')
  await refused(tt, `Bearer ${esToken({ iss: 'https://evil.example' })}`, 'unknown issuer')
  await refused(tt, `Bearer ${esToken({ iss: undefined })}`, 'no issuer')
  await refused(tt, `Bearer ${esToken({ iss: '__proto__' })}`, 'issuer named like a prototype key')
  // Signed with the ES256 issuer's key but claiming the court issuer: that issuer has no such key.
  await refused(tt, `Bearer ${esToken({ iss: RS_ISSUER, org: '黑01', roles: ['court-admin'] })}`, 'cross-issuer')
})

t.test('unknown kid and foreign keys', async (tt) => {
  await refused(tt, `Bearer ${esToken({}, { kid: 'es-unknown' })}`, 'unknown kid')
  const unknown = await call(`Bearer ${esToken({}, { kid: 'es-unknown' })}`)
  tt.equal(unknown.body.detail, 'the token signing key is not known')
  await refused(tt, `Bearer ${esToken({}, { kid: undefined })}`, 'no kid in a set of two keys')
  const forged = signJwt({ alg: 'ES256', typ: 'JWT', kid: 'es-1' }, claims(), rogueEsKey.privateKey)
  await refused(tt, `Bearer ${forged}`, 'signed by another key with the right kid')
  const forgedDetail = await call(`Bearer ${forged}`)
  tt.equal(forgedDetail.body.detail, 'the token signature is invalid')
  await refused(tt, `Bearer ${edToken({}, 'ed-1', edKey2.privateKey)}`, 'EdDSA signed by another key')
})

t.test('alg none and HMAC with a public key are refused', async (tt) => {
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`
  await refused(tt, `Bearer ${none}`, 'alg none, empty signature')
  const noneKid = `${b64({ alg: 'none', kid: 'es-1' })}.${b64(claims())}.`
  await refused(tt, `Bearer ${noneKid}`, 'alg none with a kid')
  await refused(tt, `Bearer ${b64({ alg: 'none' })}.${b64(claims())}`, 'alg none, two parts')

  const esPem = esKey.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  await refused(tt, `Bearer ${hs256({ alg: 'HS256', kid: 'es-1' }, claims(), esPem)}`, 'HS256 with the PEM as secret')
  const rsPem = rsKey.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const rsClaims = claims({ iss: RS_ISSUER, org: '黑01', roles: ['court-admin'] })
  await refused(tt, `Bearer ${hs256({ alg: 'HS256', kid: 'rs-1' }, rsClaims, rsPem)}`, 'HS256 with the RSA PEM')
  const edX = String(edKey.publicKey.export({ format: 'jwk' }).x)
  const edClaims = claims({ iss: ED_ISSUER, org: 'HLJ-OPS', roles: ['operator'] })
  await refused(tt, `Bearer ${hs256({ alg: 'HS256', kid: 'ed-1' }, edClaims, edX)}`, 'HS256 with the JWK x')
  await refused(
    tt,
    `Bearer ${hs256({ alg: 'HS256', kid: 'ed-1' }, edClaims, Buffer.from(edX, 'base64url'))}`,
    'HS256 with raw x',
  )
  const esX = String(esKey.publicKey.export({ format: 'jwk' }).x)
  await refused(tt, `Bearer ${hs256({ alg: 'HS256', kid: 'es-1' }, claims(), esX)}`, 'HS256 with the EC x')
  await refused(tt, `Bearer ${hs256({ alg: 'HS512', kid: 'es-1' }, claims(), esPem)}`, 'HS512')
})

t.test('an algorithm allowed elsewhere but not for this issuer', async (tt) => {
  // The ES256 issuer's set does hold an RSA key, and RS256 is allowed for the court issuer.
  const rsForEs = signJwt({ alg: 'RS256', typ: 'JWT', kid: 'es-rsa' }, claims(), esRsaKey.privateKey)
  await refused(tt, `Bearer ${rsForEs}`, 'RS256 for the ES256 issuer')
  const detail = await call(`Bearer ${rsForEs}`)
  tt.equal(detail.body.detail, 'the token algorithm is not allowed for its issuer')
  const edForEs = signJwt({ alg: 'EdDSA', typ: 'JWT', kid: 'ed-1' }, claims(), edKey.privateKey)
  await refused(tt, `Bearer ${edForEs}`, 'EdDSA for the ES256 issuer')
  const psForRs = `${b64({ alg: 'PS256', kid: 'rs-1' })}.${b64(claims({ iss: RS_ISSUER, org: '黑01', roles: ['court-admin'] }))}.abc`
  await refused(tt, `Bearer ${psForRs}`, 'PS256, never allowed')
})

t.test('issuers vouch only for their org kinds; org, sub and roles are checked', async (tt) => {
  await refused(
    tt,
    `Bearer ${rsToken({ org: '230100', roles: ['prosecutor'] })}`,
    'court-only issuer, procuratorate org',
  )
  const kind = await call(`Bearer ${rsToken({ org: '230100', roles: ['auditor'] })}`)
  tt.equal(kind.body.detail, 'the token issuer may not vouch for organisations of kind procuratorate')
  await refused(tt, `Bearer ${esToken({ org: 'HLJ-OPS', roles: ['operator'] })}`, 'procuratorate issuer, operator org')
  await refused(tt, `Bearer ${esToken({ org: '999999' })}`, 'org not in the directory')
  await refused(tt, `Bearer ${esToken({ org: undefined })}`, 'no org')
  await refused(tt, `Bearer ${esToken({ sub: undefined })}`, 'no sub')
  await refused(tt, `Bearer ${esToken({ sub: '' })}`, 'empty sub')
  await refused(tt, `Bearer ${esToken({ sub: 'x'.repeat(129) })}`, 'sub too long')
  await refused(tt, `Bearer ${esToken({ roles: undefined })}`, 'no roles')
  await refused(tt, `Bearer ${esToken({ roles: [] })}`, 'empty roles')
  await refused(tt, `Bearer ${esToken({ roles: ['prosecutor', 'superuser'] })}`, 'unknown role')
  await refused(tt, `Bearer ${esToken({ roles: { prosecutor: true } })}`, 'roles neither a list nor a string')
  await refused(tt, `Bearer ${esToken({ roles: ['court-admin'] })}`, 'a court role in a procuratorate')
})

// ---------------------------------------------------------------------------------------------------------
// Unit tests of the pure parts.

t.test('principalFromClaims', async (tt) => {
  const issuer = { issuer: ES_ISSUER, orgKinds: ['procuratorate', 'audit'] as Array<'procuratorate' | 'audit'> }
  const ok = principalFromClaims(claims({ roles: ['prosecutor', 'approver', 'prosecutor'] }), issuer, findOrg)
  tt.same(ok, {
    ok: true,
    principal: {
      sub: 'prosecutor-17',
      name: '张检察官',
      issuer: ES_ISSUER,
      roles: ['prosecutor', 'approver'],
      org: ORGS[0],
    },
  })
  const auditor = principalFromClaims(claims({ org: 'HLJ-AUDIT', roles: ['auditor'], name: '' }), issuer, findOrg)
  tt.same(auditor, {
    ok: true,
    principal: { sub: 'prosecutor-17', issuer: ES_ISSUER, roles: ['auditor'], org: ORGS[3] },
  })

  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ iss: RS_ISSUER }, /issuer does not match/],
    [{ sub: undefined }, /no subject/],
    [{ sub: '' }, /no subject/],
    [{ sub: 17 }, /no subject/],
    [{ sub: 'x'.repeat(129) }, /too long/],
    [{ sub: 'a\nb' }, /control characters/],
    [{ org: undefined }, /no organisation/],
    [{ org: 230100 }, /no organisation/],
    [{ org: 'nowhere' }, /not in the directory/],
    [{ org: 'HLJ-OPS', roles: ['operator'] }, /may not vouch for organisations of kind operator/],
    [{ org: '黑01', roles: ['auditor'] }, /may not vouch for organisations of kind court/],
    [{ roles: undefined }, /no roles/],
    [{ roles: [] }, /no roles/],
    [{ roles: ' ' }, /no roles/],
    [{ roles: { prosecutor: true } }, /no roles/],
    [{ roles: 'prosecutor superuser' }, /unknown role/],
    [{ roles: ['prosecutor', 7] }, /unknown role/],
    [{ roles: ['admin'] }, /unknown role/],
    [{ roles: ['operator'] }, /role operator does not fit organisations of kind procuratorate/],
    [{ org: 'HLJ-AUDIT', roles: ['prosecutor'] }, /role prosecutor does not fit organisations of kind audit/],
    [{ name: 42 }, /name claim is invalid/],
    [{ name: 'n'.repeat(257) }, /name claim is invalid/],
  ]
  for (const [overrides, reason] of cases) {
    const result = principalFromClaims(claims(overrides), issuer, findOrg)
    tt.equal(result.ok, false, `${JSON.stringify(overrides)} is refused`)
    if (!result.ok) tt.match(result.reason, reason)
  }
  tt.equal(principalFromClaims(claims({ sub: 'x'.repeat(128) }), issuer, findOrg).ok, true, '128 characters is fine')
})

t.test('bearerToken', async (tt) => {
  tt.same(bearerToken(undefined), { reason: 'no bearer token', presented: false })
  tt.same(bearerToken(''), { reason: 'no bearer token', presented: false })
  tt.same(bearerToken('Bearer'), { reason: 'no bearer token', presented: false })
  tt.same(bearerToken('Basic abc'), { reason: 'the authorization scheme must be Bearer', presented: false })
  tt.same(bearerToken('Bearer a.b.c'), { token: 'a.b.c' })
  tt.same(bearerToken('BEARER   a.b.c  '), { token: 'a.b.c' })
  tt.same(bearerToken('Bearer a.b.c d'), { reason: 'the token is malformed', presented: true })
})

t.test('JwksSource', async (tt) => {
  const one = new JwksSource({ issuer: 'x', jwks: { keys: [jwkOf(esKey.publicKey, 'k')] } })
  tt.ok(await one.getKey(undefined, 'ES256'), 'a single key serves a token without kid')
  tt.ok(await one.getKey('k', 'ES256'))
  tt.equal(await one.getKey('k', 'RS256'), undefined, 'an EC key never serves RS256')
  tt.equal(await one.getKey('k', 'EdDSA'), undefined)
  tt.equal(await one.getKey('k', 'HS256'), undefined)
  tt.equal(await one.getKey('other', 'ES256'), undefined)

  const mixed = new JwksSource({
    issuer: 'x',
    jwks: {
      keys: [
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
        jwkOf(edKey.publicKey, 'same'),
        jwkOf(esKey.publicKey, 'same'),
        jwkOf(rsKey.publicKey, 'pinned', { alg: 'PS256' }),
        jwkOf(rsKey.publicKey, 'enc', { use: 'enc' }),
        jwkOf(rsKey.publicKey, 'ops', { key_ops: ['encrypt'] }),
        jwkOf(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, 'weak'),
        jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey, 'p384'),
        { kty: 'EC', crv: 'P-256', x: 'broken', kid: 'broken' },
        'not a key' as unknown as object,
        { ...jwkOf(esKey.publicKey, 'x'), kid: 5 },
      ],
    },
  })
  tt.equal(await mixed.getKey('hmac', 'HS256'), undefined, 'symmetric keys are ignored')
  tt.equal((await mixed.getKey('same', 'EdDSA'))?.asymmetricKeyType, 'ed25519', 'kid shared across types: by alg')
  tt.equal((await mixed.getKey('same', 'ES256'))?.asymmetricKeyType, 'ec')
  tt.equal(await mixed.getKey('pinned', 'RS256'), undefined, 'a key pinned to another alg')
  tt.equal(await mixed.getKey('enc', 'RS256'), undefined, 'an encryption key')
  tt.equal(await mixed.getKey('ops', 'RS256'), undefined, 'key_ops without verify')
  tt.equal(await mixed.getKey('weak', 'RS256'), undefined, 'RSA below 2048 bits')
  tt.equal(await mixed.getKey('p384', 'ES256'), undefined, 'ES256 needs P-256')
  tt.equal(await mixed.getKey('broken', 'ES256'), undefined)
  tt.equal(await mixed.getKey(undefined, 'ES256'), undefined, 'no kid in a set of many')

  const priv = new JwksSource({ issuer: 'x', jwks: { keys: [esKey.privateKey.export({ format: 'jwk' })] } })
  tt.equal((await priv.getKey(undefined, 'ES256'))?.type, 'public', 'private parts are dropped')

  tt.throws(() => new JwksSource({ issuer: 'x' }), /exactly one/)
  tt.throws(() => new JwksSource({ issuer: 'x', jwksFile: 'a', jwksUrl: 'http://b' }), /exactly one/)
  tt.throws(() => new JwksSource({ issuer: 'x', jwksFile: join(dir, 'missing.json') }), /cannot read JWKS file/)
  const bad = tt.testdir({ 'bad.json': '{"nokeys": []}', 'text.json': 'not json' })
  tt.throws(() => new JwksSource({ issuer: 'x', jwksFile: join(bad, 'bad.json') }), /no "keys" array/)
  tt.throws(() => new JwksSource({ issuer: 'x', jwksFile: join(bad, 'text.json') }), /cannot read JWKS file/)
  tt.throws(() => parseJwks(null))

  tt.equal(keyMatchesAlgorithm(esKey.privateKey, 'ES256'), false, 'a private key is not a verification key')
  tt.equal(keyMatchesAlgorithm(rsKey.publicKey, 'RS256'), true)
})

t.test('JwksSource over HTTP: timeout, bad answers, concurrent lookups, maximum age', async (tt) => {
  let mode: 'hang' | 'ok' | 'huge' | 'json' = 'hang'
  let fetches = 0
  const server = createServer((_req, res) => {
    fetches++
    if (mode === 'hang') return // never answers: the client's timeout must end it
    if (mode === 'huge') return res.end(`{"keys":[${' '.repeat(600 * 1024)}]}`)
    if (mode === 'json') return res.end('{"keys": not json')
    setTimeout(() => res.end(JSON.stringify({ keys: [jwkOf(edKey.publicKey, 'a')] })), 20)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  tt.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
  let now = 1_000_000
  const errors: string[] = []
  const source = new JwksSource({
    issuer: 'x',
    jwksUrl: url,
    timeoutMs: 200,
    now: () => now,
    onError: (message) => errors.push(message),
  })

  const started = Date.now()
  tt.equal(await source.getKey('a', 'EdDSA'), undefined, 'a hanging endpoint gives no key')
  tt.ok(Date.now() - started < 2_000, 'within the timeout')
  tt.match(errors[0], /keeping the previous keys/)

  mode = 'huge'
  now += 30_000
  tt.equal(await source.getKey('a', 'EdDSA'), undefined, 'an oversized set is refused')
  mode = 'json'
  now += 30_000
  tt.equal(await source.getKey('a', 'EdDSA'), undefined, 'a set that is not JSON is refused')

  mode = 'ok'
  now += 30_000
  const before = fetches
  const keys = await Promise.all([
    source.getKey('a', 'EdDSA'),
    source.getKey('a', 'EdDSA'),
    source.getKey('b', 'EdDSA'),
  ])
  tt.ok(keys[0] && keys[1], 'concurrent lookups all get the key')
  tt.equal(keys[2], undefined)
  tt.equal(fetches - before, 1, 'concurrent lookups share one fetch')

  now += 11 * 60_000
  tt.ok(await source.getKey('a', 'EdDSA'))
  tt.equal(fetches - before, 2, 'a set older than its maximum age is fetched again')
})

t.test('dev issuer key file', async (tt) => {
  const folder = tt.testdir()
  const keyFile = join(folder, 'nested', 'deeper', 'key.pem')
  const first = loadDevIssuer(keyFile)
  tt.equal(statSync(keyFile).mode & 0o777, 0o600, 'created with mode 0600')
  const again = loadDevIssuer(keyFile)
  tt.equal(again.kid, first.kid, 'the same file gives the same key')
  tt.not(loadDevIssuer(join(folder, 'other.pem')).kid, first.kid)

  const config = first.issuerConfig()
  tt.equal(config.issuer, DEV_ISSUER)
  tt.same(config.algorithms, ['EdDSA'])
  tt.same([...config.orgKinds].sort(), ['audit', 'court', 'operator', 'procuratorate'])

  // An independent JOSE implementation agrees with the hand-built JWS.
  const token = first.mint({ sub: 's', org: 'o', roles: ['operator'], name: 'n', audience: 'aud', ttlSeconds: 60 })
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(config.jwks as never), {
    issuer: DEV_ISSUER,
    audience: 'aud',
  })
  tt.equal(protectedHeader.alg, 'EdDSA')
  tt.equal(protectedHeader.kid, first.kid)
  tt.match(payload, { sub: 's', org: 'o', roles: ['operator'], name: 'n' })
  tt.equal((payload.exp ?? 0) - (payload.iat ?? 0), 60)

  const notEd = tt.testdir({
    'ec.pem': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    'junk.pem': 'junk',
  })
  tt.throws(() => loadDevIssuer(join(notEd, 'ec.pem')), /not hold an Ed25519/)
  tt.throws(() => loadDevIssuer(join(notEd, 'junk.pem')), /cannot read the key/)
})

t.test('a bad issuer list stops the plugin from loading', async (tt) => {
  const load = async (issuers: Config['identity']['issuers']): Promise<void> => {
    const bare = Fastify({ logger: false })
    try {
      await bare.register(identityPlugin, { identity: { ...identity, issuers }, findOrg })
      await bare.ready()
    } finally {
      await bare.close()
    }
  }
  const es = identity.issuers[0]!
  await tt.rejects(load([es, { ...es }]), /configured twice/)
  await tt.rejects(load([{ ...es, algorithms: [] }]), /allows no algorithm/)
  await tt.rejects(load([{ ...es, algorithms: ['HS256' as never] }]), /unsupported algorithm HS256/)
  await tt.rejects(load([{ ...es, algorithms: ['none' as never] }]), /unsupported algorithm none/)
  await tt.rejects(load([]), /no issuer is configured/)
  await tt.resolves(load([es]))
})

t.test('routes unknown to the gateway are not disclosed without a token', async (tt) => {
  tt.equal((await call(undefined, '/no-such-route')).status, 401)
  const known = await call(`Bearer ${esToken()}`, '/no-such-route')
  tt.equal(known.status, 404)
  tt.equal(known.body.code, 'NOT_FOUND')
})
