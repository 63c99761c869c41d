import t from 'tap'
import { eventually, PEOPLE, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

type Entry = { index: number; entry: any }

async function rateEntries(h: Awaited<ReturnType<typeof startGateway>>): Promise<Entry[]> {
  const response = await h.call('GET', '/v1/audit/entries?action=rate.limit&limit=1000', {
    token: tokenOf(h, 'auditor'),
  })
  return response.json.items as Entry[]
}

t.test('per person: the next request over the limit is 429 RATE_LIMITED with Retry-After, logged once', async (t) => {
  const h = await startGateway(t, { limits: { requestsPerMinute: 3 } })
  const prosecutor = tokenOf(h, 'prosecutor')
  for (let i = 0; i < 3; i++) {
    t.equal((await h.call('GET', '/v1/grants', { token: prosecutor })).status, 200, `request ${i + 1} passes`)
  }
  const refused = await h.call('GET', '/v1/grants', { token: prosecutor })
  t.equal(refused.status, 429)
  t.equal(refused.headers['content-type'], PROBLEM)
  t.equal(refused.json.code, 'RATE_LIMITED')
  t.equal(refused.json.scope, 'user')
  t.equal(refused.json.limit, 3)
  const retryAfter = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter} s`)

  // Every route behind authentication counts, whatever it is.
  for (const path of ['/v1/grants', '/v1/courts', '/v1/grants/00000000-0000-4000-8000-000000000000', '/v1/nowhere']) {
    const again = await h.call('GET', path, { token: prosecutor })
    t.equal(again.status, 429, `${path} is limited too`)
    t.equal(again.json.code, 'RATE_LIMITED')
  }

  // The person's key is org:sub: the same sub in another procuratorate is someone else.
  t.equal((await h.call('GET', '/v1/grants', { token: tokenOf(h, 'otherProsecutor') })).status, 200)

  // Health, readiness, keys and the API description are never limited, with or without a token.
  for (const path of ['/healthz', '/readyz', '/.well-known/jwks.json', '/openapi.json']) {
    for (let i = 0; i < 5; i++) {
      const open = await h.call('GET', path, { token: prosecutor })
      t.equal(open.status, 200, `${path} #${i + 1}`)
    }
    t.equal((await h.call('GET', path)).status, 200, `${path} without a token`)
  }

  // Five refusals, one log entry: the log cannot be grown by hammering a limit.
  const logged = await eventually(async () => {
    const entries = await rateEntries(h)
    return entries.length > 0 ? entries : undefined
  })
  t.equal(logged.length, 1, 'only the first refusal of the window is logged')
  const entry = logged[0]!.entry
  t.equal(entry.action, 'rate.limit')
  t.equal(entry.decision, 'deny')
  t.equal(entry.reason, 'RATE_LIMITED')
  t.equal(entry.phase, 'event')
  t.same(entry.actor.sub, PEOPLE.prosecutor.sub)
  t.same(entry.actor.org, PEOPLE.prosecutor.org)
  t.match(entry.detail, { scope: 'user', limit: 3, windowSeconds: 60, method: 'GET', route: '/v1/grants' })
})

t.test('per organisation: colleagues share one budget', async (t) => {
  const h = await startGateway(t, { limits: { requestsPerMinute: 4, organisationRequestsPerMinute: 4 } })
  const zhang = tokenOf(h, 'prosecutor')
  const li = tokenOf(h, 'colleague')
  const chen = tokenOf(h, 'approver')
  t.equal((await h.call('GET', '/v1/grants', { token: zhang })).status, 200)
  t.equal((await h.call('GET', '/v1/grants', { token: zhang })).status, 200)
  t.equal((await h.call('GET', '/v1/grants', { token: li })).status, 200)
  t.equal((await h.call('GET', '/v1/grants', { token: chen })).status, 200)
  // Each of the three is under their own limit of 4, but 230100 has used its 4.
  for (const [name, token] of [
    ['li.na', li],
    ['chen.jie', chen],
    ['li.na again', li],
  ] as const) {
    const refused = await h.call('GET', '/v1/grants', { token })
    t.equal(refused.status, 429, `${name} is refused`)
    t.equal(refused.json.code, 'RATE_LIMITED')
    t.equal(refused.json.scope, 'organisation')
    t.ok(Number(refused.headers['retry-after']) >= 1)
  }
  // Another organisation is not affected.
  t.equal((await h.call('GET', '/v1/grants', { token: tokenOf(h, 'otherProsecutor') })).status, 200)

  const logged = await eventually(async () => {
    const entries = await rateEntries(h)
    return entries.length > 0 ? entries : undefined
  })
  t.equal(logged.length, 1, 'one entry for the organisation in this window')
  t.match(logged[0]!.entry, { reason: 'RATE_LIMITED', detail: { scope: 'organisation', limit: 4 } })
  t.equal(logged[0]!.entry.actor.org, '230100')
})

t.test('the limit applies to reads through the reference adapter too, and refused reads reach no court', async (t) => {
  const h = await startGateway(t, { limits: { requestsPerMinute: 2 } })
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const created = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { court: '黑01', caseNo: '（2023）黑01民终1234号', supervisionCase: 'L-1', volumes: ['main'], reason: 'r' },
  })
  t.equal(created.status, 201, created.text)
  const id = created.json.id as string
  t.equal((await h.call('GET', `/v1/grants/${id}/documents/main-01-appeal`, { token: prosecutor })).status, 200)
  const read = await h.call('GET', `/v1/grants/${id}/documents/main-01-appeal`, { token: prosecutor })
  t.equal(read.status, 429)
  t.equal(read.json.code, 'RATE_LIMITED')
  const reads = await eventually(async () => {
    const entries = await h.call('GET', `/v1/audit/entries?grant=${id}&action=document.read&limit=1000`, {
      token: tokenOf(h, 'auditor'),
    })
    const items = entries.json.items as Entry[]
    return items.some((i) => i.entry.phase === 'outcome') ? items : undefined
  })
  t.same(
    reads.map((i) => i.entry.phase),
    ['intent', 'outcome'],
    'only the first read is logged as a read: the refusal came before the route',
  )
})

t.test('unauthenticated requests are refused before they count', async (t) => {
  const h = await startGateway(t, { limits: { requestsPerMinute: 1 } })
  for (let i = 0; i < 3; i++) t.equal((await h.call('GET', '/v1/grants')).status, 401)
  t.equal((await h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') })).status, 200)
  t.equal((await h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') })).status, 429)
})
