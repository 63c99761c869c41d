import t from 'tap'
import { MAIN_GRANT, openGrant, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/**
 * Input the access log could not hold, or an identifier with a control or format character, is refused with
 * a 400 problem+json before anything is decided or changed: the log does not grow, no state changes. A token
 * whose subject is not an identifier authenticates nobody.
 */
t.test('unloggable input is a 400 before anything changes, on every route', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  const pending = await openGrant(h, 'prosecutor', { volumes: ['main', 'sub'] })
  const active = await openGrant(h, 'prosecutor', { supervisionCase: 'S-active' })

  const LONE = 'x\ud800y'
  const RLO = '黑01\u202e'
  const attempts: Array<[string, string, string, Record<string, unknown> | undefined]> = [
    ['POST', '/v1/grants', 'prosecutor', { ...MAIN_GRANT, reason: LONE }],
    ['POST', '/v1/grants', 'prosecutor', { ...MAIN_GRANT, court: RLO }],
    ['POST', '/v1/grants', 'prosecutor', { ...MAIN_GRANT, caseNo: `${MAIN_GRANT.caseNo}\u0000` }],
    ['POST', '/v1/grants', 'prosecutor', { ...MAIN_GRANT, supervisionCase: 'S\u2066-1' }],
    ['POST', '/v1/grants', 'prosecutor', { ...MAIN_GRANT, members: ['li.na\u200f'] }],
    ['POST', `/v1/grants/${pending.id}/approve`, 'approver', { note: LONE }],
    ['POST', `/v1/grants/${pending.id}/reject`, 'approver', { reason: `ok ${LONE}` }],
    ['POST', `/v1/grants/${active.id}/revoke`, 'prosecutor', { reason: LONE }],
    ['POST', `/v1/grants/${active.id}/renew`, 'prosecutor', { days: 30, [`x${LONE}`]: 1 }],
    ['POST', '/v1/adapters', 'courtAdmin', { court: '黑01', baseUrl: `${court.url}/\u0085` }],
    ['POST', '/v1/adapters', 'courtAdmin', { court: '黑01', baseUrl: court.url, description: LONE }],
    ['PATCH', `/v1/adapters/${adapterId}`, 'courtAdmin', { probeCase: `${MAIN_GRANT.caseNo}\u200e` }],
    ['POST', `/v1/adapters/${encodeURIComponent(`${adapterId}\u202a`)}/activate`, 'operator', undefined],
    ['POST', `/v1/adapters/${adapterId}/suspend?x=${encodeURIComponent('\u0007')}`, 'operator', undefined],
    ['GET', `/v1/audit/entries?actor=${encodeURIComponent('zhang.wei\u202e')}`, 'auditor', undefined],
    ['GET', `/v1/grants/${encodeURIComponent(`${active.id}\u0000`)}/volumes`, 'prosecutor', undefined],
  ]
  for (const [method, path, person, body] of attempts) {
    const size = h.gateway.log.size()
    const response = await h.call(method, path, {
      token: tokenOf(h, person as 'prosecutor'),
      ...(body === undefined ? {} : { body }),
    })
    const what = `${method} ${path} ${JSON.stringify(body) ?? ''}`
    t.equal(response.status, 400, `${what}: 400`)
    t.equal(response.json?.code, 'VALIDATION_FAILED', `${what}: code`)
    t.match(response.headers['content-type'], /^application\/problem\+json/)
    t.equal(h.gateway.log.size(), size, `${what}: nothing was logged or decided`)
  }

  const grants = (await h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') })).json.items
  t.same(grants.map((grant: { id: string; status: string }) => grant.status).sort(), ['active', 'pending'], 'no change')
  const adapter = (await h.call('GET', `/v1/adapters/${adapterId}`, { token: tokenOf(h, 'operator') })).json
  t.equal(adapter.status, 'active')
  t.equal(adapter.baseUrl, court.url)

  const free = await h.call('POST', `/v1/grants/${active.id}/revoke`, {
    token: tokenOf(h, 'prosecutor'),
    body: { reason: '第一行\n第二行 \u202e 😀 allowed in prose' },
  })
  t.equal(free.status, 200, 'free text may hold line breaks, bidi and emoji, as long as it is well-formed')

  const forged = h.token('zhang.wei\u202e', '230100', ['prosecutor'])
  const refused = await h.call('GET', '/v1/grants', { token: forged })
  t.equal(refused.status, 401, 'a token whose subject carries a bidi override speaks for nobody')
  t.equal(refused.json.code, 'UNAUTHENTICATED')

  const requestId = await h.call('GET', '/v1/grants', {
    token: tokenOf(h, 'prosecutor'),
    headers: { 'x-request-id': 'id\u0085' },
  })
  t.equal(requestId.status, 200, 'a request id with a C1 control does not stop the request')
  t.not(
    requestId.headers['x-request-id'],
    'id\u0085',
    'it is replaced by an id of our own, so it never reaches the log',
  )
})
