import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import t from 'tap'
import { TokenVerifier } from '../../src/identity/token-verifier.js'

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
function token(payload: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'k1' })}.${b64(payload)}`
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`
}

const NOW = Date.parse('2026-05-01T08:00:00Z')
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: 'https://idp.example',
  aud: 'court-file-gateway',
  sub: 'zhang.wei',
  iat: NOW / 1000,
  exp: NOW / 1000 + 300,
  ...overrides,
})

function verifierWith(current: { key: KeyObject }, maxCachedTokens?: number) {
  return new TokenVerifier({
    algorithms: ['EdDSA'],
    audience: 'court-file-gateway',
    issuers: ['https://idp.example'],
    clockToleranceMs: 5_000,
    keyFor: async () => current.key,
    ...(maxCachedTokens === undefined ? {} : { maxCachedTokens }),
  })
}

t.test('a verified token is remembered, and still refused once it expires', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const verifier = verifierWith({ key: publicKey })
  const jwt = token(claims(), privateKey)
  t.match(await verifier.verify(jwt, NOW), { sub: 'zhang.wei' })
  t.equal(verifier.cachedTokens, 1)
  t.match(await verifier.verify(jwt, NOW + 300_000 + 5_000), { sub: 'zhang.wei' }, 'valid up to exp + tolerance')
  await t.rejects(verifier.verify(jwt, NOW + 300_000 + 5_001), { code: 'FAST_JWT_EXPIRED' }, 'the cached token expires')
  t.equal(verifier.cachedTokens, 0, 'and is forgotten')
})

t.test('a remembered token is refused once its key is withdrawn', async (t) => {
  const old = generateKeyPairSync('ed25519')
  const current = { key: old.publicKey }
  const verifier = verifierWith(current)
  const jwt = token(claims(), old.privateKey)
  await verifier.verify(jwt, NOW)
  current.key = generateKeyPairSync('ed25519').publicKey
  await t.rejects(verifier.verify(jwt, NOW), { code: 'FAST_JWT_INVALID_SIGNATURE' })
})

t.test('nbf is checked against the clock of each call', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const verifier = verifierWith({ key: publicKey })
  const jwt = token(claims({ nbf: NOW / 1000 + 60 }), privateKey)
  await t.rejects(verifier.verify(jwt, NOW), { code: 'FAST_JWT_INACTIVE' })
  t.equal(verifier.cachedTokens, 0, 'a token refused for its times is not remembered')
  t.match(await verifier.verify(jwt, NOW + 60_000), { sub: 'zhang.wei' })
  await t.rejects(verifier.verify(token(claims({ exp: 'soon' }), privateKey), NOW), {
    code: 'FAST_JWT_INVALID_CLAIM_TYPE',
  })
})

t.test('a forged token is never remembered, and the cache is bounded', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const verifier = verifierWith({ key: publicKey }, 2)
  const forged = token(claims(), generateKeyPairSync('ed25519').privateKey)
  await t.rejects(verifier.verify(forged, NOW), { code: 'FAST_JWT_INVALID_SIGNATURE' })
  t.equal(verifier.cachedTokens, 0)
  for (const sub of ['a', 'b', 'c']) await verifier.verify(token(claims({ sub }), privateKey), NOW)
  t.equal(verifier.cachedTokens, 2, 'the oldest entry made room')
})
