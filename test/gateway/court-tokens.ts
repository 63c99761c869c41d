import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import t from 'tap'
import { buildCourtAdapter } from '../../examples/court-adapter/app.js'
import { shippedCasesDir } from '../../examples/court-adapter/paths.js'
import { generatePrivateKeyPem, writeNewKey } from '../../src/adapters/signing.js'
import { createGateway } from '../../src/server.js'
import { openGrant, registerAdapter, startGateway, testConfig, tokenOf } from '../helpers/harness.js'

const PUBLIC_URL = 'https://gateway.example.test'

t.test('ES256 tokens with iss = server.publicUrl, verified by an adapter that accepts only ES256', async (t) => {
  const dir = t.testdir()
  writeNewKey(join(dir, 'adapter.pem'), 'ES256')
  writeFileSync(join(dir, 'next.pem'), generatePrivateKeyPem('ES256'))
  const h = await startGateway(
    t,
    {
      server: { host: '127.0.0.1', port: 0, publicUrl: PUBLIC_URL },
      adapters: {
        allowHttp: true,
        allowedNetworks: ['127.0.0.0/8'],
        timeoutMs: 2000,
        signingKeyFile: join(dir, 'adapter.pem'),
        signingAlgorithm: 'ES256',
        nextSigningKeyFile: join(dir, 'next.pem'),
      },
    },
    dir,
  )
  const jwks = await h.call('GET', '/.well-known/jwks.json')
  t.equal(jwks.json.keys.length, 2, 'the current and the next key are published')
  t.same(
    jwks.json.keys.map((key: { alg: string; crv: string }) => [key.alg, key.crv]),
    [
      ['ES256', 'P-256'],
      ['ES256', 'P-256'],
    ],
  )
  t.not(jwks.json.keys[0].kid, jwks.json.keys[1].kid)

  const tokens: string[] = []
  const court = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts: ['黑01', '黑0103'],
    gatewayIssuer: PUBLIC_URL,
    jwks: new URL(`${h.url}/.well-known/jwks.json`),
    algorithms: ['ES256'],
  })
  court.addHook('onRequest', async (request) => {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (token) tokens.push(token)
  })
  await court.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => court.close())
  const url = `http://127.0.0.1:${(court.server.address() as { port: number }).port}`
  await registerAdapter(h, url)
  const grant = await openGrant(h)
  const read = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(read.status, 200, read.text)
  const last = tokens.at(-1) ?? ''
  t.equal(decodeProtectedHeader(last).alg, 'ES256')
  t.equal(decodeProtectedHeader(last).kid, jwks.json.keys[0].kid, 'the current key signs, the next one waits')
  t.equal(JSON.parse(Buffer.from(last.split('.')[1] ?? '', 'base64url').toString()).iss, PUBLIC_URL)
})

t.test('a key that is not of adapters.signingAlgorithm stops the gateway at start', async (t) => {
  const dir = t.testdir()
  writeNewKey(join(dir, 'adapter.pem'), 'EdDSA')
  const config = testConfig(dir, {
    adapters: { signingKeyFile: join(dir, 'adapter.pem'), signingAlgorithm: 'ES256' },
  })
  await t.rejects(createGateway(config), /adapter\.pem is an EdDSA key, but adapters\.signingAlgorithm is ES256/)
})
