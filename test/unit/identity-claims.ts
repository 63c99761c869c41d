import { join } from 'node:path'
import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import type { IssuerConfig } from '../../src/config/types.js'
import { claimAt, mappedClaims } from '../../src/identity/claims.js'

const KEYCLOAK = 'https://sso.jcy.example/realms/hlj'
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
    const claims = keycloakClaims()
    t.same(mappedClaims(claims, KEYCLOAK_ISSUER.claims), { orgCode: '230100', roles: ['prosecutor'] })
    t.same(
      mappedClaims(claims, {
        org: 'organisation_code',
        roles: 'resource_access.court-file-gateway.roles',
        roleMap: { reader: 'prosecutor', approver: 'approver' },
      }),
      { orgCode: '230100', roles: ['prosecutor', 'approver'] },
      'client roles, mapped',
    )
    t.same(
      mappedClaims(keycloakClaims({ groups: ' staff  jcy-approver ' }), {
        roles: 'groups',
        roleMap: { 'jcy-approver': 'approver' },
      }),
      { orgCode: undefined, roles: ['approver'] },
      'a space-separated string of roles; the default org claim is absent from this token',
    )
    const roles = (overrides: Record<string, unknown>) =>
      mappedClaims(keycloakClaims(overrides), KEYCLOAK_ISSUER.claims).roles
    t.same(roles({ realm_access: { roles: 'jcy-prosecutor' } }), ['prosecutor'], 'one role as a string')
    t.same(
      roles({ realm_access: { roles: ['offline_access', 'default-roles-hlj'] } }),
      [],
      'roles of other applications only: none for the gateway (principalFromClaims refuses "no roles")',
    )
    t.equal(roles({ realm_access: undefined }), undefined)
    t.equal(roles({ realm_access: { roles: [] } }), undefined)
    t.equal(roles({ realm_access: { roles: { a: 1 } } }), undefined)
    t.same(
      roles({ realm_access: { roles: ['toString', '__proto__', 'jcy-approver'] } }),
      ['approver'],
      "only the roleMap's own names translate",
    )
    // Without a roleMap the names pass on unchanged, for principalFromClaims to check as gateway roles.
    t.same(mappedClaims(claims, { org: 'organisation_code', roles: 'realm_access.roles' }).roles, [
      'offline_access',
      'uma_authorization',
      'default-roles-hlj',
      'jcy-prosecutor',
    ])
    t.same(
      mappedClaims({ org: '230100', roles: ['prosecutor'] }, undefined),
      { orgCode: '230100', roles: ['prosecutor'] },
      'the defaults',
    )
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
  const config = parseConfig(
    { ...testConfigInput(dir), identity: { audience: 'a', issuers: [{ ...issuer, claims: KEYCLOAK_ISSUER.claims }] } },
    dir,
  )
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
