import t from 'tap'
import { CircuitBreaker } from '../../src/adapters/breaker.js'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import {
  eventually,
  openGrant,
  scrapeMetrics,
  registerAdapter,
  startAdapter,
  startGateway,
  testClock,
  tokenOf,
} from '../helpers/harness.js'

t.test('the breaker opens after N failures, stays open for the cooldown, and one probe decides', async (t) => {
  let now = 1_000_000
  const breaker = new CircuitBreaker({ failures: 3, cooldownMs: 1000, now: () => now })
  t.equal(breaker.snapshot().state, 'closed')
  breaker.failure()
  breaker.failure()
  breaker.success()
  t.equal(breaker.snapshot().consecutiveFailures, 0, 'a success resets the count')
  for (let i = 0; i < 3; i++) {
    t.ok(breaker.tryAcquire())
    breaker.failure()
  }
  t.equal(breaker.snapshot().state, 'open')
  t.equal(breaker.snapshot().openedAt, new Date(now).toISOString())
  t.notOk(breaker.tryAcquire(), 'open: no request goes out')
  t.equal(breaker.retryAfterMs(), 1000)
  now += 999
  t.notOk(breaker.tryAcquire(), 'still open just before the cooldown ends')
  now += 1
  t.equal(breaker.snapshot().state, 'half-open')
  t.ok(breaker.tryAcquire(), 'half-open: one probe')
  t.notOk(breaker.tryAcquire(), 'half-open: only one probe at a time')
  breaker.failure()
  t.equal(breaker.snapshot().state, 'open', 'a failed probe opens it again')
  now += 1000
  t.ok(breaker.tryAcquire())
  breaker.success()
  t.same(breaker.snapshot(), { state: 'closed', consecutiveFailures: 0 }, 'a good probe closes it')
})

t.test(
  'through HTTP: an open breaker fails fast, health shows it, a passing health check does not close it',
  async (t) => {
    const clock = testClock()
    const h = await startGateway(
      t,
      {
        adapters: {
          allowHttp: true,
          allowedNetworks: ['127.0.0.0/8'],
          timeoutMs: 2000,
          healthIntervalMs: 1000,
          breaker: { failures: 2, cooldownMs: 1500 },
          signingKeyFile: `${t.testdirName}/adapter.pem`,
        },
        metrics: { port: 0 },
      },
      undefined,
      { now: clock.now },
    )
    const court = await startAdapter(t, h.url)
    const proxy = await startFaultProxy(t, court.url)
    const id = await registerAdapter(h, proxy.url)
    const prosecutor = tokenOf(h, 'prosecutor')
    const grant = await openGrant(h)
    const casePath = `/v1/grants/${grant.id}/case`
    const operator = tokenOf(h, 'operator')

    proxy.set('status500')
    for (let i = 0; i < 2; i++) t.equal((await h.call('GET', casePath, { token: prosecutor })).status, 502)
    const before = proxy.caseRequests()
    const fast = await h.call('GET', casePath, { token: prosecutor })
    t.equal(fast.status, 503)
    t.equal(fast.json.code, 'ADAPTER_UNAVAILABLE')
    t.match(fast.json.detail, /circuit open/)
    t.ok(Number(fast.headers['retry-after']) >= 1, 'Retry-After says when to try again')
    t.equal(proxy.caseRequests(), before, 'an open breaker sends nothing to the court')

    proxy.set('pass')
    const health = await eventually(async () => {
      const response = await h.call('GET', `/v1/adapters/${id}/health`, { token: operator })
      return response.json.lastHealthCheck?.ok ? response.json : undefined
    })
    t.equal(health.breaker.state, 'open', 'a passing health check does not close the breaker')
    t.equal(health.status, 'down')
    t.equal(health.breaker.consecutiveFailures, 2)
    t.ok(health.lastHealthCheck.latencyMs >= 0)

    clock.advance(1499)
    t.equal(
      (await h.call('GET', casePath, { token: prosecutor })).status,
      503,
      'still open 1 ms before the cooldown ends',
    )
    clock.advance(1)
    t.equal((await h.call('GET', `/v1/adapters/${id}/health`, { token: operator })).json.breaker.state, 'half-open')
    t.equal((await h.call('GET', casePath, { token: prosecutor })).status, 200, 'the half-open probe succeeds')
    const closed = await h.call('GET', `/v1/adapters/${id}/health`, { token: operator })
    t.equal(closed.json.breaker.state, 'closed')
    t.equal(closed.json.status, 'up')

    t.equal(
      (await h.call('GET', `/v1/adapters/${id}/health`, { token: prosecutor })).status,
      403,
      'prosecutors see no adapter health',
    )
    t.equal(
      (await h.call('GET', `/v1/adapters/${id}/health`, { token: tokenOf(h, 'courtAdmin0103') })).status,
      404,
      "another court's admin learns nothing",
    )
    const metrics = await scrapeMetrics(h)
    t.match(metrics.text, new RegExp(`gateway_adapter_breaker_open\\{adapter="${id}"\\} 0`))
  },
)

t.test('PATCH changes a registration and sends it back to pending', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const id = await registerAdapter(h, court.url)
  const admin = tokenOf(h, 'courtAdmin')
  const changed = await h.call('PATCH', `/v1/adapters/${id}`, {
    token: admin,
    body: { description: '新系统', stores: ['trial'] },
  })
  t.equal(changed.status, 200, changed.text)
  t.equal(changed.json.status, 'pending')
  t.same(changed.json.stores, ['trial'])
  const courts = await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
  t.same(courts.json.items.find((c: any) => c.code === '黑01').adapters, {}, 'a pending adapter serves nothing')

  const cases: Array<[string, string, unknown, number]> = [
    ['empty body', admin, {}, 400],
    ['unknown field', admin, { colour: 'red' }, 400],
    ['not http(s)', admin, { baseUrl: 'ftp://127.0.0.1/x' }, 400],
    ['covers outside the jurisdiction', admin, { covers: ['黑02'] }, 403],
    ["another court's admin", tokenOf(h, 'courtAdmin0103'), { description: 'x' }, 404],
    ['an operator', tokenOf(h, 'operator'), { description: 'x' }, 403],
  ]
  for (const [name, token, body, status] of cases) {
    const response = await h.call('PATCH', `/v1/adapters/${id}`, { token, body })
    t.equal(response.status, status, name)
    t.match(response.headers['content-type'], /problem\+json/, name)
  }
  t.equal(
    (await h.call('PATCH', '/v1/adapters/no-such-adapter', { token: admin, body: { description: 'x' } })).status,
    404,
  )
  const activated = await h.call('POST', `/v1/adapters/${id}/activate`, { token: tokenOf(h, 'operator') })
  t.equal(activated.status, 200, 'it can be activated again after the checks')
  const log = await h.call('GET', '/v1/audit/entries?action=adapter.update', { token: tokenOf(h, 'auditor') })
  t.ok(
    log.json.items.some((i: any) => i.entry.decision === 'allow' && i.entry.detail.from === 'active'),
    'the change is logged',
  )
})
