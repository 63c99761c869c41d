import t, { type Test } from 'tap'
import {
  type Harness,
  type Person,
  PEOPLE,
  type SeenRequest,
  startAdapter,
  startGateway,
  tokenOf,
} from '../helpers/harness.js'

// The shipped cases (examples/court-adapter/cases): a civil and an enforcement case at each of two courts.
const CIVIL_01 = '（2023）黑01民终1234号'
const EXECUTION_01 = '（2024）黑01执恢56号'
const CIVIL_0103 = '（2023）黑0103民初4567号'
const EXECUTION_0103 = '（2024）黑0103执789号'

async function register(
  h: Harness,
  admin: Person,
  body: { court: string; baseUrl: string; covers?: string[]; stores?: string[]; probeCase?: string },
) {
  return h.call('POST', '/v1/adapters', { token: tokenOf(h, admin), body })
}

const activate = (h: Harness, id: string) =>
  h.call('POST', `/v1/adapters/${id}/activate`, { token: tokenOf(h, 'operator') })
const suspend = (h: Harness, id: string) =>
  h.call('POST', `/v1/adapters/${id}/suspend`, { token: tokenOf(h, 'operator') })

/** Registers and activates; returns the id, failing the test with the answer when either step fails. */
async function registerActive(t: Test, h: Harness, admin: Person, body: Parameters<typeof register>[2]) {
  const created = await register(h, admin, body)
  t.equal(created.status, 201, created.text)
  const activated = await activate(h, created.json.id)
  t.equal(activated.status, 200, activated.text)
  return created.json.id as string
}

let supervision = 0
async function openGrant(h: Harness, court: string, caseNo: string) {
  return h.call('POST', '/v1/grants', {
    token: tokenOf(h, 'prosecutor'),
    body: {
      court,
      caseNo,
      supervisionCase: `哈检民监〔2024〕${++supervision}号`,
      volumes: ['main'],
      reason: '民事监督',
    },
  })
}

/** The case summary, the catalogue and one main-volume document, each of which goes to the court's adapter. */
async function readThrough(h: Harness, grantId: string) {
  const token = tokenOf(h, 'prosecutor')
  const summary = await h.call('GET', `/v1/grants/${grantId}/case`, { token })
  const volumes = await h.call('GET', `/v1/grants/${grantId}/volumes`, { token })
  const main = volumes.json?.volumes?.find((v: { kind: string }) => v.kind === 'main')
  const document = main
    ? await h.call('GET', `/v1/grants/${grantId}/documents/${main.documents[0].id}`, { token })
    : undefined
  return { summary, volumes, document }
}

const caseRequests = (seen: SeenRequest[], caseNo: string) =>
  seen.filter((r) => r.url.startsWith(`/v1/cases/${caseNo}`))

async function auditEntries(h: Harness, query: string) {
  const response = await h.call('GET', `/v1/audit/entries?${query}&limit=1000`, { token: tokenOf(h, 'auditor') })
  return response.json.items as Array<{ index: number; entry: any }>
}

async function courtsView(h: Harness) {
  const response = await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
  const byCode = new Map<string, { trial?: { id: string }; execution?: { id: string } }>()
  for (const court of response.json.items) byCode.set(court.code, court.adapters)
  return (code: string) => ({ trial: byCode.get(code)?.trial?.id, execution: byCode.get(code)?.execution?.id })
}

/**
 * Harbin intermediate court runs one trial system and one enforcement system for itself and for Nangang
 * district court (黑0103). Each activation probes a case of the adapter's own court, as conformance requires.
 */
async function harbinArea(t: Test) {
  const h = await startGateway(t)
  const trial = await startAdapter(t, h.url)
  const execution = await startAdapter(t, h.url)
  const trialId = await registerActive(t, h, 'courtAdmin', {
    court: '黑01',
    baseUrl: trial.url,
    covers: ['黑0103'],
    stores: ['trial'],
    probeCase: CIVIL_01,
  })
  const executionId = await registerActive(t, h, 'courtAdmin', {
    court: '黑01',
    baseUrl: execution.url,
    covers: ['黑0103'],
    stores: ['execution'],
    probeCase: EXECUTION_01,
  })
  return { h, trial, execution, trialId, executionId }
}

t.test(
  'a covering trial adapter and a separate enforcement adapter: reads routed by store, aud = the case court',
  async (t) => {
    const { h, trial, execution, trialId, executionId } = await harbinArea(t)
    // The conformance probes name the probe case's court, but for the one token meant to be refused for naming another.
    t.ok(trial.seen.length > 0 && execution.seen.length > 0)
    const probes = trial.seen.filter((r) => r.aud !== undefined && r.aud !== '黑01-not-this-court')
    t.ok(probes.length > 0 && probes.every((r) => r.aud === '黑01'), 'the trial probe is for 黑01')
    trial.seen.length = 0
    execution.seen.length = 0

    const civil = await openGrant(h, '黑0103', CIVIL_0103)
    t.equal(civil.status, 201, civil.text)
    const enforcement = await openGrant(h, '黑0103', EXECUTION_0103)
    t.equal(enforcement.status, 201, enforcement.text)

    const civilRead = await readThrough(h, civil.json.id)
    t.equal(civilRead.summary.status, 200, civilRead.summary.text)
    t.equal(civilRead.summary.json.court, '黑0103')
    t.equal(civilRead.document?.status, 200)
    const enforcementRead = await readThrough(h, enforcement.json.id)
    t.equal(enforcementRead.summary.status, 200, enforcementRead.summary.text)
    t.equal(enforcementRead.summary.json.caseType, '执')
    t.equal(enforcementRead.document?.status, 200)

    // Grant check (case) + summary + catalogue + catalogue again for the document's volume, at least; all of
    // them at the right adapter, none at the other.
    t.ok(caseRequests(trial.seen, CIVIL_0103).length >= 4, 'civil requests reach the trial adapter')
    t.same(caseRequests(trial.seen, EXECUTION_0103), [], 'no enforcement request reaches the trial adapter')
    t.ok(caseRequests(execution.seen, EXECUTION_0103).length >= 4, 'enforcement requests reach the enforcement adapter')
    t.same(caseRequests(execution.seen, CIVIL_0103), [], 'no civil request reaches the enforcement adapter')
    t.same(
      [...new Set([...trial.seen, ...execution.seen].map((r) => r.aud))],
      ['黑0103'],
      'every request names exactly 黑0103',
    )

    // The log names the adapter each read went to.
    const civilEntries = await auditEntries(h, `grant=${civil.json.id}&action=case.read`)
    t.ok(civilEntries.length > 0 && civilEntries.every((i) => i.entry.resource.adapter === trialId))
    const enforcementEntries = await auditEntries(h, `grant=${enforcement.json.id}&action=case.read`)
    t.ok(enforcementEntries.length > 0 && enforcementEntries.every((i) => i.entry.resource.adapter === executionId))

    // The intermediate court's own cases go to the same systems, with aud = 黑01.
    trial.seen.length = 0
    execution.seen.length = 0
    const own = await openGrant(h, '黑01', EXECUTION_01)
    t.equal(own.status, 201, own.text)
    t.equal(trial.seen.length, 0)
    t.same(
      execution.seen.map((r) => r.aud),
      ['黑01'],
    )
  },
)

t.test("precedence: a court's own adapter wins over the covering one, from the next read on", async (t) => {
  const { h, trial, execution, trialId, executionId } = await harbinArea(t)
  const civil = await openGrant(h, '黑0103', CIVIL_0103)
  t.equal(civil.status, 201, civil.text)

  const nangang = await startAdapter(t, h.url, ['黑0103'])
  const created = await register(h, 'courtAdmin0103', {
    court: '黑0103',
    baseUrl: nangang.url,
    stores: ['trial'],
    probeCase: CIVIL_0103,
  })
  t.equal(created.status, 201, created.text)
  t.same(created.json.covers, [])
  t.same(created.json.stores, ['trial'])
  t.equal(created.json.status, 'pending')

  // Pending: it serves nothing yet.
  trial.seen.length = 0
  t.equal((await readThrough(h, civil.json.id)).summary.status, 200)
  t.ok(caseRequests(trial.seen, CIVIL_0103).length > 0, 'a pending adapter does not take over')
  t.equal(caseRequests(nangang.seen, CIVIL_0103).length, 0)

  const activated = await activate(h, created.json.id)
  t.equal(activated.status, 200, activated.text)
  t.equal(activated.json.status, 'active')
  const ownId = created.json.id as string

  trial.seen.length = 0
  nangang.seen.length = 0
  const read = await readThrough(h, civil.json.id)
  t.equal(read.summary.status, 200, read.summary.text)
  t.equal(read.document?.status, 200)
  t.equal(trial.seen.length, 0, 'the covering adapter gets nothing any more')
  t.ok(caseRequests(nangang.seen, CIVIL_0103).length >= 3, "the court's own adapter serves the reads")
  t.same([...new Set(nangang.seen.map((r) => r.aud))], ['黑0103'])

  // The own adapter serves trial only: enforcement stays with the covering enforcement adapter.
  execution.seen.length = 0
  const enforcement = await openGrant(h, '黑0103', EXECUTION_0103)
  t.equal(enforcement.status, 201, enforcement.text)
  t.equal(caseRequests(execution.seen, EXECUTION_0103).length, 1)
  t.equal(caseRequests(nangang.seen, EXECUTION_0103).length, 0)

  const served = await courtsView(h)
  t.same(served('黑0103'), { trial: ownId, execution: executionId })
  t.same(served('黑01'), { trial: trialId, execution: executionId })

  // The activation's log entry says what changed hands.
  const [entry] = (await auditEntries(h, 'action=adapter.activate&decision=allow')).filter(
    (i) => i.entry.resource.adapter === ownId,
  )
  t.ok(entry, 'the activation is logged')
  t.same(entry!.entry.detail.takesOver, [{ store: 'trial', courts: ['黑0103'], from: trialId }])
})

t.test('409: two adapters of the same court and store at the same specificity cannot both be active', async (t) => {
  const { h, trialId } = await harbinArea(t)
  const second = await startAdapter(t, h.url)

  // Another Harbin trial system (it even covers another court): it clashes on 黑01's trial store.
  const clash = await register(h, 'courtAdmin', {
    court: '黑01',
    baseUrl: second.url,
    covers: ['黑0102'],
    stores: ['trial'],
    probeCase: CIVIL_01,
  })
  t.equal(clash.status, 201, clash.text)
  const refused = await activate(h, clash.json.id)
  t.equal(refused.status, 409)
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(refused.json.code, 'ADAPTER_CONFLICT')
  t.equal(refused.json.conflictsWith, trialId)
  t.match(refused.json.detail, trialId, 'the message names the other adapter')
  t.match(refused.json.detail, /trial store of court 黑01/)
  const after = await h.call('GET', `/v1/adapters/${clash.json.id}`, { token: tokenOf(h, 'operator') })
  t.equal(after.json.status, 'pending', 'the refused adapter stays as it was')

  const denials = await auditEntries(h, 'action=adapter.activate&decision=deny')
  t.ok(
    denials.some((i) => i.entry.reason === 'ADAPTER_CONFLICT' && i.entry.resource.adapter === clash.json.id),
    'the refusal is logged',
  )

  // Two own adapters of 黑0103 conflict the same way.
  const firstOwn = await registerActive(t, h, 'courtAdmin0103', {
    court: '黑0103',
    baseUrl: second.url,
    stores: ['trial'],
    probeCase: CIVIL_0103,
  })
  const secondOwn = await register(h, 'courtAdmin0103', { court: '黑0103', baseUrl: second.url, probeCase: CIVIL_0103 })
  const refusedOwn = await activate(h, secondOwn.json.id)
  t.equal(refusedOwn.status, 409)
  t.equal(refusedOwn.json.conflictsWith, firstOwn)
  t.equal(refusedOwn.json.court, '黑0103')
  t.equal(refusedOwn.json.store, 'trial')

  // Only active adapters conflict: once the first is suspended, the second may take its place.
  t.equal((await suspend(h, firstOwn)).status, 200)
  const replaced = await activate(h, secondOwn.json.id)
  t.equal(replaced.status, 200, replaced.text)
  t.equal((await courtsView(h))('黑0103').trial, secondOwn.json.id)
})

t.test('409 also between activations that run at the same time', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const created = await register(h, 'courtAdmin', {
      court: '黑01',
      baseUrl: court.url,
      stores: ['trial'],
      probeCase: CIVIL_01,
    })
    ids.push(created.json.id)
  }
  const answers = await Promise.all(ids.map((id) => activate(h, id)))
  t.same(answers.map((a) => a.status).sort(), [200, 409, 409], answers.map((a) => a.text).join('\n'))
  const list = await h.call('GET', '/v1/adapters', { token: tokenOf(h, 'operator') })
  t.equal(list.json.items.filter((a: { status: string }) => a.status === 'active').length, 1)
})

t.test('suspension hands the reads back to the covering adapter, and the log records the hand-over', async (t) => {
  const { h, trial, trialId } = await harbinArea(t)
  const nangang = await startAdapter(t, h.url, ['黑0103'])
  const ownId = await registerActive(t, h, 'courtAdmin0103', {
    court: '黑0103',
    baseUrl: nangang.url,
    stores: ['trial'],
    probeCase: CIVIL_0103,
  })
  const civil = await openGrant(h, '黑0103', CIVIL_0103)
  t.equal(civil.status, 201, civil.text)
  t.ok(caseRequests(nangang.seen, CIVIL_0103).length > 0)

  const suspended = await suspend(h, ownId)
  t.equal(suspended.status, 200, suspended.text)
  t.equal(suspended.json.status, 'suspended')
  t.ok(suspended.json.suspendedAt)

  trial.seen.length = 0
  nangang.seen.length = 0
  const read = await readThrough(h, civil.json.id)
  t.equal(read.summary.status, 200, read.summary.text)
  t.equal(read.document?.status, 200)
  t.equal(nangang.seen.length, 0, 'the suspended adapter gets nothing')
  t.ok(caseRequests(trial.seen, CIVIL_0103).length >= 3, 'the covering adapter serves again')
  t.same([...new Set(trial.seen.map((r) => r.aud))], ['黑0103'])
  t.equal((await courtsView(h))('黑0103').trial, trialId)

  const entries = await auditEntries(h, 'action=adapter.suspend')
  t.equal(entries.length, 1)
  const entry = entries[0]!.entry
  t.equal(entry.decision, 'allow')
  t.equal(entry.actor.sub, PEOPLE.operator.sub)
  t.same(entry.resource, { court: '黑0103', adapter: ownId })
  t.equal(entry.detail.from, 'active')
  t.same(entry.detail.handedTo, [{ store: 'trial', courts: ['黑0103'], adapter: trialId }])

  // Suspending the covering trial adapter too leaves a gap, which the log records as such; reads answer 503.
  const gap = await suspend(h, trialId)
  t.equal(gap.status, 200)
  const gapEntry = (await auditEntries(h, 'action=adapter.suspend')).find(
    (i) => i.entry.resource.adapter === trialId,
  )!.entry
  t.same(gapEntry.detail.handedTo, [{ store: 'trial', courts: ['黑01', '黑0103'] }])
  const unavailable = await h.call('GET', `/v1/grants/${civil.json.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(unavailable.status, 503)
  t.equal(unavailable.json.code, 'ADAPTER_UNAVAILABLE')
  t.match(unavailable.json.detail, /trial store of court 黑0103/)
})

t.test('GET /v1/courts shows per court and store which adapter serves it, or none', async (t) => {
  const h = await startGateway(t)
  let served = await courtsView(h)
  t.same(served('黑0103'), { trial: undefined, execution: undefined }, 'nothing before any adapter')

  const { url } = await startAdapter(t, h.url)
  const trialId = await registerActive(t, h, 'courtAdmin', {
    court: '黑01',
    baseUrl: url,
    covers: ['黑0103'],
    stores: ['trial'],
    probeCase: CIVIL_01,
  })
  const pendingExecution = await register(h, 'courtAdmin', {
    court: '黑01',
    baseUrl: url,
    covers: ['黑0103'],
    stores: ['execution'],
    probeCase: EXECUTION_01,
  })
  t.equal(pendingExecution.status, 201)

  const response = await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
  t.equal(response.status, 200)
  const nangang = response.json.items.find((c: { code: string }) => c.code === '黑0103')
  t.same(nangang.adapters, { trial: { id: trialId, status: 'active' } }, 'a store without an adapter is absent')
  t.equal(nangang.name, '黑龙江省哈尔滨市南岗区人民法院')
  served = await courtsView(h)
  t.same(served('黑01'), { trial: trialId, execution: undefined })
  t.same(served('黑0102'), { trial: undefined, execution: undefined }, 'a court the adapter does not cover')
  t.same(served('黑'), { trial: undefined, execution: undefined }, 'the court above is not served by a lower one')
  t.same(served('黑02'), { trial: undefined, execution: undefined })
})

t.test('503 ADAPTER_UNAVAILABLE names the court and the store when nothing serves them', async (t) => {
  const h = await startGateway(t)
  const none = await openGrant(h, '黑0103', CIVIL_0103)
  t.equal(none.status, 503, none.text)
  t.equal(none.json.code, 'ADAPTER_UNAVAILABLE')
  t.match(none.json.detail, /黑0103/)
  t.match(none.json.detail, /trial/)
  t.equal(none.json.court, '黑0103')
  t.equal(none.json.store, 'trial')

  // A trial adapter alone leaves the enforcement store unserved.
  const { url } = await startAdapter(t, h.url)
  await registerActive(t, h, 'courtAdmin', {
    court: '黑01',
    baseUrl: url,
    covers: ['黑0103'],
    stores: ['trial'],
    probeCase: CIVIL_01,
  })
  t.equal((await openGrant(h, '黑0103', CIVIL_0103)).status, 201)
  const enforcement = await openGrant(h, '黑0103', EXECUTION_0103)
  t.equal(enforcement.status, 503)
  t.equal(enforcement.json.code, 'ADAPTER_UNAVAILABLE')
  t.match(enforcement.json.detail, /execution store of court 黑0103/)
  t.equal(enforcement.json.store, 'execution')

  // A court nobody covers.
  const daoli = await openGrant(h, '黑0102', '（2023）黑0102民初1号')
  t.equal(daoli.status, 503)
  t.match(daoli.json.detail, /trial store of court 黑0102/)

  const denials = await auditEntries(h, 'action=grant.create&decision=deny')
  t.equal(denials.filter((i) => i.entry.reason === 'ADAPTER_UNAVAILABLE').length, 3, 'each refusal is logged')
})

t.test('coverage outside the jurisdiction is refused with 403, and nothing is registered', async (t) => {
  const h = await startGateway(t)
  const { url } = await startAdapter(t, h.url)
  const refusals: Array<[string, Person, { court: string; covers?: string[] }, string]> = [
    [
      '黑01 covering a sibling intermediate court',
      'courtAdmin',
      { court: '黑01', covers: ['黑02'] },
      'OUT_OF_JURISDICTION',
    ],
    ['黑01 covering the high court above it', 'courtAdmin', { court: '黑01', covers: ['黑'] }, 'OUT_OF_JURISDICTION'],
    [
      '黑01 covering a basic court of another city',
      'courtAdmin',
      { court: '黑01', covers: ['黑0103', '黑0202'] },
      'OUT_OF_JURISDICTION',
    ],
    ['黑0103 registering for 黑01', 'courtAdmin0103', { court: '黑01' }, 'FORBIDDEN'],
    [
      '黑0103 covering the court above it',
      'courtAdmin0103',
      { court: '黑0103', covers: ['黑01'] },
      'OUT_OF_JURISDICTION',
    ],
    ['a prosecutor registering at all', 'prosecutor', { court: '黑01' }, 'FORBIDDEN'],
  ]
  for (const [name, admin, body, code] of refusals) {
    const response = await register(h, admin, { ...body, baseUrl: url, probeCase: CIVIL_01 })
    t.equal(response.status, 403, `${name}: ${response.text}`)
    t.equal(response.json?.code, code, name)
  }
  const list = await h.call('GET', '/v1/adapters', { token: tokenOf(h, 'operator') })
  t.same(list.json.items, [], 'nothing was registered')
  const denials = await auditEntries(h, 'action=adapter.register&decision=deny')
  t.equal(denials.length, refusals.length, 'every refusal is logged')

  // The same court-admin within the jurisdiction: both basic courts of Harbin.
  const allowed = await register(h, 'courtAdmin', {
    court: '黑01',
    baseUrl: url,
    covers: ['黑0102', '黑0103'],
    probeCase: CIVIL_01,
  })
  t.equal(allowed.status, 201, allowed.text)
  t.same(allowed.json.stores, ['trial', 'execution'], 'both stores by default')
})

t.test('adapters are visible to operators and to the court-admins of their court only', async (t) => {
  const { h, trialId, executionId } = await harbinArea(t)
  const { url } = await startAdapter(t, h.url, ['黑0103'])
  const ownId = (await register(h, 'courtAdmin0103', { court: '黑0103', baseUrl: url, probeCase: CIVIL_0103 })).json.id

  const ids = async (person: Person) =>
    ((await h.call('GET', '/v1/adapters', { token: tokenOf(h, person) })).json.items as Array<{ id: string }>)
      .map((a) => a.id)
      .sort()
  t.same(await ids('operator'), [trialId, executionId, ownId].sort())
  t.same(await ids('courtAdmin'), [trialId, executionId].sort())
  t.same(await ids('courtAdmin0103'), [ownId])
  const prosecutor = await h.call('GET', '/v1/adapters', { token: tokenOf(h, 'prosecutor') })
  t.equal(prosecutor.status, 403)

  t.equal((await h.call('GET', `/v1/adapters/${ownId}`, { token: tokenOf(h, 'courtAdmin0103') })).status, 200)
  t.equal((await h.call('GET', `/v1/adapters/${trialId}`, { token: tokenOf(h, 'operator') })).status, 200)
  const other = await h.call('GET', `/v1/adapters/${trialId}`, { token: tokenOf(h, 'courtAdmin0103') })
  t.equal(other.status, 404, "another court's adapter is not disclosed")
  t.equal((await h.call('GET', `/v1/adapters/${trialId}`, { token: tokenOf(h, 'prosecutor') })).status, 403)
})

t.test('every change is logged: registration, activation, refusal, suspension', async (t) => {
  const { h, trialId, executionId } = await harbinArea(t)
  const { url } = await startAdapter(t, h.url, ['黑0103'])
  const ownId = await registerActive(t, h, 'courtAdmin0103', {
    court: '黑0103',
    baseUrl: url,
    stores: ['trial'],
    probeCase: CIVIL_0103,
  })
  t.equal((await suspend(h, ownId)).status, 200)
  const again = await activate(h, trialId)
  t.equal(again.status, 200, 're-activating an active adapter is no conflict with itself')
  // A court-admin may not suspend; that refusal is logged too.
  const notOperator = await h.call('POST', `/v1/adapters/${executionId}/suspend`, { token: tokenOf(h, 'courtAdmin') })
  t.equal(notOperator.status, 403)

  const registrations = await auditEntries(h, 'action=adapter.register')
  t.same(
    registrations.map((i) => [
      i.entry.resource.adapter,
      i.entry.actor.sub,
      i.entry.detail.covers,
      i.entry.detail.stores,
    ]),
    [
      [trialId, PEOPLE.courtAdmin.sub, ['黑0103'], ['trial']],
      [executionId, PEOPLE.courtAdmin.sub, ['黑0103'], ['execution']],
      [ownId, PEOPLE.courtAdmin0103.sub, [], ['trial']],
    ],
  )
  const activations = await auditEntries(h, 'action=adapter.activate&decision=allow')
  t.same(
    activations.map((i) => i.entry.resource.adapter),
    [trialId, executionId, ownId, trialId],
  )
  t.ok(activations.every((i) => i.entry.actor.sub === PEOPLE.operator.sub && i.entry.phase === 'event'))
  t.same(
    activations[0]!.entry.detail.takesOver,
    [{ store: 'trial', courts: ['黑01', '黑0103'] }],
    'the first activation takes over from nobody',
  )
  const suspensions = await auditEntries(h, 'action=adapter.suspend')
  t.same(
    suspensions.map((i) => [i.entry.resource.adapter, i.entry.decision, i.entry.reason]),
    [
      [ownId, 'allow', undefined],
      [executionId, 'deny', 'FORBIDDEN'],
    ],
  )
})
