import t, { type Test } from 'tap'
import { normaliseMembers } from '../../src/grants/members.js'
import {
  eventually,
  type Harness,
  PEOPLE,
  type Person,
  registerAdapter,
  startAdapter,
  startGateway,
  testClock,
  tokenOf,
} from '../helpers/harness.js'

const CASE = '（2023）黑01民终1234号'
const PROBLEM = 'application/problem+json; charset=utf-8'
const DAY = 86_400_000
const UNKNOWN = '00000000-0000-4000-8000-000000000000'

type Tap = Parameters<typeof startGateway>[0]
type Entry = { index: number; entry: any }

async function setup(t: Tap, clock?: ReturnType<typeof testClock>) {
  const h = await startGateway(t, {}, undefined, clock ? { now: clock.now } : {})
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  return { h, adapterId }
}

function as(h: Harness, person: Person) {
  const token = tokenOf(h, person)
  return {
    get: (path: string) => h.call('GET', path, { token }),
    post: (path: string, body?: unknown) => h.call('POST', path, body === undefined ? { token } : { token, body }),
  }
}

async function open(h: Harness, body: Record<string, unknown> = {}, person: Person = 'prosecutor') {
  const created = await as(h, person).post('/v1/grants', {
    court: '黑01',
    caseNo: CASE,
    supervisionCase: '哈检民监〔2024〕12号',
    volumes: ['main'],
    reason: '民事生效裁判监督',
    ...body,
  })
  if (created.status !== 201) throw new Error(`open failed: ${created.status} ${created.text}`)
  return created.json as { id: string; status: string; [key: string]: unknown }
}

/** The grant as its procuratorate's approver sees it: the reference for "nothing changed". */
async function snapshot(h: Harness, id: string) {
  const response = await as(h, 'approver').get(`/v1/grants/${id}`)
  if (response.status !== 200) throw new Error(`snapshot failed: ${response.status} ${response.text}`)
  return response.json
}

async function entriesOf(h: Harness, query: string): Promise<Entry[]> {
  const response = await h.call('GET', `/v1/audit/entries?${query}&limit=1000`, { token: tokenOf(h, 'auditor') })
  if (response.status !== 200) throw new Error(`audit query failed: ${response.status} ${response.text}`)
  return response.json.items as Entry[]
}

/** A refusal is a clear 4xx problem+json with the expected code, and the grant is as it was. */
async function refused(
  t: Test,
  h: Harness,
  response: Awaited<ReturnType<Harness['call']>>,
  status: number,
  code: string,
  id?: string,
  before?: unknown,
) {
  t.equal(response.status, status, `${code}: ${response.text}`)
  t.equal(response.headers['content-type'], PROBLEM)
  t.equal(response.json?.code, code)
  t.equal(typeof response.json?.detail, 'string')
  if (id !== undefined) t.same(await snapshot(h, id), before, 'the grant is unchanged')
}

t.test('members: bare and qualified subs, other organisations refused', async (t) => {
  t.same(normaliseMembers(['li.na', '230100/wang.fang'], '230100', 'zhang.wei'), {
    ok: true,
    members: ['li.na', 'wang.fang'],
  })
  t.same(normaliseMembers(['li.na', '230100/li.na', 'zhang.wei'], '230100', 'zhang.wei'), {
    ok: true,
    members: ['li.na'],
  })
  t.match(normaliseMembers(['li.na', '230103/li.na'], '230100', 'zhang.wei'), {
    ok: false,
    member: '230103/li.na',
    org: '230103',
  })
  t.match(normaliseMembers(['a/b'], '230100', 'x'), { ok: false, org: 'a' }, 'a slash always qualifies')
  t.same(normaliseMembers(['230100/a/b'], '230100', 'x'), { ok: true, members: ['a/b'] })
  t.match(normaliseMembers(['230100/'], '230100', 'x'), { ok: false })
  t.match(normaliseMembers(['li\nna'], '230100', 'x'), { ok: false })
})

t.test(
  'a sub-volume grant: pending reads nothing, four-eyes approval, then the sub-volume is read and logged',
  async (t) => {
    const { h } = await setup(t)
    const prosecutor = as(h, 'prosecutor')
    // The order of volumes means nothing.
    const grant = await open(h, { volumes: ['sub', 'main'] })
    t.equal(grant.status, 'pending')
    t.same(grant.volumes, ['main', 'sub'])
    t.equal(grant.approvedBy, undefined)
    const id = grant.id

    for (const path of ['case', 'volumes', 'documents/main-01-appeal', 'documents/sub-02-deliberation']) {
      await refused(t, h, await prosecutor.get(`/v1/grants/${id}/${path}`), 403, 'GRANT_NOT_ACTIVE')
    }

    const pending = await snapshot(h, id)
    // The creator never approves their own grant, whatever roles the token carries.
    await refused(
      t,
      h,
      await as(h, 'prosecutorApprover').post(`/v1/grants/${id}/approve`, {}),
      403,
      'FORBIDDEN',
      id,
      pending,
    )
    // A prosecutor is no approver.
    await refused(t, h, await as(h, 'colleague').post(`/v1/grants/${id}/approve`, {}), 403, 'FORBIDDEN', id, pending)
    // An approver of another procuratorate (with the same sub as the right one) learns nothing: 404 like a
    // grant that does not exist.
    const foreign = await as(h, 'approver0103').post(`/v1/grants/${id}/approve`, {})
    const missing = await as(h, 'approver0103').post(`/v1/grants/${UNKNOWN}/approve`, {})
    await refused(t, h, foreign, 404, 'NOT_FOUND', id, pending)
    t.same(
      { ...foreign.json, instance: undefined },
      { ...missing.json, instance: undefined },
      'indistinguishable from an unknown grant',
    )

    const approved = await as(h, 'approver').post(`/v1/grants/${id}/approve`, { note: '同意调阅副卷' })
    t.equal(approved.status, 200, approved.text)
    t.equal(approved.json.status, 'active')
    t.equal(approved.json.approvedBy, PEOPLE.approver.sub)
    t.ok(approved.json.approvedAt)
    t.equal(approved.json.decisionNote, '同意调阅副卷')

    const active = await snapshot(h, id)
    await refused(
      t,
      h,
      await as(h, 'approver').post(`/v1/grants/${id}/approve`, {}),
      409,
      'INVALID_TRANSITION',
      id,
      active,
    )
    await refused(
      t,
      h,
      await as(h, 'approver2').post(`/v1/grants/${id}/reject`, {}),
      409,
      'INVALID_TRANSITION',
      id,
      active,
    )

    const volumes = await prosecutor.get(`/v1/grants/${id}/volumes`)
    t.equal(volumes.status, 200, volumes.text)
    const sub = volumes.json.volumes.find((v: { kind: string }) => v.kind === 'sub')
    t.equal(sub.restricted, false)
    t.ok(sub.documents.length > 0)
    t.match(volumes.text, /合议庭评议笔录/, 'sub-volume titles are listed')

    const read = await prosecutor.get(`/v1/grants/${id}/documents/sub-02-deliberation`)
    t.equal(read.status, 200, read.text)
    t.equal(read.bytes.subarray(0, 5).toString(), '%PDF-')
    const intentIndex = Number(read.headers['access-log-index'])

    // "Whoever approves is responsible, whoever uses is responsible": both are in the read's entries.
    const reads = await eventually(async () => {
      const items = await entriesOf(h, `grant=${id}&action=document.read`)
      return items.some((i) => i.entry.intent === intentIndex) ? items : undefined
    })
    const intent = reads.find((i) => i.index === intentIndex)!.entry
    t.equal(intent.phase, 'intent')
    t.equal(intent.actor.sub, PEOPLE.prosecutor.sub)
    t.same(intent.purpose, { supervisionCase: '哈检民监〔2024〕12号', approvedBy: PEOPLE.approver.sub })
    t.equal(intent.resource.document, 'sub-02-deliberation')
    const outcome = reads.find((i) => i.entry.intent === intentIndex)!.entry
    t.equal(outcome.purpose.approvedBy, PEOPLE.approver.sub)
    t.equal(outcome.resource.volume, 'sub')
    t.equal(outcome.outcome.result, 'completed')

    const approvals = await entriesOf(h, `grant=${id}&action=grant.approve`)
    const allowed = approvals.filter((i) => i.entry.decision === 'allow')
    t.equal(allowed.length, 1, 'one approval')
    t.match(allowed[0]!.entry, {
      actor: { sub: PEOPLE.approver.sub, org: '230100' },
      purpose: { approvedBy: PEOPLE.approver.sub },
      detail: { from: 'pending', to: 'active' },
    })
    const denied = approvals.filter((i) => i.entry.decision === 'deny').map((i) => i.entry.reason)
    t.same(
      denied.sort(),
      ['FORBIDDEN', 'FORBIDDEN', 'INVALID_TRANSITION', 'NOT_FOUND'].sort(),
      'every refusal is logged',
    )
  },
)

t.test('reject: the grant never reads anything', async (t) => {
  const { h } = await setup(t)
  const id = (await open(h, { volumes: ['main', 'sub'] })).id
  const rejected = await as(h, 'approver').post(`/v1/grants/${id}/reject`, { reason: '监督理由不充分' })
  t.equal(rejected.status, 200, rejected.text)
  t.equal(rejected.json.status, 'rejected')
  t.equal(rejected.json.rejectedBy, PEOPLE.approver.sub)
  t.ok(rejected.json.rejectedAt)
  t.equal(rejected.json.approvedBy, undefined)

  for (const path of ['case', 'volumes', 'documents/main-01-appeal', 'documents/sub-02-deliberation']) {
    await refused(t, h, await as(h, 'prosecutor').get(`/v1/grants/${id}/${path}`), 403, 'GRANT_NOT_ACTIVE')
  }
  // No transition leads out of `rejected`, and a refused one changes nothing.
  const before = await snapshot(h, id)
  const attempts: Array<[Person, string, object]> = [
    ['approver', 'approve', {}],
    ['approver', 'reject', {}],
    ['prosecutor', 'revoke', {}],
    ['prosecutor', 'renew', { days: 30 }],
  ]
  for (const [person, transition, body] of attempts) {
    const response = await as(h, person).post(`/v1/grants/${id}/${transition}`, body)
    await refused(t, h, response, 409, 'INVALID_TRANSITION', id, before)
  }

  const events = await entriesOf(h, `grant=${id}&action=grant.reject&decision=allow`)
  t.equal(events.length, 1)
  t.match(events[0]!.entry, {
    actor: { sub: PEOPLE.approver.sub },
    detail: { from: 'pending', to: 'rejected', note: '监督理由不充分' },
  })

  // A rejected grant is closed: the same case and supervision case can be asked for again.
  t.equal((await open(h, { volumes: ['main', 'sub'] })).status, 'pending')
})

t.test('revoke: by the creator or an approver, effective at once, only once', async (t) => {
  const { h } = await setup(t)
  const prosecutor = as(h, 'prosecutor')
  const id = (await open(h)).id
  t.equal((await prosecutor.get(`/v1/grants/${id}/documents/main-01-appeal`)).status, 200)

  const active = await snapshot(h, id)
  // An active grant needs no approval.
  await refused(
    t,
    h,
    await as(h, 'approver').post(`/v1/grants/${id}/approve`, {}),
    409,
    'INVALID_TRANSITION',
    id,
    active,
  )
  // A colleague who is neither creator, member nor approver does not know of the grant, nor does anyone of
  // another procuratorate: they cannot revoke it and learn nothing.
  await refused(t, h, await as(h, 'colleague').post(`/v1/grants/${id}/revoke`, {}), 404, 'NOT_FOUND', id, active)
  await refused(t, h, await as(h, 'otherProsecutor').post(`/v1/grants/${id}/revoke`, {}), 404, 'NOT_FOUND', id, active)
  await refused(t, h, await as(h, 'approver0103').post(`/v1/grants/${id}/revoke`, {}), 404, 'NOT_FOUND', id, active)

  const revoked = await prosecutor.post(`/v1/grants/${id}/revoke`, { reason: '已完成审查' })
  t.equal(revoked.status, 200, revoked.text)
  t.equal(revoked.json.status, 'revoked')
  t.equal(revoked.json.revokedBy, PEOPLE.prosecutor.sub)
  await refused(t, h, await prosecutor.get(`/v1/grants/${id}/documents/main-01-appeal`), 403, 'GRANT_NOT_ACTIVE')
  await refused(t, h, await prosecutor.get(`/v1/grants/${id}/volumes`), 403, 'GRANT_NOT_ACTIVE')

  const after = await snapshot(h, id)
  await refused(t, h, await prosecutor.post(`/v1/grants/${id}/revoke`, {}), 409, 'INVALID_TRANSITION', id, after)
  await refused(t, h, await as(h, 'approver').post(`/v1/grants/${id}/revoke`, {}), 409, 'INVALID_TRANSITION', id, after)
  await refused(
    t,
    h,
    await prosecutor.post(`/v1/grants/${id}/renew`, { days: 30 }),
    409,
    'INVALID_TRANSITION',
    id,
    after,
  )
  await refused(
    t,
    h,
    await as(h, 'approver').post(`/v1/grants/${id}/approve`, {}),
    409,
    'INVALID_TRANSITION',
    id,
    after,
  )

  // An approver revokes a colleague's grant, pending or active.
  const other = (await open(h, { supervisionCase: 'R-2', volumes: ['main', 'sub'] })).id
  const byApprover = await as(h, 'approver2').post(`/v1/grants/${other}/revoke`, {})
  t.equal(byApprover.status, 200, byApprover.text)
  t.equal(byApprover.json.status, 'revoked')
  t.equal(byApprover.json.revokedBy, PEOPLE.approver2.sub)

  const events = await entriesOf(h, `action=grant.revoke&decision=allow`)
  t.same(
    events.map((i) => [i.entry.resource.grant, i.entry.actor.sub, i.entry.detail.from, i.entry.detail.to]),
    [
      [id, PEOPLE.prosecutor.sub, 'active', 'revoked'],
      [other, PEOPLE.approver2.sub, 'pending', 'revoked'],
    ],
  )
})

t.test('renewal and expiry on the gateway clock', async (t) => {
  const clock = testClock('2024-03-01T02:00:00.000Z')
  const { h } = await setup(t, clock)
  const prosecutor = as(h, 'prosecutor')
  const grant = await open(h)
  const id = grant.id
  const created = Date.parse(grant.createdAt as string)
  t.equal(grant.expiresAt, new Date(created + 90 * DAY).toISOString(), '90 days by default')
  const renew = (days: unknown, person: Person = 'prosecutor') => as(h, person).post(`/v1/grants/${id}/renew`, { days })

  let before = await snapshot(h, id)
  // days out of range, or not a whole number, change nothing.
  for (const days of [0, 181, -1, 1.5, '30x', null]) {
    await refused(t, h, await renew(days), 400, 'VALIDATION_FAILED', id, before)
  }
  await refused(t, h, await prosecutor.post(`/v1/grants/${id}/renew`, {}), 400, 'VALIDATION_FAILED', id, before)
  // A renewal must extend: 90 days from now ends when the grant ends already.
  await refused(t, h, await renew(90), 400, 'VALIDATION_FAILED', id, before)
  await refused(t, h, await renew(10), 400, 'VALIDATION_FAILED', id, before)
  // Only the creator renews.
  await refused(t, h, await renew(30, 'colleague'), 404, 'NOT_FOUND', id, before)
  await refused(t, h, await renew(30, 'approver'), 403, 'FORBIDDEN', id, before)
  await refused(t, h, await renew(30, 'otherProsecutor'), 404, 'NOT_FOUND', id, before)

  clock.advance(60 * DAY)
  const renewed = await renew(90)
  t.equal(renewed.status, 200, renewed.text)
  t.equal(renewed.json.expiresAt, new Date(created + 150 * DAY).toISOString(), 'from now: day 60 + 90')
  t.equal(renewed.json.status, 'active')

  clock.advance(60 * DAY)
  before = await snapshot(h, id)
  const tooLong = await renew(61)
  await refused(t, h, tooLong, 400, 'VALIDATION_FAILED', id, before)
  t.match(tooLong.json.detail, new Date(created + 180 * DAY).toISOString(), 'the latest possible expiry is named')
  const toTheLimit = await renew(60)
  t.equal(toTheLimit.status, 200, toTheLimit.text)
  t.equal(toTheLimit.json.expiresAt, new Date(created + 180 * DAY).toISOString(), 'exactly 180 days after creation')

  t.equal((await prosecutor.get(`/v1/grants/${id}/documents/main-01-appeal`)).status, 200, 'day 120: still readable')
  clock.set(new Date(created + 180 * DAY))
  await refused(t, h, await prosecutor.get(`/v1/grants/${id}/documents/main-01-appeal`), 403, 'GRANT_EXPIRED')
  await refused(t, h, await prosecutor.get(`/v1/grants/${id}/case`), 403, 'GRANT_EXPIRED')
  const expired = await snapshot(h, id)
  t.equal(expired.status, 'expired', 'the effective status is shown')
  await refused(t, h, await renew(1), 403, 'GRANT_EXPIRED', id, expired)
  await refused(t, h, await prosecutor.post(`/v1/grants/${id}/revoke`, {}), 409, 'INVALID_TRANSITION', id, expired)
  await refused(t, h, await as(h, 'approver').post(`/v1/grants/${id}/approve`, {}), 403, 'GRANT_EXPIRED', id, expired)
  const listed = await prosecutor.get('/v1/grants?status=expired')
  t.equal(listed.status, 200, listed.text)
  t.same(
    listed.json.items.map((g: { id: string }) => g.id),
    [id],
  )

  // An expired grant is closed: the same case and supervision case may be opened again.
  t.equal((await open(h)).status, 'active')

  // A pending grant that nobody decided on in time expires too, and cannot be approved afterwards.
  const pending = (await open(h, { supervisionCase: 'E-2', volumes: ['main', 'sub'], days: 1 })).id
  clock.advance(DAY)
  const late = await snapshot(h, pending)
  t.equal(late.status, 'expired')
  await refused(
    t,
    h,
    await as(h, 'approver').post(`/v1/grants/${pending}/approve`, {}),
    403,
    'GRANT_EXPIRED',
    pending,
    late,
  )
  await refused(
    t,
    h,
    await as(h, 'approver').post(`/v1/grants/${pending}/reject`, {}),
    403,
    'GRANT_EXPIRED',
    pending,
    late,
  )

  const renewals = await entriesOf(h, `grant=${id}&action=grant.renew&decision=allow`)
  t.same(
    renewals.map((i) => [i.entry.actor.sub, i.entry.detail.days, i.entry.detail.to]),
    [
      [PEOPLE.prosecutor.sub, 90, new Date(created + 150 * DAY).toISOString()],
      [PEOPLE.prosecutor.sub, 60, new Date(created + 180 * DAY).toISOString()],
    ],
  )
  t.equal(renewals[0]!.entry.time, new Date(created + 60 * DAY).toISOString(), 'logged at gateway time')
})

t.test('members read through the grant; the same sub of another organisation never does', async (t) => {
  const { h } = await setup(t)
  const grant = await open(h, { members: ['230100/li.na'] })
  t.same(grant.members, ['li.na'], 'the qualified form is stored as a bare sub')
  const id = grant.id

  const member = as(h, 'colleague')
  t.equal((await member.get(`/v1/grants/${id}`)).status, 200, 'a member sees the grant')
  t.equal((await member.get(`/v1/grants/${id}/documents/main-01-appeal`)).status, 200, 'and reads through it')
  t.ok(
    ((await member.get('/v1/grants')).json.items as Array<{ id: string }>).some((g) => g.id === id),
    'and lists it',
  )
  // A member is no creator: they cannot renew or revoke.
  const before = await snapshot(h, id)
  await refused(t, h, await member.post(`/v1/grants/${id}/renew`, { days: 60 }), 403, 'FORBIDDEN', id, before)
  await refused(t, h, await member.post(`/v1/grants/${id}/revoke`, {}), 403, 'FORBIDDEN', id, before)

  // li.na of Nangang district is another person.
  const stranger = as(h, 'otherColleague')
  const read = await stranger.get(`/v1/grants/${id}/documents/main-01-appeal`)
  const unknownRead = await stranger.get(`/v1/grants/${UNKNOWN}/documents/main-01-appeal`)
  await refused(t, h, unknownRead, 404, 'NOT_FOUND')
  await refused(t, h, read, 404, 'NOT_FOUND')
  t.notOk(read.bytes.subarray(0, 5).toString() === '%PDF-')
  await refused(t, h, await stranger.get(`/v1/grants/${id}`), 404, 'NOT_FOUND')
  t.same((await stranger.get('/v1/grants')).json.items, [], 'and lists nothing')

  // A member who is an approver cannot approve the grant they will read through.
  const sub = (await open(h, { supervisionCase: 'M-2', volumes: ['main', 'sub'], members: [PEOPLE.approver2.sub] })).id
  const pending = await snapshot(h, sub)
  await refused(t, h, await as(h, 'approver2').post(`/v1/grants/${sub}/approve`, {}), 403, 'FORBIDDEN', sub, pending)
})

t.test('bad input when opening a grant changes nothing', async (t) => {
  const { h } = await setup(t)
  const prosecutor = as(h, 'prosecutor')
  const body = { court: '黑01', caseNo: CASE, supervisionCase: 'B-1', volumes: ['main'], reason: 'r' }
  const count = async () => ((await as(h, 'approver').get('/v1/grants')).json.items as unknown[]).length
  const attempts: Array<[string, Record<string, unknown>, number, string]> = [
    ['days 0', { days: 0 }, 400, 'VALIDATION_FAILED'],
    ['days 181', { days: 181 }, 400, 'VALIDATION_FAILED'],
    ['days 91, over the configured grant length', { days: 91 }, 400, 'VALIDATION_FAILED'],
    ['days 1.5', { days: 1.5 }, 400, 'VALIDATION_FAILED'],
    ['days as text', { days: 'thirty' }, 400, 'VALIDATION_FAILED'],
    ['an unknown volume kind', { volumes: ['main', 'copy'] }, 400, 'VALIDATION_FAILED'],
    ['the sub-volume alone', { volumes: ['sub'] }, 400, 'VALIDATION_FAILED'],
    ['no volume', { volumes: [] }, 400, 'VALIDATION_FAILED'],
    ['a volume twice', { volumes: ['main', 'main'] }, 400, 'VALIDATION_FAILED'],
    ['a member of another organisation', { members: ['li.na', '230103/li.na'] }, 400, 'VALIDATION_FAILED'],
    ['a member of a court', { members: ['黑01/admin.hrb'] }, 400, 'VALIDATION_FAILED'],
    ['an unknown field', { approvedBy: 'chen.jie' }, 400, 'VALIDATION_FAILED'],
  ]
  for (const [name, change, status, code] of attempts) {
    const response = await prosecutor.post('/v1/grants', { ...body, ...change })
    t.equal(response.status, status, `${name}: ${response.text}`)
    t.equal(response.headers['content-type'], PROBLEM, name)
    t.equal(response.json.code, code, name)
  }
  t.equal(await count(), 0, 'no grant was opened')
  const foreign = await prosecutor.post('/v1/grants', { ...body, members: ['230103/li.na'] })
  t.equal(foreign.json.member, '230103/li.na', 'the problem names the member')
  t.match(foreign.json.detail, /230103/)
  const denials = await entriesOf(h, 'action=grant.create&decision=deny')
  t.ok(
    denials.some((i) => i.entry.reason === 'VALIDATION_FAILED'),
    'refused members are logged',
  )

  // One open grant per person, case and supervision case.
  const first = await open(h, body)
  const second = await prosecutor.post('/v1/grants', body)
  t.equal(second.status, 409)
  t.equal(second.json.code, 'DUPLICATE_GRANT')
  t.equal(second.json.grant, first.id, 'the open grant is named')
  const pendingTwin = await prosecutor.post('/v1/grants', { ...body, volumes: ['main', 'sub'] })
  t.equal(pendingTwin.json.code, 'DUPLICATE_GRANT', 'whatever the volumes')
  t.equal(await count(), 1)
  // Another supervision case, or another person, is another grant.
  t.equal((await open(h, { ...body, supervisionCase: 'B-2' })).status, 'active')
  t.equal((await open(h, body, 'colleague')).status, 'active')
  t.equal((await open(h, body, 'otherProsecutor')).status, 'active')
  // Twins sent at once (a double click) open one grant, although each waits for the court's answer.
  const twins = await Promise.all(
    Array.from({ length: 5 }, () => prosecutor.post('/v1/grants', { ...body, supervisionCase: 'B-3' })),
  )
  t.same(twins.map((r) => r.status).sort(), [201, 409, 409, 409, 409], twins.map((r) => r.text).join('\n'))
  t.ok(twins.filter((r) => r.status === 409).every((r) => r.json.code === 'DUPLICATE_GRANT'))
  // Once the first is revoked, it can be opened again.
  t.equal((await prosecutor.post(`/v1/grants/${first.id}/revoke`, {})).status, 200)
  t.equal((await open(h, body)).status, 'active')
})

t.test("object-level checks: nobody sees or uses another person's grant unless a member", async (t) => {
  const { h } = await setup(t)
  const grant = await open(h)
  const id = grant.id

  // A colleague of the same procuratorate who is not a member does not know of the grant: what it lists.
  const colleague = as(h, 'colleague')
  await refused(t, h, await colleague.get(`/v1/grants/${id}`), 404, 'NOT_FOUND')
  await refused(t, h, await colleague.get(`/v1/grants/${id}/documents/main-01-appeal`), 404, 'NOT_FOUND')
  await refused(t, h, await colleague.get(`/v1/grants/${id}/volumes`), 404, 'NOT_FOUND')
  t.same((await colleague.get('/v1/grants')).json.items, [], 'nothing listed')
  // The approvers of the procuratorate see its grants; they read nothing through them.
  t.equal((await as(h, 'approver').get(`/v1/grants/${id}`)).status, 200)
  t.same(
    ((await as(h, 'approver').get('/v1/grants')).json.items as Array<{ id: string }>).map((g) => g.id),
    [id],
  )
  await refused(t, h, await as(h, 'approver').get(`/v1/grants/${id}/documents/main-01-appeal`), 403, 'FORBIDDEN')

  // Another procuratorate: its prosecutor and its approver see nothing, like an unknown id.
  for (const person of ['otherProsecutor', 'approver0103'] as const) {
    const seen = await as(h, person).get(`/v1/grants/${id}`)
    const unknown = await as(h, person).get(`/v1/grants/${UNKNOWN}`)
    await refused(t, h, seen, 404, 'NOT_FOUND')
    t.same(
      { ...seen.json, instance: undefined },
      { ...unknown.json, instance: undefined },
      `${person}: like an unknown id`,
    )
    t.same((await as(h, person).get('/v1/grants')).json.items, [], `${person} lists nothing`)
  }

  // Nobody outside a procuratorate holds, sees or uses grants, and the operator reads no files.
  for (const person of ['operator', 'courtAdmin', 'auditor', 'courtAuditor'] as const) {
    const who = as(h, person)
    await refused(t, h, await who.get('/v1/grants'), 403, 'FORBIDDEN')
    await refused(t, h, await who.get(`/v1/grants/${id}`), 403, 'FORBIDDEN')
    for (const path of ['case', 'volumes', 'documents/main-01-appeal']) {
      await refused(t, h, await who.get(`/v1/grants/${id}/${path}`), 403, 'FORBIDDEN')
    }
    const opened = await who.post('/v1/grants', {
      court: '黑01',
      caseNo: CASE,
      supervisionCase: 'X',
      volumes: ['main'],
      reason: 'r',
    })
    await refused(t, h, opened, 403, 'FORBIDDEN')
  }
  t.equal((await snapshot(h, id)).status, 'active')
})

t.test("a court-admin only touches its own court's adapter", async (t) => {
  const { h, adapterId } = await setup(t)
  const nangang = as(h, 'courtAdmin0103')
  const court = await startAdapter(t, h.url)
  const before = await as(h, 'courtAdmin').get(`/v1/adapters/${adapterId}`)
  t.equal(before.status, 200)

  await refused(t, h, await nangang.post('/v1/adapters', { court: '黑01', baseUrl: court.url }), 403, 'FORBIDDEN')
  // Covering its superior court is no way round it either.
  await refused(
    t,
    h,
    await nangang.post('/v1/adapters', { court: '黑0103', baseUrl: court.url, covers: ['黑01'] }),
    403,
    'OUT_OF_JURISDICTION',
  )
  await refused(t, h, await nangang.get(`/v1/adapters/${adapterId}`), 404, 'NOT_FOUND')
  t.same((await nangang.get('/v1/adapters')).json.items, [], "another court's adapters are not listed")
  await refused(t, h, await nangang.post(`/v1/adapters/${adapterId}/suspend`), 403, 'FORBIDDEN')
  await refused(t, h, await as(h, 'courtAdmin').post(`/v1/adapters/${adapterId}/suspend`), 403, 'FORBIDDEN')
  t.same((await as(h, 'courtAdmin').get(`/v1/adapters/${adapterId}`)).json, before.json, 'the adapter is unchanged')

  // Its own court works.
  const own = await nangang.post('/v1/adapters', { court: '黑0103', baseUrl: court.url })
  t.equal(own.status, 201, own.text)
  t.equal(own.json.status, 'pending')
})
