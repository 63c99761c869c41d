import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import t from 'tap'
import { request } from 'undici'
import { loadSpec, operations } from '../../src/http/openapi.js'
import { GATEWAY_SPEC } from '../../src/paths.js'
import { createGateway } from '../../src/server.js'
import { LOGGER_OPTIONS } from '../../src/server.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import {
  registerAdapter,
  startAdapter,
  startGateway,
  testConfig,
  tokenOf,
  openGrant,
  scrapeMetrics,
} from '../helpers/harness.js'

t.test('health, readiness and the API description are public; metrics are on their own listener', async (t) => {
  const h = await startGateway(t, { metrics: { port: 0 } })
  t.same((await h.call('GET', '/healthz')).json, { status: 'ok' })
  const ready = await h.call('GET', '/readyz')
  t.equal(ready.status, 200)
  t.equal(ready.json.status, 'ready')
  const spec = await h.call('GET', '/openapi.json')
  t.equal(spec.json.openapi, '3.1.0')
  t.ok(spec.json.paths['/v1/grants'])
  const docs = await h.call('GET', '/docs/')
  t.equal(docs.status, 200)
  t.match(docs.text, /swagger/i)
  await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
  const metrics = await scrapeMetrics(h)
  t.equal(metrics.status, 200)
  for (const name of [
    'gateway_http_requests_total',
    'gateway_access_log_batch_size',
    'gateway_access_log_commit_seconds',
    'gateway_adapter_request_duration_seconds',
    'gateway_access_log_size',
    // Node's own, set up with the listener (src/http/metrics.ts collectProcessMetrics).
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_seconds',
  ]) {
    t.match(metrics.text, name, `metrics has ${name}`)
  }
})

t.test('logs are JSON with request ids and never carry the bearer token', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  const gateway = await createGateway(testConfig(t.testdir()), {
    logger: { ...LOGGER_OPTIONS, level: 'info', stream: sink },
  })
  t.teardown(() => gateway.close())
  const token = gateway.devIssuer!.mint({
    sub: 'zhang.wei',
    org: '230100',
    roles: ['prosecutor'],
    audience: 'court-file-gateway',
  })
  const response = await gateway.app.inject({
    method: 'GET',
    url: '/v1/grants',
    headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-42' },
  })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-request-id'], 'req-42')
  const text = lines.join('')
  t.ok(lines.length > 0)
  t.notMatch(text, token.split('.')[2]!, 'the token never appears in a log line')
  t.match(text, /"req-42"/, 'the request id is logged')
  for (const line of lines) t.doesNotThrow(() => JSON.parse(line))
})

t.test('graceful shutdown lets an in-flight read finish and logs its outcome', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const proxy = await startFaultProxy(t, court.url)
  await registerAdapter(h, proxy.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const grant = await openGrant(h)
  proxy.set('drip')
  const reading = request(`${h.url}/v1/grants/${grant.id}/documents/main-05-judgment`, {
    headers: { authorization: `Bearer ${prosecutor}` },
  })
  const response = await reading
  const closing = h.gateway.close()
  const body = Buffer.from(await response.body.arrayBuffer())
  await closing
  t.equal(response.statusCode, 200)
  t.equal(body.length, Number(response.headers['content-length']), 'the whole document arrived')
  const intent = Number(response.headers['access-log-index'])
  const db = new Database(`${h.dir}/gateway.db`, { readonly: true })
  t.teardown(() => db.close())
  const outcome = db.prepare('SELECT leaf FROM log_entries WHERE intent_ref = ?').get(intent) as
    | { leaf: Buffer }
    | undefined
  t.ok(outcome, 'the outcome was logged before the log closed')
  t.equal(JSON.parse(outcome!.leaf.toString()).outcome.result, 'completed')
  const size = (db.prepare('SELECT MAX(idx) + 1 AS n FROM log_entries').get() as { n: number }).n
  const checkpoint = db.prepare('SELECT MAX(size) AS s FROM log_checkpoints').get() as { s: number }
  t.equal(checkpoint.s, size, 'a final checkpoint covers every entry')
})

t.test('every operation of the spec is served', async (t) => {
  const h = await startGateway(t)
  for (const op of operations(loadSpec(GATEWAY_SPEC))) {
    const url = op.path.replace(/\{(\w+)\}/g, ':$1')
    t.ok(h.gateway.app.hasRoute({ method: op.method, url }), `${op.method} ${op.path} (${op.operationId}) is routed`)
  }
})
