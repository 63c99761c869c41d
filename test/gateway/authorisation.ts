/**
 * Authorisation through the real gateway: what decide() rules is what clients get, and what the log records.
 * Attacks the running gateway as every role would: probing ids, listing, exporting.
 */
import t, { type Test } from 'tap'
import {
  type Harness,
  openGrant,
  PEOPLE,
  type Person,
  registerAdapter,
  startAdapter,
  startGateway,
  tokenOf,
} from '../helpers/harness.js'

const PROBLEM = 'application/problem+json; charset=utf-8'
const UNKNOWN = '00000000-0000-4000-8000-000000000000'
type Response = Awaited<ReturnType<Harness['call']>>
type Entry = { index: number; entry: any }

async function setup(t: Test) {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  return { h, adapterId, courtUrl: court.url }
}

function as(h: Harness, person: Person) {
  const token = tokenOf(h, person)
  return (method: string, path: string, body?: unknown) =>
    h.call(method, path, body === undefined ? { token } : { token, body })
}

/** Every access-log entry, read by the audit body's auditor. */
async function allEntries(h: Harness): Promise<Entry[]> {
  const items: Entry[] = []
  let cursor = ''
  for (;;) {
    const page = await as(h, 'auditor')('GET', `/v1/audit/entries?limit=1000${cursor}`)
    if (page.status !== 200) throw new Error(`audit query failed: ${page.status} ${page.text}`)
    items.push(...page.json.items)
    if (!page.json.nextCursor) return items
    cursor = `&cursor=${page.json.nextCursor}`
  }
}

/** The refusal a response carries, without the one field that names the request (`instance`). */
function refusal(response: Response) {
  return {
    status: response.status,
    contentType: response.headers['content-type'],
    body: response.json === undefined ? response.text : { ...response.json, instance: undefined },
  }
}

/** Every refused request in `refused` has one deny entry in the log, with the code the client was given. */
async function checkLoggedAsDenied(t: Test, h: Harness, refused: Response[]) {
  const byRequest = new Map<string, Entry[]>()
  for (const item of await allEntries(h)) {
    const id = item.entry.requestId as string
    byRequest.set(id, [...(byRequest.get(id) ?? []), item])
  }
  const wrong: string[] = []
  for (const response of refused) {
    const id = response.headers['x-request-id'] as string
    const entries = (byRequest.get(id) ?? []).map((i) => i.entry)
    const ok =
      entries.length === 1 &&
      entries[0].decision === 'deny' &&
      entries[0].phase === 'event' &&
      entries[0].reason === response.json.code
    if (!ok) wrong.push(`${response.json?.instance} ${response.json?.code}: ${JSON.stringify(entries)}`)
  }
  t.same(wrong, [], `each of ${refused.length} refusals is logged once as deny with its reason`)
}

const GRANT_CALLS: Array<[string, string, unknown?]> = [
  ['GET', ''],
  ['POST', '/approve', {}],
  ['POST', '/reject', {}],
  ['POST', '/revoke', {}],
  ['POST', '/renew', { days: 30 }],
  ['GET', '/case'],
  ['GET', '/volumes'],
  ['GET', '/documents/main-01-appeal'],
]

t.test('an existing grant id and an unknown one get the same answer from everyone who may not see it', async (t) => {
  const { h } = await setup(t)
  const grant = await openGrant(h, 'prosecutor', { volumes: ['main', 'sub'] })
  const before = (await as(h, 'approver')('GET', `/v1/grants/${grant.id}`)).json

  // Who may not know of the grant is told it does not exist where their role may act on grants at all; where
  // it may not (an approver reads nothing, a prosecutor approves nothing, a court or the operator touches no
  // grant), the refusal is by role. One right answer for each call, identical for both ids.
  const NOT_FOUND: [number, string] = [404, 'NOT_FOUND']
  const FORBIDDEN: [number, string] = [403, 'FORBIDDEN']
  const prosecutor = (suffix: string) => (suffix === '/approve' || suffix === '/reject' ? FORBIDDEN : NOT_FOUND)
  const approver = (suffix: string) => (['', '/approve', '/reject', '/revoke'].includes(suffix) ? NOT_FOUND : FORBIDDEN)
  const expected: Array<[Person, (suffix: string) => [number, string]]> = [
    ['colleague', prosecutor],
    ['otherProsecutor', prosecutor],
    ['otherColleague', prosecutor],
    ['approver0103', approver],
    ['courtAdmin', () => FORBIDDEN],
    ['courtAdmin0103', () => FORBIDDEN],
    ['operator', () => FORBIDDEN],
    ['auditor', () => FORBIDDEN],
    ['courtAuditor', () => FORBIDDEN],
  ]
  const refused: Response[] = []
  for (const [person, answer] of expected) {
    const call = as(h, person)
    for (const [method, suffix, body] of GRANT_CALLS) {
      const [status, code] = answer(suffix)
      const existing = await call(method, `/v1/grants/${grant.id}${suffix}`, body)
      const unknown = await call(method, `/v1/grants/${UNKNOWN}${suffix}`, body)
      const what = `${person} ${method} ${suffix || '/'}`
      t.equal(existing.status, status, `${what}: ${existing.text}`)
      t.equal(existing.json?.code, code, what)
      t.equal(existing.headers['content-type'], PROBLEM, what)
      t.same(refusal(existing), refusal(unknown), `${what}: existing and unknown ids answer alike`)
      refused.push(existing, unknown)
    }
  }
  t.same((await as(h, 'approver')('GET', `/v1/grants/${grant.id}`)).json, before, 'the grant is unchanged')
  await checkLoggedAsDenied(t, h, refused)
})

t.test('an existing adapter id and an unknown one get the same answer from everyone who may not see it', async (t) => {
  const { h, adapterId } = await setup(t)
  const calls: Array<[string, string, unknown?]> = [
    ['GET', ''],
    ['GET', '/health'],
    ['PATCH', '', { description: 'probe' }],
    ['POST', '/activate'],
    ['POST', '/suspend'],
  ]
  // Nangang's administrator does not know of Harbin's adapter; activation and suspension are the operator's,
  // refused by role whatever the id. Nobody outside courts and operations sees adapters at all.
  const expected: Array<[Person, Record<string, [number, string]>]> = [
    [
      'courtAdmin0103',
      {
        'GET ': [404, 'NOT_FOUND'],
        'GET /health': [404, 'NOT_FOUND'],
        'PATCH ': [404, 'NOT_FOUND'],
        'POST /activate': [403, 'FORBIDDEN'],
        'POST /suspend': [403, 'FORBIDDEN'],
      },
    ],
    ...(['prosecutor', 'approver', 'auditor', 'courtAuditor'] as const).map(
      (person): [Person, Record<string, [number, string]>] => [
        person,
        Object.fromEntries(calls.map(([method, suffix]) => [`${method} ${suffix}`, [403, 'FORBIDDEN']])),
      ],
    ),
  ]
  const before = (await as(h, 'operator')('GET', `/v1/adapters/${adapterId}`)).json
  const refused: Response[] = []
  for (const [person, answers] of expected) {
    const call = as(h, person)
    for (const [method, suffix, body] of calls) {
      const [status, code] = answers[`${method} ${suffix}`]!
      const existing = await call(method, `/v1/adapters/${adapterId}${suffix}`, body)
      const unknown = await call(method, `/v1/adapters/${UNKNOWN}${suffix}`, body)
      const what = `${person} ${method} ${suffix || '/'}`
      t.equal(existing.status, status, `${what}: ${existing.text}`)
      t.equal(existing.json?.code, code, what)
      t.same(refusal(existing), refusal(unknown), `${what}: existing and unknown ids answer alike`)
      refused.push(existing, unknown)
    }
  }
  t.same((await as(h, 'operator')('GET', `/v1/adapters/${adapterId}`)).json, before, 'the adapter is unchanged')
  // The operator sees every adapter, so an unknown id is simply not found, and that refusal is logged too.
  const missing = await as(h, 'operator')('POST', `/v1/adapters/${UNKNOWN}/activate`)
  t.equal(missing.status, 404)
  t.equal(missing.json.code, 'NOT_FOUND')
  refused.push(missing)
  await checkLoggedAsDenied(t, h, refused)
})

t.test("a court auditor's refused export and entry lookups are logged as deny with their reason", async (t) => {
  const { h } = await setup(t)
  await openGrant(h)
  await as(h, 'courtAdmin0103')('POST', '/v1/adapters', { court: '黑0103', baseUrl: 'http://127.0.0.1:9/' })
  const entries = await allEntries(h)
  const otherCourt = entries.find((i) => i.entry.resource?.court === '黑0103')!
  const noCourt = entries.find((i) => i.entry.resource?.court === undefined)!
  t.ok(otherCourt && noCourt, 'the log holds entries about another court and about none')

  const court = as(h, 'courtAuditor')
  const exported = await court('GET', '/v1/audit/export')
  t.equal(exported.status, 403)
  t.equal(exported.json.code, 'FORBIDDEN')
  t.match(exported.json.detail, /court auditor may not export/)
  t.notOk(exported.text.includes('"v":'), 'no leaf was sent')

  // Another court's entry, an entry about no court and an index beyond the log answer alike.
  const beyond = entries.length + 1000
  const lookups = [otherCourt.index, noCourt.index, beyond].map((index) => court('GET', `/v1/audit/entries/${index}`))
  const [other, none, missing] = await Promise.all(lookups)
  for (const response of [other!, none!, missing!]) {
    t.equal(response.status, 404)
    t.equal(response.json.code, 'NOT_FOUND')
  }
  t.same(refusal(other!), refusal(missing!), "another court's entry answers like a missing one")
  t.same(refusal(none!), refusal(missing!), 'an entry about no court answers like a missing one')

  await checkLoggedAsDenied(t, h, [exported, other!, none!, missing!])
  const logged = (await allEntries(h)).find((i) => i.entry.requestId === exported.headers['x-request-id'])!.entry
  t.match(logged, {
    action: 'audit.query',
    actor: { sub: PEOPLE.courtAuditor.sub, org: PEOPLE.courtAuditor.org },
    decision: 'deny',
    reason: 'FORBIDDEN',
    detail: { query: 'export' },
  })
})

t.test('listings show exactly what each person may see one by one', async (t) => {
  const { h, adapterId, courtUrl } = await setup(t)
  const grants = [
    await openGrant(h, 'prosecutor'),
    await openGrant(h, 'prosecutor', { supervisionCase: 'M-2', members: ['li.na'] }),
    await openGrant(h, 'colleague', { supervisionCase: 'C-1' }),
    await openGrant(h, 'otherProsecutor', { court: '黑01', supervisionCase: 'O-1' }),
    await openGrant(h, 'otherColleague', { supervisionCase: 'O-2', volumes: ['main', 'sub'] }),
  ].map((g) => g.id)
  const created = await as(h, 'courtAdmin0103')('POST', '/v1/adapters', { court: '黑0103', baseUrl: courtUrl })
  t.equal(created.status, 201, created.text)
  const adapters = [adapterId, created.json.id as string]

  const refused: Response[] = []
  for (const person of Object.keys(PEOPLE) as Person[]) {
    const call = as(h, person)
    // Grants: the listing is the set of grants this person may open one by one.
    const listed = await call('GET', '/v1/grants')
    const one = await Promise.all(grants.map((id) => call('GET', `/v1/grants/${id}`)))
    const visible = grants.filter((_, i) => one[i]!.status === 200)
    if (listed.status === 200) {
      const ids = (listed.json.items as Array<{ id: string }>).map((g) => g.id)
      t.same(ids.sort(), visible.sort(), `${person}: the grants listed are those visible one by one`)
    } else {
      t.equal(listed.status, 403, `${person} lists no grants`)
      t.equal(listed.json.code, 'FORBIDDEN')
      t.same(visible, [], `${person} sees no grant one by one either`)
      refused.push(listed)
    }
    refused.push(...one.filter((r) => r.status !== 200))

    const adapterList = await call('GET', '/v1/adapters')
    const adapterOne = await Promise.all(adapters.map((id) => call('GET', `/v1/adapters/${id}`)))
    const adaptersVisible = adapters.filter((_, i) => adapterOne[i]!.status === 200)
    if (adapterList.status === 200) {
      const ids = (adapterList.json.items as Array<{ id: string }>).map((a) => a.id)
      t.same(ids.sort(), adaptersVisible.sort(), `${person}: the adapters listed are those visible one by one`)
    } else {
      t.equal(adapterList.status, 403, `${person} lists no adapters`)
      t.same(adaptersVisible, [], `${person} sees no adapter one by one either`)
      refused.push(adapterList)
    }
    refused.push(...adapterOne.filter((r) => r.status !== 200))
  }

  // The answers that should differ do: who sees what, by name.
  const sees = async (person: Person) =>
    ((await as(h, person)('GET', '/v1/grants')).json.items as Array<{ id: string }>).map((g) => g.id).sort()
  t.same(await sees('prosecutor'), [grants[0], grants[1]].sort(), 'the creator sees their two grants')
  t.same(await sees('colleague'), [grants[1], grants[2]].sort(), 'a member sees the grant naming them and their own')
  t.same(await sees('approver'), [grants[0], grants[1], grants[2]].sort(), 'an approver sees their organisation’s')
  t.same(await sees('approver0103'), [grants[3], grants[4]].sort(), 'and only their organisation’s')
  const adminList = (await as(h, 'courtAdmin')('GET', '/v1/adapters')).json.items as Array<{ id: string }>
  t.same(
    adminList.map((a) => a.id),
    [adapterId],
    'a court admin lists only its court’s adapter',
  )
  const opsList = (await as(h, 'operator')('GET', '/v1/adapters')).json.items as Array<{ id: string }>
  t.same(opsList.map((a) => a.id).sort(), [...adapters].sort(), 'the operator lists every adapter')

  // The log: a court auditor's listing holds exactly the entries it may open one by one.
  const all = await allEntries(h)
  const size = all.length
  const courtEntries = []
  let cursor = ''
  for (;;) {
    const page = await as(h, 'courtAuditor')('GET', `/v1/audit/entries?limit=1000${cursor}`)
    courtEntries.push(...(page.json.items as Entry[]))
    if (!page.json.nextCursor) break
    cursor = `&cursor=${page.json.nextCursor}`
  }
  const listedIndexes = courtEntries.map((i) => i.index).filter((index) => index < size)
  const openable: number[] = []
  for (let index = 0; index < size; index++) {
    const response = await as(h, 'courtAuditor')('GET', `/v1/audit/entries/${index}`)
    if (response.status === 200) openable.push(index)
    else t.equal(response.status, 404, `entry ${index}`)
  }
  t.same(listedIndexes, openable, 'a court auditor lists exactly the entries it may open')
  t.ok(openable.length > 0 && openable.length < size, 'some entries, not all')

  await checkLoggedAsDenied(t, h, refused)
})
