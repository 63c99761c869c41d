import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { SignJWT } from 'jose'
import t from 'tap'
import { request } from 'undici'
import { registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

const CASE = '（2023）黑01民终1234号'
const GRANT = { court: '黑01', caseNo: CASE, supervisionCase: 'S-1', volumes: ['main'], reason: '监督' }

t.test('bad input gets 4xx problem+json, never a 5xx or a crash', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const admin = tokenOf(h, 'courtAdmin')
  const grant = await h.call('POST', '/v1/grants', { token: prosecutor, body: GRANT })
  const grantId = grant.json.id as string

  const expectProblem = (
    response: { status: number; headers: any; json: any },
    status: number,
    code: string,
    what: string,
  ) => {
    t.equal(response.status, status, `${what}: status`)
    t.equal(response.json?.code, code, `${what}: code`)
    t.match(response.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`)
  }

  const json = { 'content-type': 'application/json' }
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, raw: '{"court": ', headers: json }),
    400,
    'VALIDATION_FAILED',
    'malformed JSON',
  )
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, raw: '', headers: json }),
    400,
    'VALIDATION_FAILED',
    'empty JSON body',
  )
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, body: { ...GRANT, extra: 1 } }),
    400,
    'VALIDATION_FAILED',
    'unknown field',
  )
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, body: { ...GRANT, volumes: ['main', 'attic'] } }),
    400,
    'VALIDATION_FAILED',
    'unknown volume kind',
  )
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, body: { ...GRANT, reason: 'x'.repeat(100_000) } }),
    413,
    'PAYLOAD_TOO_LARGE',
    'oversized body',
  )
  expectProblem(
    await h.call('POST', '/v1/grants', {
      token: prosecutor,
      raw: 'court=黑01',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'form body',
  )
  for (const caseNo of [
    '2023黑01民终1234号',
    '（2023）黑01民终号',
    '（20230）黑01民终1号',
    '（2023）黑01民终01号',
    'DROP TABLE grants',
  ]) {
    expectProblem(
      await h.call('POST', '/v1/grants', { token: prosecutor, body: { ...GRANT, caseNo } }),
      400,
      'INVALID_CASE_NUMBER',
      `case number ${caseNo}`,
    )
  }
  const unknownCourt = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { ...GRANT, court: '黑99', caseNo: '（2023）黑99民终1号' },
  })
  t.ok(unknownCourt.status >= 400 && unknownCourt.status < 500, 'unknown court is a 4xx')
  expectProblem(
    await h.call('POST', '/v1/grants', { token: prosecutor, body: { ...GRANT, caseNo: '（2023）黑01民终999999号' } }),
    404,
    'NOT_FOUND',
    'case unknown at the court',
  )

  const unknown = '00000000-0000-0000-0000-000000000000'
  expectProblem(await h.call('GET', `/v1/grants/${unknown}`, { token: prosecutor }), 404, 'NOT_FOUND', 'unknown grant')
  expectProblem(
    await h.call('GET', `/v1/grants/${unknown}/case`, { token: prosecutor }),
    404,
    'NOT_FOUND',
    'unknown grant read',
  )
  expectProblem(await h.call('GET', `/v1/adapters/${unknown}`, { token: admin }), 404, 'NOT_FOUND', 'unknown adapter')
  expectProblem(
    await h.call('GET', `/v1/grants/${grantId}/documents/no-such-document`, { token: prosecutor }),
    404,
    'NOT_FOUND',
    'unknown document',
  )
  expectProblem(await h.call('GET', '/v1/nothing-here', { token: prosecutor }), 404, 'NOT_FOUND', 'unknown route')

  for (const path of [
    `/v1/grants/${grantId}/documents/..%2F..%2Fetc%2Fpasswd`,
    `/v1/grants/${grantId}/documents/%2e%2e`,
    `/v1/grants/${grantId}/documents/a..b`,
    `/v1/grants/${grantId}/documents/..`,
    `/v1/grants/..%2F${grantId}/case`,
    `/v1/adapters/%2e%2e%2f${adapterId}`,
  ]) {
    const response = await rawGet(h.url, path, prosecutor)
    t.ok(response.status >= 400 && response.status < 500, `path traversal ${path} is refused (${response.status})`)
    t.notMatch(response.body, /%PDF/, `${path}: no file bytes`)
  }

  for (const baseUrl of [
    'ftp://127.0.0.1/files',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'gopher://127.0.0.1:70',
    'not a url',
  ]) {
    const response = await h.call('POST', '/v1/adapters', {
      token: admin,
      body: { court: '黑01', baseUrl, probeCase: CASE },
    })
    expectProblem(response, 400, 'VALIDATION_FAILED', `adapter URL ${baseUrl}`)
  }
  const noHttp = await startGateway(
    t,
    {
      adapters: { allowHttp: false, signingKeyFile: join(h.dir, 'other-adapter.pem') },
    },
    t.testdir(),
  )
  expectProblem(
    await noHttp.call('POST', '/v1/adapters', {
      token: tokenOf(noHttp, 'courtAdmin'),
      body: { court: '黑01', baseUrl: court.url, probeCase: CASE },
    }),
    400,
    'VALIDATION_FAILED',
    'http adapter URL when allowHttp is off',
  )
})

t.test('every token fault is 401 UNAUTHENTICATED through the real gateway', async (t) => {
  const h = await startGateway(t)
  const devKey = createPrivateKey(readFileSync(join(h.dir, 'dev.pem')))
  const kid = h.gateway.devIssuer!.kid
  const now = Math.floor(Date.now() / 1000)
  const claims = { org: '230100', roles: ['prosecutor'] }
  const sign = (
    edit: (jwt: SignJWT) => SignJWT,
    key = devKey,
    header: Record<string, unknown> = { alg: 'EdDSA', kid },
  ) => edit(new SignJWT(claims).setProtectedHeader(header as never).setSubject('zhang.wei')).sign(key)
  const good = (jwt: SignJWT) =>
    jwt
      .setIssuer('urn:court-file-gateway:dev')
      .setAudience('court-file-gateway')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

  t.equal((await h.call('GET', '/v1/grants', { token: await sign(good) })).status, 200, 'a good token passes')
  const faults: Array<[string, string | undefined]> = [
    ['missing', undefined],
    ['malformed', 'not.a.jwt'],
    [
      'expired',
      await sign((j) =>
        good(j)
          .setIssuedAt(now - 7200)
          .setExpirationTime(now - 3600),
      ),
    ],
    ['not yet valid', await sign((j) => good(j).setNotBefore(now + 3600))],
    ['wrong audience', await sign((j) => good(j).setAudience('someone-else'))],
    ['unknown issuer', await sign((j) => good(j).setIssuer('https://evil.example'))],
    ['unknown kid', await sign(good, devKey, { alg: 'EdDSA', kid: 'nope' })],
    ['other key, right kid', await sign(good, generateKeyPairSync('ed25519').privateKey)],
    [
      'alg none',
      `${b64({ alg: 'none', kid })}.${b64({ ...claims, sub: 'x', iss: 'urn:court-file-gateway:dev', aud: 'court-file-gateway', exp: now + 600 })}.`,
    ],
    [
      'HS256 with the public key',
      await new SignJWT({ ...claims, sub: 'x' })
        .setProtectedHeader({ alg: 'HS256', kid })
        .setIssuer('urn:court-file-gateway:dev')
        .setAudience('court-file-gateway')
        .setExpirationTime(now + 600)
        .sign(
          Buffer.from(
            h.gateway.devIssuer!.issuerConfig().jwks.keys[0]
              ? JSON.stringify(h.gateway.devIssuer!.issuerConfig().jwks.keys[0])
              : 'x',
          ),
        ),
    ],
  ]
  for (const [name, token] of faults) {
    const response = await h.call('GET', '/v1/grants', token ? { token } : {})
    t.equal(response.status, 401, name)
    t.equal(response.json.code, 'UNAUTHENTICATED', name)
  }
})

async function rawGet(base: string, path: string, token: string) {
  const response = await request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: response.statusCode, body: await response.body.text() }
}
