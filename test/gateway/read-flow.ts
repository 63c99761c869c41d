import { createHash } from 'node:crypto'
import t from 'tap'
import {
  eventually,
  PEOPLE,
  registerAdapter,
  startAdapter,
  startGateway,
  tokenOf,
  openGrant,
} from '../helpers/harness.js'

const CASE = '（2023）黑01民终1234号'

t.test('a court registers, an operator activates, a prosecutor reads a main-volume document, all logged', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)

  const courts = await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
  t.equal(courts.status, 200)
  const harbin = courts.json.items.find((c: { code: string }) => c.code === '黑01')
  t.equal(harbin.adapters.trial.id, adapterId, 'the court shows its serving adapter')

  const prosecutor = tokenOf(h, 'prosecutor')
  const created = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: {
      court: '黑01',
      caseNo: '(2023)黑01民终1234号',
      supervisionCase: '哈检民监〔2024〕12号',
      volumes: ['main'],
      reason: '民事生效裁判监督',
    },
  })
  t.equal(created.status, 201, created.text)
  t.equal(created.json.status, 'active')
  t.equal(created.json.caseNo, CASE, 'half-width parentheses are normalised')
  const grantId = created.json.id as string
  const days = (Date.parse(created.json.expiresAt) - Date.parse(created.json.createdAt)) / 86_400_000
  t.equal(days, 90)

  const summary = await h.call('GET', `/v1/grants/${grantId}/case`, { token: prosecutor })
  t.equal(summary.status, 200, summary.text)
  t.equal(summary.json.caseNo, CASE)
  t.equal(summary.headers['cache-control'], 'no-store')

  const volumes = await h.call('GET', `/v1/grants/${grantId}/volumes`, { token: prosecutor })
  t.equal(volumes.status, 200)
  const main = volumes.json.volumes.find((v: { kind: string }) => v.kind === 'main')
  const sub = volumes.json.volumes.find((v: { kind: string }) => v.kind === 'sub')
  t.ok(main.documents.length > 0)
  t.same(Object.keys(sub).sort(), ['id', 'kind', 'restricted', 'title'], 'the sub-volume lists no documents')
  t.equal(sub.restricted, true)
  t.notMatch(volumes.text, /合议庭评议笔录/, 'no sub-volume document title leaks')

  const doc = main.documents[0]
  const read = await h.call('GET', `/v1/grants/${grantId}/documents/${doc.id}`, { token: prosecutor })
  t.equal(read.status, 200, read.text)
  t.equal(read.headers['content-type'], 'application/pdf')
  t.equal(read.headers['cache-control'], 'no-store')
  t.equal(read.bytes.subarray(0, 5).toString(), '%PDF-')
  const sha = createHash('sha256').update(read.bytes).digest()
  t.equal(sha.toString('hex'), doc.sha256)
  t.equal(read.headers['repr-digest'], `sha-256=:${sha.toString('base64')}:`)
  const intentIndex = Number(read.headers['access-log-index'])
  t.ok(Number.isInteger(intentIndex))

  const ranged = await h.call('GET', `/v1/grants/${grantId}/documents/${doc.id}`, {
    token: prosecutor,
    headers: { range: 'bytes=0-9' },
  })
  t.equal(ranged.status, 206)
  t.equal(ranged.bytes.length, 10)
  t.match(ranged.headers['content-range'], /^bytes 0-9\//)

  const subDoc = await h.call('GET', `/v1/grants/${grantId}/documents/sub-02-deliberation`, { token: prosecutor })
  t.equal(subDoc.status, 403)
  t.equal(subDoc.json.code, 'SUB_VOLUME_NOT_APPROVED')

  // The log: intent before the read, outcome after with bytes and digest, a deny for the sub-volume.
  // The outcome is appended when the stream ends, just after the client has the last byte.
  const auditor = tokenOf(h, 'auditor')
  const items = await eventually(async () => {
    const entries = await h.call('GET', `/v1/audit/entries?grant=${grantId}&limit=1000`, { token: auditor })
    const found = entries.json.items as Array<{ index: number; entry: any }>
    return found.some((i) => i.entry.intent === intentIndex) ? found : undefined
  })
  const intent = items.find((i) => i.index === intentIndex)!
  t.equal(intent.entry.phase, 'intent')
  t.equal(intent.entry.action, 'document.read')
  t.equal(intent.entry.actor.sub, PEOPLE.prosecutor.sub)
  t.equal(intent.entry.purpose.supervisionCase, '哈检民监〔2024〕12号')
  const outcome = items.find((i) => i.entry.intent === intentIndex)!
  t.equal(outcome.entry.outcome.result, 'completed')
  t.equal(outcome.entry.outcome.bytes, read.bytes.length)
  t.equal(outcome.entry.outcome.sha256, doc.sha256)
  t.ok(items.some((i) => i.entry.reason === 'SUB_VOLUME_NOT_APPROVED' && i.entry.decision === 'deny'))
  const adapterEvents = await h.call('GET', `/v1/audit/entries?action=adapter.activate`, { token: auditor })
  t.equal(adapterEvents.json.items.length, 1, 'the activation is logged')
})

t.test('only the grant creator reads through it; the operator reads no files', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const { id } = await openGrant(h)
  // Prosecutors who may not know of the grant are told it does not exist; roles that read no files are refused
  // by role, which says nothing about the grant.
  const expected = { colleague: 404, otherProsecutor: 404, operator: 403, courtAdmin: 403 } as const
  for (const [person, status] of Object.entries(expected) as Array<[keyof typeof expected, number]>) {
    const response = await h.call('GET', `/v1/grants/${id}/documents/main-01-appeal`, { token: tokenOf(h, person) })
    t.equal(response.status, status, `${person} is refused`)
    t.equal(response.json?.code, status === 404 ? 'NOT_FOUND' : 'FORBIDDEN', person)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
})
