import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Fastify from 'fastify'
import { SignJWT } from 'jose'
import t from 'tap'
import { request } from 'undici'
import type { IssuerConfig } from '../../src/config/types.js'
import type { Org } from '../../src/directory/types.js'
import problemPlugin from '../../src/http/problem-plugin.js'
import identityPlugin, { principalFromClaims } from '../../src/identity/authenticate.js'

const KEYCLOAK = 'https://sso.jcy.example/realms/hlj'
const AUDIENCE = 'court-file-gateway'
const ORGS = [
  { code: '230100', name: '哈尔滨市人民检察院', kind: 'procuratorate' },
  { code: '黑01', name: '哈尔滨市中级人民法院', kind: 'court' },
] as Org[]
const findOrg = (code: string) => ORGS.find((org) => org.code === code)

const ISSUER: IssuerConfig = {
  issuer: KEYCLOAK,
  algorithms: ['ES256'],
  orgKinds: ['procuratorate'],
  claims: {
    org: 'organisation_code',
    roles: 'realm_access.roles',
    roleMap: { 'jcy-prosecutor': 'prosecutor', 'jcy-approver': 'approver', 'court-admin': 'court-admin' },
  },
}

/** The payload of a Keycloak access token with an `organisation_code` user-attribute mapper. */
function keycloakPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    typ: 'Bearer',
    azp: AUDIENCE,
    preferred_username: 'zhang.wei',
    name: '张伟',
    organisation_code: '230100',
    realm_access: { roles: ['offline_access', 'uma_authorization', 'default-roles-hlj', 'jcy-prosecutor'] },
    resource_access: { account: { roles: ['manage-account'] } },
    scope: 'openid profile email',
    ...overrides,
  }
}

t.test('principalFromClaims applies the issuer mapping and still checks org kind and role fit', async (t) => {
  const claims = (overrides: Record<string, unknown> = {}) => ({
    iss: KEYCLOAK,
    sub: 'kc-1',
    ...keycloakPayload(overrides),
  })
  t.same(principalFromClaims(claims(), ISSUER, findOrg), {
    ok: true,
    principal: { sub: 'kc-1', name: '张伟', issuer: KEYCLOAK, roles: ['prosecutor'], org: ORGS[0] },
  })
  const refused: Array<[Record<string, unknown>, string]> = [
    [{ realm_access: { roles: ['offline_access'] } }, 'the token has no roles'],
    [{ organisation_code: undefined }, 'the token names no organisation'],
    [{ organisation_code: '黑01' }, 'the token issuer may not vouch for organisations of kind court'],
    [
      { realm_access: { roles: ['court-admin'] } },
      'the role court-admin does not fit organisations of kind procuratorate',
    ],
  ]
  for (const [overrides, reason] of refused) {
    t.same(principalFromClaims(claims(overrides), ISSUER, findOrg), { ok: false, reason }, reason)
  }
})

t.test('through HTTP: a Keycloak access token speaks for the prosecutor it names', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const dir = t.testdir({
    'kc.json': JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'kc-1', alg: 'ES256' }] }),
  })
  const app = Fastify({ logger: false })
  await app.register(problemPlugin)
  await app.register(identityPlugin, {
    identity: {
      audience: AUDIENCE,
      clockToleranceSeconds: 30,
      issuers: [{ ...ISSUER, jwksFile: join(dir, 'kc.json') }],
    },
    findOrg,
  })
  app.get('/me', async (req) => req.principal)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const me = async (payload: Record<string, unknown>) => {
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'kc-1', typ: 'JWT' })
      .setIssuer(KEYCLOAK)
      .setSubject('f1b6c1d2-3e4f-4a5b-8c7d-9e0f1a2b3c4d')
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
    const response = await request(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`, {
      headers: { authorization: `Bearer ${token}` },
    })
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, any> }
  }
  const ok = await me(keycloakPayload())
  t.equal(ok.status, 200, JSON.stringify(ok.body))
  t.same(ok.body.roles, ['prosecutor'])
  t.equal(ok.body.org.code, '230100')
  const none = await me(keycloakPayload({ realm_access: { roles: ['offline_access'] } }))
  t.equal(none.status, 401)
  t.equal(none.body.code, 'UNAUTHENTICATED')
})
