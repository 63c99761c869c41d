import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import t from 'tap'
import { buildCourtAdapter } from '../../examples/court-adapter/app.js'
import { shippedCasesDir } from '../../examples/court-adapter/paths.js'
import { SqliteLogStore } from '../../src/accesslog/sqlite-store.js'
import { loadSpec } from '../../src/http/openapi.js'
import { clientErrorHandler, MAX_URI_LENGTH } from '../../src/http/problem-plugin.js'
import { type ObservedResponse, responseConformance } from '../../src/http/response-conformance.js'
import { GATEWAY_SPEC } from '../../src/paths.js'
import { createGateway, GATEWAY_ISSUER } from '../../src/server.js'
import { openSqlite } from '../../src/storage/sqlite.js'
import {
  MAIN_GRANT,
  httpCaller,
  openGrant,
  PEOPLE,
  registerAdapter,
  startAdapter,
  startGateway,
  testConfig,
  tokenOf,
} from '../helpers/harness.js'

const json = (value: unknown) => JSON.stringify(value)
const problem = (status: number, code: string) =>
  json({ type: `urn:court-file-gateway:problem:${code.toLowerCase()}`, title: 't', status, code, detail: 'd' })
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }
const PROBLEM_TYPE = { 'content-type': 'application/problem+json; charset=utf-8' }

t.test('the conformance check finds each kind of departure from the spec', async (t) => {
  const { check } = responseConformance(loadSpec(GATEWAY_SPEC))
  const ok = (response: ObservedResponse, what: string) => t.same(check(response), [], `${what} conforms`)
  const off = (response: ObservedResponse, pattern: RegExp, what: string) => {
    const violations = check(response)
    t.equal(violations.length, 1, `${what}: one violation`)
    t.match(violations[0], pattern, what)
  }
  const healthz = { method: 'GET', path: '/healthz', status: 200, headers: JSON_TYPE, body: json({ status: 'ok' }) }
  ok(healthz, 'a health answer')
  ok({ ...healthz, method: 'HEAD', body: '' }, 'HEAD where GET is served')
  off(
    { ...healthz, body: json({ status: 'fine' }) },
    /body \/status must be equal to one of the allowed values/,
    'a value outside the enum',
  )
  off({ ...healthz, body: '{"status":' }, /not JSON/, 'a body that is not JSON')
  off(
    { ...healthz, status: 404, headers: PROBLEM_TYPE, body: problem(404, 'NOT_FOUND') },
    /status 404 is not listed for GET \/healthz/,
    'an unlisted status',
  )
  off(
    { ...healthz, headers: { 'content-type': 'text/html' } },
    /content-type text\/html is not one of application\/json/,
    'another media type',
  )
  off({ ...healthz, headers: {} }, /no content-type/, 'no media type')

  const grant = {
    id: 'g1',
    status: 'active',
    court: '黑01',
    caseNo: MAIN_GRANT.caseNo,
    supervisionCase: 's',
    volumes: ['main'],
    reason: 'r',
    org: '230100',
    createdBy: 'zhang.wei',
    members: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-02-01T00:00:00.000Z',
  }
  const created = {
    method: 'POST',
    path: '/v1/grants',
    status: 201,
    headers: { ...JSON_TYPE, location: '/v1/grants/g1' },
    body: json(grant),
  }
  ok(created, 'a created grant')
  off({ ...created, headers: JSON_TYPE }, /required header location is missing/, 'a 201 without Location')
  off(
    { ...created, body: json({ ...grant, createdAt: 'yesterday' }) },
    /body \/createdAt must match format "date-time"/,
    'a malformed time',
  )
  off(
    { ...created, status: 409, headers: PROBLEM_TYPE, body: problem(400, 'CONFLICT') },
    /problem's status 400 is not the HTTP status/,
    'a problem with another status',
  )

  const checkpoint = {
    method: 'GET',
    path: '/v1/audit/checkpoint',
    status: 200,
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: 'test.gateway/log\n1\nAAAA\n',
  }
  ok(checkpoint, 'a checkpoint as text')
  off(
    { ...checkpoint, headers: JSON_TYPE },
    /content-type application\/json is not one of text\/plain/,
    'a checkpoint as JSON',
  )

  const document = {
    method: 'GET',
    path: '/v1/grants/g1/documents/d1.pdf',
    status: 304,
    headers: { 'access-log-index': '7', 'cache-control': 'no-store', etag: '"x"' },
    body: '',
  }
  ok(document, 'a 304')
  off({ ...document, body: 'x' }, /a body \(1 bytes\) where the spec has none/, 'a 304 with a body')
  off(
    { ...document, headers: { ...document.headers, 'access-log-index': 'seven' } },
    /header access-log-index: \/ must match pattern/,
    'a malformed header',
  )

  const unknown = {
    method: 'GET',
    path: '/v2/nothing',
    status: 404,
    headers: PROBLEM_TYPE,
    body: problem(404, 'NOT_FOUND'),
  }
  ok(unknown, 'a 404 for an unknown path')
  off(
    { ...unknown, status: 200, body: json({}), headers: JSON_TYPE },
    /status 200 is not listed for this request/,
    'a 200 for an unknown path',
  )
  const notAllowed = {
    method: 'PUT',
    path: '/v1/grants',
    status: 405,
    headers: { ...PROBLEM_TYPE, allow: 'POST, GET, HEAD' },
    body: problem(405, 'METHOD_NOT_ALLOWED'),
  }
  ok(notAllowed, 'a 405 with Allow')
  off({ ...notAllowed, headers: PROBLEM_TYPE }, /required header allow is missing/, 'a 405 without Allow')
  ok(
    { ...healthz, status: 431, headers: PROBLEM_TYPE, body: problem(431, 'HEADERS_TOO_LARGE') },
    'a 431 for any request',
  )
  ok(
    {
      method: 'GET',
      path: '/docs/static/index.html',
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html>',
    },
    'the docs assets are outside the contract',
  )
})

t.test('an answer off the spec fails the test that receives it, and is logged with validateResponses on', async (t) => {
  const dir = t.testdir()
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const config = testConfig(dir, { server: { host: '127.0.0.1', port: 0, validateResponses: true } })
  const gateway = await createGateway(config, { logger: { level: 'error', stream: sink } })
  t.teardown(() => gateway.close())
  // One route made to answer off its spec, after its handler and before the check sees it.
  gateway.app.addHook('preSerialization', async (request, _reply, payload) =>
    request.url === '/healthz' ? { status: 'fine' } : payload,
  )
  await gateway.app.listen({ host: '127.0.0.1', port: 0 })
  const call = httpCaller(`http://127.0.0.1:${(gateway.app.server.address() as { port: number }).port}`)

  await t.rejects(call('GET', '/healthz'), {
    message: /answered off its spec:\nGET \/healthz → 200: body \/status must be equal to one of the allowed values/,
  })
  const logged = lines
    .map((line) => JSON.parse(line))
    .filter((line) => line.msg === 'answer departs from openapi/gateway.yaml')
  t.equal(logged.length, 1, 'the gateway logged the departure once')
  t.match(logged[0].violations, [/GET \/healthz → 200: body \/status/])

  const ready = await call('GET', '/readyz')
  t.equal(ready.status, 200, 'a conforming answer passes')
  t.equal(lines.length, 1, 'and is not logged')
})

t.test('the mismatches found against the spec are fixed', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')

  // JSON bodies are never coerced; query parameters are.
  for (const [what, body] of [
    ['volumes as a string', { ...MAIN_GRANT, volumes: 'main' }],
    ['days as a string', { ...MAIN_GRANT, days: '30' }],
    ['reason as a number', { ...MAIN_GRANT, reason: 7 }],
  ] as const) {
    const refused = await h.call('POST', '/v1/grants', { token: prosecutor, body })
    t.equal(refused.status, 400, what)
    t.equal(refused.json.code, 'VALIDATION_FAILED', what)
  }
  const grant = await h.call('POST', '/v1/grants', { token: prosecutor, body: MAIN_GRANT })
  t.equal(grant.status, 201)
  t.equal(grant.headers.location, `/v1/grants/${grant.json.id}`, 'a created grant has its Location')
  const renew = await h.call('POST', `/v1/grants/${grant.json.id}/renew`, { token: prosecutor, body: { days: '30' } })
  t.equal(renew.status, 400, 'renewing with days as a string')
  const page = await h.call('GET', '/v1/grants?limit=5', { token: prosecutor })
  t.equal(page.status, 200, 'a numeric query parameter is still read as a number')

  const text = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    raw: JSON.stringify(MAIN_GRANT),
    headers: { 'content-type': 'text/plain' },
  })
  t.equal(text.status, 415, 'a text/plain body is 415')
  t.equal(text.json.code, 'UNSUPPORTED_MEDIA_TYPE')

  const admin = PEOPLE.courtAdmin
  const adminToken = h.token(admin.sub, admin.org, admin.roles)
  const adapter = await h.call('POST', '/v1/adapters', {
    token: adminToken,
    body: { court: '黑01', baseUrl: court.url, stores: ['execution'] },
  })
  t.equal(adapter.status, 201)
  t.equal(adapter.headers.location, `/v1/adapters/${adapter.json.id}`, 'a registered adapter has its Location')
  const unknownCourt = await h.call('POST', '/v1/adapters', {
    token: adminToken,
    body: { court: '京01', baseUrl: court.url },
  })
  t.equal(unknownCourt.status, 400, 'a court not in the directory is a bad request, not a missing resource')
  t.equal(unknownCourt.json.field, 'court')

  for (const [method, path, allow] of [
    ['PUT', '/v1/grants', 'GET, POST, HEAD'],
    ['DELETE', `/v1/grants/${grant.json.id}`, 'GET, HEAD'],
    ['GET', `/v1/grants/${grant.json.id}/approve`, 'POST'],
    ['POST', '/healthz', 'GET, HEAD'],
  ] as const) {
    const refused = await h.call(method, path, { token: prosecutor })
    t.equal(refused.status, 405, `${method} ${path}`)
    t.equal(refused.headers.allow, allow, `${method} ${path} names the allowed methods`)
    t.equal(refused.json.code, 'METHOD_NOT_ALLOWED')
  }
  t.equal((await h.call('GET', '/v1/nothing', { token: prosecutor })).status, 404, 'an unknown path is still 404')

  const longUri = await h.call('GET', `/v1/grants?status=${'a'.repeat(MAX_URI_LENGTH)}`, { token: prosecutor })
  t.equal(longUri.status, 414)
  t.equal(longUri.json.code, 'URI_TOO_LONG')
  const badUrl = await h.call('GET', '/v1/grants/%zz', { token: prosecutor })
  t.equal(badUrl.status, 400, 'a malformed URL')
  t.equal(badUrl.json.code, 'VALIDATION_FAILED')
  const bigHeaders = await h.call('GET', '/healthz', { headers: { 'x-padding': 'a'.repeat(20_000) } })
  t.equal(bigHeaders.status, 431, 'headers over 16 KiB')
  t.equal(bigHeaders.json.code, 'HEADERS_TOO_LARGE')
  const tooLarge = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { ...MAIN_GRANT, reason: 'x'.repeat(70_000) },
  })
  t.equal(tooLarge.status, 413)
  t.equal(tooLarge.json.code, 'PAYLOAD_TOO_LARGE')
  // The body is refused while it is read, before routing finds that the path (an empty grant id) matches no
  // operation: x-unrouted-responses lists 413 (found by test/gateway/property-log-promise.ts).
  const tooLargeUnrouted = await h.call('POST', '/v1/grants//revoke', {
    token: prosecutor,
    body: { reason: 'y'.repeat(70_000) },
  })
  t.equal(tooLargeUnrouted.status, 413, 'a body over the limit to a path that matches no operation')
  t.equal(tooLargeUnrouted.json.code, 'PAYLOAD_TOO_LARGE')
  // A request Node's parser refuses never reaches Fastify; its answer is problem+json all the same.
  const raw = await rawRequest(h.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n')
  t.match(raw, /^HTTP\/1\.1 400 /)
  t.match(raw, /\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/)
  t.match(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), { status: 400, code: 'VALIDATION_FAILED' })
})

t.test("refusals of Node's HTTP parser are problem+json with a stable code", async (t) => {
  for (const [nodeCode, status, code] of [
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'REQUEST_TIMEOUT'],
    ['HPE_HEADER_OVERFLOW', 431, 'HEADERS_TOO_LARGE'],
    ['HPE_INVALID_METHOD', 400, 'VALIDATION_FAILED'],
  ] as const) {
    const server = createServer((socket) => {
      // Node's HTTP server listens for the error the handler destroys its socket with; so does this one.
      socket.on('error', () => {})
      clientErrorHandler(Object.assign(new Error('refused'), { code: nodeCode }), socket)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => server.close())
    const raw = await rawRequest(`http://127.0.0.1:${(server.address() as { port: number }).port}`, 'x')
    t.match(raw, new RegExp(`^HTTP/1\\.1 ${status} `), nodeCode)
    t.match(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)), { status, code }, nodeCode)
  }
})

t.test('/readyz is unavailable while the access log cannot be written', async (t) => {
  const h = await startGateway(t)
  const ready = await h.call('GET', '/readyz')
  t.equal(ready.status, 200)
  t.same(ready.json, { status: 'ready', checks: { accessLog: true, serving: true } })

  // Another connection holds the database's write lock: no append could be made durable now.
  const other = new Database(h.config.storage.kind === 'sqlite' ? h.config.storage.path : '')
  t.teardown(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  const sizeBefore = h.gateway.log.size()
  const locked = await h.call('GET', '/readyz')
  t.equal(locked.status, 503)
  t.same(locked.json, { status: 'unavailable', checks: { accessLog: false, serving: true } })
  other.exec('ROLLBACK')
  t.equal((await h.call('GET', '/readyz')).status, 200, 'ready again once the lock is released')
  t.equal(h.gateway.log.size(), sizeBefore, 'the probe wrote nothing')

  await h.gateway.log.close()
  const closed = await h.call('GET', '/readyz')
  t.equal(closed.status, 503, 'a closed log is not ready')
  t.same(closed.json.checks, { accessLog: false, serving: true })
})

/** Sends bytes as they are and returns everything the server answers before it closes the connection. */
function rawRequest(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes))
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}

t.test('the log store probe, on the writer thread and inline', async (t) => {
  for (const writer of ['thread', 'inline'] as const) {
    const path = join(t.testdir(), `${writer}.db`)
    const store = new SqliteLogStore(openSqlite(path), { writer })
    await t.resolves(store.probe(), `${writer}: writable`)
    const other = new Database(path)
    other.exec('BEGIN IMMEDIATE')
    await t.rejects(store.probe(), { code: 'SQLITE_BUSY' }, `${writer}: locked by another connection`)
    other.exec('ROLLBACK')
    other.close()
    await t.resolves(store.probe(), `${writer}: writable again`)
    await store.close()
    await t.rejects(store.probe(), /closed/, `${writer}: closed`)
  }
})

t.test("the gateway holds a court's document answers to the adapter contract", async (t) => {
  const h = await startGateway(t)
  const adapter = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts: ['黑01', '黑0103'],
    gatewayIssuer: GATEWAY_ISSUER,
    jwks: new URL(`${h.url}/.well-known/jwks.json`),
  })
  // A court that sends the right bytes with headers the contract refuses.
  let fault: 'none' | 'no-digest' | 'weak-etag' = 'none'
  adapter.addHook('onSend', async (request, reply, payload) => {
    if (request.url.includes('/documents/')) {
      if (fault === 'no-digest') reply.removeHeader('repr-digest')
      if (fault === 'weak-etag') reply.header('etag', 'W/"x"')
    }
    return payload
  })
  await adapter.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => adapter.close())
  await registerAdapter(h, `http://127.0.0.1:${(adapter.server.address() as { port: number }).port}`)
  const { id } = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const read = () => h.call('GET', `/v1/grants/${id}/documents/main-05-judgment`, { token: prosecutor })

  t.equal((await read()).status, 200, 'a conforming answer is served')
  for (const [what, header] of [
    ['no-digest', /required header repr-digest is missing/],
    ['weak-etag', /header etag: \/ must match pattern/],
  ] as const) {
    fault = what
    const refused = await read()
    t.equal(refused.status, 502, what)
    t.equal(refused.json.code, 'ADAPTER_BAD_RESPONSE', what)
    t.match(refused.json.detail, header, `${what}: the problem says what was wrong`)
  }
  fault = 'none'
  t.equal((await read()).status, 200, 'the gateway still serves the court once it conforms again')
})
