import { generateKeyPairSync, verify } from 'node:crypto'
import { calculateJwkThumbprint, createLocalJWKSet, type JWK, jwtVerify, SignJWT } from 'jose'
import t from 'tap'
import { jwkThumbprint, REQUEST_TOKEN_TTL_SECONDS, RequestSigner } from '../../src/adapters/signing.js'
import { SigningThread } from '../../src/adapters/signing-thread.js'
import { waitFor } from '../helpers/wait.js'

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

t.test('on the signing thread: the same tokens, for both algorithms', async (t) => {
  for (const type of ['ed25519', 'p256'] as const) {
    const { privateKey } =
      type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const signer = await RequestSigner.create('court-file-gateway', privateKey)
    t.teardown(() => signer.close())
    signer.startThread()
    await waitFor(() => signer.onThread || undefined, { what: `${type}: the signing thread runs` })
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, log) => signer.signAsync({ ...claims, log })))
    for (const [log, token] of tokens.entries()) {
      const { payload } = await jwtVerify(token, createLocalJWKSet(signer.jwks()), {
        issuer: 'court-file-gateway',
        audience: '黑01',
        algorithms: [signer.algorithm],
      })
      t.equal(payload.log, log, `${type}: token ${log} names its own entry`)
    }
  }
})

t.test('the signing thread signs what is asked in one turn as one batch', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const thread = new SigningThread({ digest: null, key: privateKey })
  t.teardown(() => thread.close())
  thread.start()
  await waitFor(() => thread.online || undefined, { what: 'the thread runs' })
  const inputs = Array.from({ length: 40 }, (_, i) => `input ${i}`)
  const signatures = await Promise.all(inputs.map((input) => thread.sign(input)))
  t.equal(thread.batches, 1, 'one message for 40 signatures')
  t.ok(
    signatures.every((signature, i) =>
      verify(null, Buffer.from(inputs[i]!), publicKey, Buffer.from(signature, 'base64url')),
    ),
    'each signature is of its own input',
  )
  await thread.sign('a later turn')
  t.equal(thread.batches, 2)
})

t.test(
  'a signing thread that dies: its batch is signed on the pool, and the next signature starts a new thread',
  async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const thread = new SigningThread({ digest: null, key: privateKey })
    t.teardown(() => thread.close())
    thread.start()
    await waitFor(() => thread.online || undefined, { what: 'the thread runs' })
    const good = Array.from({ length: 8 }, (_, i) => thread.sign(`input ${i}`))
    // Not a string: Buffer.from() throws on the thread, uncaught, and the thread dies with the whole batch.
    const bad = thread.sign(5 as unknown as string)
    t.rejects(bad, TypeError, 'the input that killed it is refused, on the pool too')
    const signatures = await Promise.all(good)
    t.ok(
      signatures.every((signature, i) =>
        verify(null, Buffer.from(`input ${i}`), publicKey, Buffer.from(signature, 'base64url')),
      ),
      'the rest of the batch is signed on the pool',
    )
    await bad.catch(() => {})
    t.notOk(thread.online, 'the dead thread signs nothing')
    t.equal(thread.batches, 1)
    // The next signature is made on the pool and starts a thread again.
    t.ok(verify(null, Buffer.from('next'), publicKey, Buffer.from(await thread.sign('next'), 'base64url')))
    await waitFor(() => thread.online || undefined, { what: 'a new thread runs' })
    await thread.sign('on the new thread')
    t.equal(thread.batches, 2)
  },
)

t.test('a signer never started signs on the pool; once closed it starts no thread and still signs', async (t) => {
  const signer = await RequestSigner.create('court-file-gateway', generateKeyPairSync('ed25519').privateKey)
  t.match(await signer.signAsync(claims), /^[\w-]+\.[\w-]+\.[\w-]+$/)
  t.notOk(signer.onThread)
  signer.startThread()
  await waitFor(() => signer.onThread || undefined, { what: 'the signing thread runs' })
  await signer.close()
  await signer.close()
  t.notOk(signer.onThread)
  signer.startThread()
  t.notOk(signer.onThread, 'a closed signer starts no thread')
  t.match(await signer.signAsync(claims), /^[\w-]+\.[\w-]+\.[\w-]+$/, 'and still signs, on the pool')
})
