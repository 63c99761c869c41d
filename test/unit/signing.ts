import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, jwtVerify, SignJWT } from 'jose'
import t from 'tap'
import { jwkThumbprint, REQUEST_TOKEN_TTL_SECONDS, RequestSigner } from '../../src/adapters/signing.js'

const claims = {
  court: '黑01',
  sub: 'zhang.wei',
  org: '230100',
  grant: 'g-1',
  purpose: '哈检民监〔2024〕1号',
  log: 42,
}

t.test('request tokens are the JWS jose would sign, and verify against the published key set', async (t) => {
  const { privateKey } = generateKeyPairSync('ed25519')
  const signer = await RequestSigner.create('court-file-gateway', privateKey)
  const token = signer.sign(claims)

  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), {
    issuer: 'court-file-gateway',
    audience: '黑01',
    algorithms: ['EdDSA'],
  })
  t.same(protectedHeader, { alg: 'EdDSA', typ: 'JWT', kid: signer.jwks().keys[0]!.kid })
  t.match(payload, { sub: 'zhang.wei', org: '230100', grant: 'g-1', purpose: claims.purpose, log: 42 })
  t.equal(payload.exp! - payload.iat!, REQUEST_TOKEN_TTL_SECONDS, 'the lifetime is the 60-s cap')

  // Ed25519 is deterministic: with the same iat, jose's own signing gives the very same token.
  const fromJose = await new SignJWT({ org: claims.org, grant: claims.grant, purpose: claims.purpose, log: claims.log })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: signer.jwks().keys[0]!.kid! })
    .setIssuer('court-file-gateway')
    .setAudience(claims.court)
    .setSubject(claims.sub)
    .setIssuedAt(payload.iat!)
    .setExpirationTime(payload.iat! + REQUEST_TOKEN_TTL_SECONDS)
    .sign(privateKey)
  t.equal(token, fromJose)
})

t.test('tokens signed on the thread pool are the same tokens, for both signing algorithms', async (t) => {
  for (const type of ['ed25519', 'p256'] as const) {
    const { privateKey } =
      type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const signer = await RequestSigner.create('court-file-gateway', privateKey)
    const token = await signer.signAsync(claims)
    const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), {
      issuer: 'court-file-gateway',
      audience: '黑01',
      algorithms: [signer.algorithm],
    })
    t.match(payload, { sub: 'zhang.wei', org: '230100', grant: 'g-1', purpose: claims.purpose, log: 42 }, type)
    t.equal(payload.exp! - payload.iat!, REQUEST_TOKEN_TTL_SECONDS)
    // Header and payload are those of the synchronous signer (the same second); Ed25519 signatures are equal too.
    const sync = signer.sign(claims)
    const [header, body] = token.split('.')
    if (sync.split('.')[1] === body) {
      t.equal(sync.split('.')[0], header)
      if (type === 'ed25519') t.equal(sync, token, 'byte for byte')
    }
  }
})

t.test('key ids are the RFC 7638 thumbprints jose computes, for both signing algorithms', async (t) => {
  for (const type of ['ed25519', 'p256'] as const) {
    for (let i = 0; i < 5; i++) {
      const { publicKey } =
        type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const jwk = publicKey.export({ format: 'jwk' }) as JWK
      t.equal(jwkThumbprint(jwk), await calculateJwkThumbprint(jwk), `${type} key ${i}`)
    }
  }
  t.throws(() => jwkThumbprint({ kty: 'RSA', n: 'AQAB', e: 'AQAB' }), /no thumbprint for key type RSA/)
})
