import t from 'tap'
import { Agent } from 'undici'
import { addressKey } from '../../src/http/address-key.js'
import { FailureCounter } from '../../src/http/address-limit.js'
import { requestIdFrom } from '../../src/http/request-id.js'
import { httpCaller, startGateway, tokenOf, scrapeMetrics } from '../helpers/harness.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('failure counter: fixed windows, a bounded number of addresses', async (t) => {
  let now = 1_000_000
  const counter = new FailureCounter({ max: 2, windowMs: 1000, now: () => now, maxKeys: 2 })
  t.equal(counter.blockedFor('a'), 0)
  counter.fail('a')
  t.equal(counter.blockedFor('a'), 0, 'under the limit')
  now += 400
  counter.fail('a')
  t.equal(counter.blockedFor('a'), 600, 'at the limit: blocked until the window that began with the first failure ends')
  t.equal(counter.blockedFor('b'), 0, 'other addresses are not affected')
  now += 600
  t.equal(counter.blockedFor('a'), 0, 'a new window')
  counter.fail('a')
  t.equal(counter.blockedFor('a'), 0, 'and a fresh count')

  counter.fail('b')
  counter.fail('b')
  counter.fail('c')
  counter.fail('c')
  t.equal(counter.blockedFor('c'), 1000)
  t.equal(counter.blockedFor('b'), 1000)
  t.equal(counter.blockedFor('a'), 0, 'the oldest address was forgotten to make room')
})

t.test('a flood of bad tokens from one address is refused before verification; others still get through', async (t) => {
  const h = await startGateway(t, { limits: { authFailuresPerAddressPerMinute: 5 } })
  // Two clients on different loopback addresses of this host, seen by the gateway as two addresses.
  const flooder = new Agent({ localAddress: '127.0.0.3' })
  const caller = new Agent({ localAddress: '127.0.0.2' })
  t.teardown(() => Promise.all([flooder.close(), caller.close()]))
  const flood = httpCaller(h.url, () => flooder)
  const good = httpCaller(h.url, () => caller)
  const valid = tokenOf(h, 'prosecutor')
  const forged = `${valid.slice(0, -6)}AAAAAA`

  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    const refused = await flood('GET', '/v1/grants', { token: forged })
    statuses.push(refused.status)
    if (i === 11) {
      t.match(refused.headers['content-type'], /^application\/problem\+json/)
      t.equal(refused.json.code, 'RATE_LIMITED')
      t.equal(refused.json.scope, 'address')
      t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After says when to try again')
    }
    t.equal((await good('GET', '/v1/grants', { token: valid })).status, 200, `the good caller during the flood #${i}`)
  }
  t.same(statuses, [...Array(5).fill(401), ...Array(7).fill(429)], 'five failures, then refusals')
  t.equal(
    (await flood('GET', '/v1/grants', { token: valid })).status,
    429,
    'even a valid token from that address is not verified now: the limit runs ahead of authentication',
  )
  t.equal((await flood('GET', '/healthz')).status, 200, 'public routes stay open to the address')
  t.equal(
    (await good('GET', '/v1/grants', { token: forged })).status,
    401,
    "the good caller's own failures count apart",
  )
})

t.test('metrics are not served on the API port; their own listener serves them', async (t) => {
  const without = await startGateway(t)
  t.equal(without.gateway.metrics, undefined, 'no metrics listener unless configured')
  const none = await without.call('GET', '/metrics')
  t.equal(none.status, 401, 'a caller without a token gets nothing')
  t.notMatch(none.text, /gateway_http_requests_total/)
  const asOperator = await without.call('GET', '/metrics', { token: tokenOf(without, 'operator') })
  t.equal(asOperator.status, 404, 'nor does anyone with one')

  const h = await startGateway(t, { metrics: { host: '127.0.0.1', port: 0 } })
  t.equal((await h.call('GET', '/metrics', { token: tokenOf(h, 'operator') })).status, 404)
  t.not(h.metricsUrl, h.url)
  const scraped = await scrapeMetrics(h)
  t.equal(scraped.status, 200)
  t.match(scraped.headers['content-type'], /^text\/plain/)
  t.match(scraped.text, /gateway_access_log_size \d+/)
})

t.test('a client request id is kept only when short and safe', async (t) => {
  t.equal(requestIdFrom('trace-01:a.b_c'), 'trace-01:a.b_c')
  t.equal(requestIdFrom('x'.repeat(64)), 'x'.repeat(64))
  for (const unsafe of ['x'.repeat(65), '', 'a b', 'a,b', '<script>', 'é', 'a\u202eb']) {
    t.match(requestIdFrom(unsafe), UUID, JSON.stringify(unsafe))
  }
  t.match(requestIdFrom(['a', 'b']), UUID)
  t.match(requestIdFrom(undefined), UUID)

  const h = await startGateway(t)
  const kept = await h.call('GET', '/healthz', { headers: { 'x-request-id': 'client-trace:42' } })
  t.equal(kept.headers['x-request-id'], 'client-trace:42')
  const long = 'a'.repeat(10_000)
  const refused = await h.call('GET', '/v1/adapters', {
    token: tokenOf(h, 'prosecutor'),
    headers: { 'x-request-id': long },
  })
  t.equal(refused.status, 403)
  const id = refused.headers['x-request-id'] as string
  t.match(id, UUID, 'a long id is replaced by our own')
  t.equal(refused.json.instance?.includes(long) ?? false, false)

  // The refusal is in the access log under our id, and the client's never reaches it.
  const auditor = tokenOf(h, 'auditor')
  const exported = await h.call('GET', '/v1/audit/export', { token: auditor })
  t.equal(exported.status, 200)
  t.notOk(exported.text.includes(long.slice(0, 65)), 'the long id is stored nowhere')
})

t.test('an IPv6 flooder cannot rotate through its /64 to evade the address limit', async (t) => {
  t.equal(addressKey('203.0.113.7'), '203.0.113.7')
  t.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7', 'IPv4-mapped is the IPv4 address')
  t.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64')
  t.equal(addressKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64', 'any spelling of the /64')
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(addressKey('::1'), '0:0:0:0::/64')
  t.equal(addressKey('2001:db8:1:2:3:4:1.2.3.4'), '2001:db8:1:2::/64')

  const h = await startGateway(t, { limits: { authFailuresPerAddressPerMinute: 3 } })
  const valid = tokenOf(h, 'prosecutor')
  const forged = `${valid.slice(0, -6)}AAAAAA`
  // In-process requests, since this host has one IPv6 loopback address; the gateway sees each remoteAddress.
  const from = (remoteAddress: string, token: string) =>
    h.gateway.app.inject({
      method: 'GET',
      url: '/v1/grants',
      remoteAddress,
      headers: { authorization: `Bearer ${token}` },
    })
  const statuses: number[] = []
  for (let i = 1; i <= 6; i++) statuses.push((await from(`2001:db8:1:2::${i.toString(16)}`, forged)).statusCode)
  t.same(statuses, [401, 401, 401, 429, 429, 429], 'fresh addresses of one /64 share its count')
  t.equal((await from('2001:db8:1:3::1', valid)).statusCode, 200, 'the next /64 is another client')
  for (let i = 0; i < 3; i++) await from('::ffff:198.51.100.9', forged)
  t.equal((await from('198.51.100.9', forged)).statusCode, 429, 'an IPv4 client counts once, mapped or not')
})

t.test('behind a trusted proxy, one client’s bad tokens do not lock out the others', async (t) => {
  const h = await startGateway(t, {
    server: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.2'] },
    limits: { authFailuresPerAddressPerMinute: 3 },
  })
  const proxy = new Agent({ localAddress: '127.0.0.2' })
  const stranger = new Agent({ localAddress: '127.0.0.3' })
  t.teardown(() => Promise.all([proxy.close(), stranger.close()]))
  const viaProxy = httpCaller(h.url, () => proxy)
  const direct = httpCaller(h.url, () => stranger)
  const valid = tokenOf(h, 'prosecutor')
  const forged = `${valid.slice(0, -6)}AAAAAA`
  const from = (client: string) => ({ 'x-forwarded-for': client })

  const flood: number[] = []
  for (let i = 0; i < 5; i++) {
    flood.push((await viaProxy('GET', '/v1/grants', { token: forged, headers: from('198.51.100.1') })).status)
  }
  t.same(flood, [401, 401, 401, 429, 429], 'the flooding client behind the proxy is limited')
  const good = await viaProxy('GET', '/v1/grants', { token: valid, headers: from('198.51.100.2') })
  t.equal(good.status, 200, 'another client behind the same proxy is not')

  // An untrusted peer's X-Forwarded-For is ignored: it cannot rotate claimed addresses to evade the limit.
  const claimed: number[] = []
  for (let i = 0; i < 5; i++) {
    claimed.push((await direct('GET', '/v1/grants', { token: forged, headers: from(`203.0.113.${i}`) })).status)
  }
  t.same(claimed, [401, 401, 401, 429, 429], 'counted by its own address')
})
