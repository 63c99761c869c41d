import { generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Fastify from 'fastify'
import { SignJWT } from 'jose'
import t from 'tap'
import { request } from 'undici'
import { parseConfig } from '../src/config/load.js'
import type { IssuerConfig } from '../src/config/types.js'
import type { Org } from '../src/directory/types.js'
import problemPlugin from '../src/http/problem-plugin.js'
import identityPlugin, { claimAt, principalFromClaims } from '../src/identity/authenticate.js'
import { testConfig } from './helpers/harness.js'

const KEYCLOAK = 'https://sso.jcy.example/realms/hlj'
const ORGS: Org[] = [
  { code: '230100', name: '哈尔滨市人民检察院', kind: 'procuratorate' } as Org,
  { code: '230103', name: '哈尔滨市南岗区人民检察院', kind: 'procuratorate' } as Org,
]
const findOrg = (code: string) => ORGS.find((org) => org.code === code)

/** What Keycloak puts in an access token: realm roles nested, client roles per client, custom attributes. */
function keycloakClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: KEYCLOAK,
    sub: 'f1b6c1d2-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
    typ: 'Bearer',
    azp: 'court-file-gateway',
    preferred_username: 'zhang.wei',
    name: '张伟',
    organisation_code: '230100',
    realm_access: { roles: ['offline_access', 'uma_authorization', 'default-roles-hlj', 'jcy-prosecutor'] },
    resource_access: {
      'court-file-gateway': { roles: ['reader', 'approver'] },
      account: { roles: ['manage-account'] },
    },
    scope: 'openid profile email',
    ...overrides,
  }
}

const KEYCLOAK_ISSUER: IssuerConfig = {
  issuer: KEYCLOAK,
  algorithms: ['ES256'],
  orgKinds: ['procuratorate'],
  claims: {
    org: 'organisation_code',
    roles: 'realm_access.roles',
    roleMap: { 'jcy-prosecutor': 'prosecutor', 'jcy-approver': 'approver' },
  },
}

t.test('claimAt follows dotted paths through plain objects only', async (t) => {
  const claims = keycloakClaims()
  t.same(claimAt(claims, 'realm_access.roles'), (claims.realm_access as { roles: string[] }).roles)
  t.same(claimAt(claims, 'resource_access.court-file-gateway.roles'), ['reader', 'approver'])
  t.equal(claimAt(claims, 'realm_access.missing.roles'), undefined)
  t.equal(claimAt(claims, 'scope.length'), undefined, 'no property of a string')
  t.equal(claimAt(claims, 'realm_access.roles.0'), undefined, 'no index into a list')
  t.equal(claimAt(claims, 'realm_access.constructor'), undefined, 'no inherited property')
})

t.test(
  'Keycloak-shaped tokens: organisation and roles from where the mapping says, IdP roles translated',
  async (t) => {
    const ok = principalFromClaims(keycloakClaims(), KEYCLOAK_ISSUER, findOrg)
    t.same(ok, {
      ok: true,
      principal: {
        sub: 'f1b6c1d2-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
        name: '张伟',
        issuer: KEYCLOAK,
        roles: ['prosecutor'],
        org: ORGS[0],
      },
    })

    const clientRoles: IssuerConfig = {
      ...KEYCLOAK_ISSUER,
      claims: {
        org: 'organisation_code',
        roles: 'resource_access.court-file-gateway.roles',
        roleMap: { reader: 'prosecutor', approver: 'approver' },
      },
    }
    const both = principalFromClaims(keycloakClaims(), clientRoles, findOrg)
    t.same(both.ok && both.principal.roles, ['prosecutor', 'approver'], 'client roles, mapped')

    const spaced: IssuerConfig = {
      ...KEYCLOAK_ISSUER,
      claims: { org: 'organisation_code', roles: 'groups', roleMap: { 'jcy-approver': 'approver' } },
    }
    const fromString = principalFromClaims(keycloakClaims({ groups: 'staff jcy-approver' }), spaced, findOrg)
    t.same(fromString.ok && fromString.principal.roles, ['approver'], 'a space-separated string of roles')

    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ realm_access: { roles: ['offline_access', 'default-roles-hlj'] } }, /no roles/],
      [{ realm_access: undefined }, /no roles/],
      [{ organisation_code: undefined, org: '230100' }, /names no organisation/],
      [{ organisation_code: 'elsewhere' }, /not in the directory/],
    ]
    for (const [overrides, reason] of refusals) {
      const result = principalFromClaims(keycloakClaims(overrides), KEYCLOAK_ISSUER, findOrg)
      t.equal(result.ok, false, `${JSON.stringify(overrides)} is refused`)
      if (!result.ok) t.match(result.reason, reason)
    }

    // Without a roleMap the names must be gateway roles, as they always were.
    const single = principalFromClaims(
      keycloakClaims({ realm_access: { roles: 'jcy-prosecutor' } }),
      KEYCLOAK_ISSUER,
      findOrg,
    )
    t.same(single.ok && single.principal.roles, ['prosecutor'], 'one role as a string')

    const unmapped: IssuerConfig = {
      ...KEYCLOAK_ISSUER,
      claims: { org: 'organisation_code', roles: 'realm_access.roles' },
    }
    const unknown = principalFromClaims(keycloakClaims(), unmapped, findOrg)
    t.same(unknown, { ok: false, reason: 'the token names an unknown role' })
  },
)

t.test('the claim mapping is configuration, checked at start', async (t) => {
  const dir = t.testdir()
  const issuer = {
    issuer: KEYCLOAK,
    jwksFile: join(dir, 'kc.json'),
    algorithms: ['ES256'],
    orgKinds: ['procuratorate'],
  }
  const config = testConfig(dir, {
    identity: { audience: 'court-file-gateway', issuers: [{ ...issuer, claims: KEYCLOAK_ISSUER.claims }] },
  })
  t.same(config.identity.issuers[0]?.claims, KEYCLOAK_ISSUER.claims)
  const bad = (claims: unknown) => () =>
    parseConfig({ ...testConfigInput(dir), identity: { audience: 'a', issuers: [{ ...issuer, claims }] } }, dir)
  t.throws(bad({ roleMap: { 'jcy-admin': 'superuser' } }), /roleMap/)
  t.throws(bad({ roles: 'realm_access..roles' }), /claims\.roles/)
  t.throws(bad({ group: 'x' }), /claims/)
})

function testConfigInput(dir: string) {
  return {
    storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
    accessLog: { origin: 'test.gateway/log', signingKeyFile: join(dir, 'log.pem') },
    adapters: { signingKeyFile: join(dir, 'adapter.pem') },
  }
}

t.test('through HTTP: a Keycloak access token is the prosecutor it names', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const dir = t.testdir({
    'kc.json': JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'kc-1', alg: 'ES256' }] }),
  })
  const app = Fastify({ logger: false })
  await app.register(problemPlugin)
  await app.register(identityPlugin, {
    identity: {
      audience: 'court-file-gateway',
      clockToleranceSeconds: 30,
      issuers: [{ ...KEYCLOAK_ISSUER, jwksFile: join(dir, 'kc.json') }],
    },
    findOrg,
  })
  app.get('/me', async (req) => req.principal)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { iss: _iss, ...claims } = keycloakClaims()
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'kc-1', typ: 'JWT' })
    .setIssuer(KEYCLOAK)
    .setAudience('court-file-gateway')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)
  const response = await request(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/me`, {
    headers: { authorization: `Bearer ${token}` },
  })
  const body = (await response.body.json()) as { roles: string[]; org: Org }
  t.equal(response.statusCode, 200, JSON.stringify(body))
  t.same(body.roles, ['prosecutor'])
  t.equal(body.org.code, '230100')
})
