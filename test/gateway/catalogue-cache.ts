import { join } from 'node:path'
import t, { type Test } from 'tap'
import { CatalogueCache } from '../../src/files/catalogue-cache.js'
import type { Adapter } from '../../src/adapters/types.js'
import { startHostileCourt } from '../helpers/hostile-court.js'
import {
  eventually,
  type Harness,
  openGrant,
  registerAdapter,
  type SeenRequest,
  startAdapter,
  startGateway,
  testClock,
  tokenOf,
} from '../helpers/harness.js'

/**
 * The catalogue cache (docs/courts.md#catalogue-cache): a document read within the catalogue's lifetime makes
 * one court request; afterwards the catalogue is revalidated with If-None-Match; a kept catalogue never lets
 * a read through that the court's current one would refuse; every read still has one intent and one outcome.
 */

const CASE = '（2023）黑01民终1234号'
const TTL = 5000
const catalogueUrl = (caseNo: string) => `/v1/cases/${caseNo}/volumes`
const documentUrl = (caseNo: string, id: string) => `/v1/cases/${caseNo}/documents/${id}`

/** The court requests of one step: what `seen` gained while `step` ran. */
async function during(seen: SeenRequest[], step: () => Promise<unknown>): Promise<SeenRequest[]> {
  const before = seen.length
  await step()
  return seen.slice(before)
}

/** The intent and outcome entries of one read, once its outcome is in the log. */
async function entriesOf(h: Harness, grant: string, requestId: string) {
  return eventually(async () => {
    const page = await h.call('GET', `/v1/audit/entries?grant=${grant}&limit=1000`, { token: tokenOf(h, 'auditor') })
    const mine = (page.json.items as Array<{ entry: any }>)
      .map((item) => item.entry)
      .filter((entry) => entry.requestId === requestId)
    return mine.some((entry) => entry.phase === 'outcome') ? mine : undefined
  })
}

async function oneIntentOneOutcome(t: Test, h: Harness, grant: string, requestId: string) {
  const entries = await entriesOf(h, grant, requestId)
  t.equal(entries.filter((e) => e.phase === 'intent').length, 1, 'one intent')
  const outcomes = entries.filter((e) => e.phase === 'outcome')
  t.equal(outcomes.length, 1, 'one outcome')
  return outcomes[0]
}

t.test('within its lifetime a document read makes one court request; afterwards a 304 revalidates', async (t) => {
  const clock = testClock()
  const h = await startGateway(t, {}, undefined, { now: clock.now })
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const read = (id: string) => h.call('GET', `/v1/grants/${grant.id}/documents/${id}`, { token: prosecutor })

  let answer: Awaited<ReturnType<typeof read>> | undefined
  const first = await during(court.seen, async () => (answer = await read('main-01-appeal')))
  t.equal(answer!.status, 200)
  t.same(
    first.map((r) => [r.url, r.ifNoneMatch, r.status]),
    [
      [catalogueUrl(CASE), undefined, 200],
      [documentUrl(CASE, 'main-01-appeal'), undefined, 200],
    ],
    'the first read asks for the catalogue and the document',
  )

  clock.advance(TTL - 1)
  const second = await during(court.seen, async () => (answer = await read('main-05-judgment')))
  t.equal(answer!.status, 200)
  t.same(
    second.map((r) => r.url),
    [documentUrl(CASE, 'main-05-judgment')],
    'within the lifetime: the document only, no catalogue request',
  )
  const outcome = await oneIntentOneOutcome(t, h, grant.id, answer!.headers['x-request-id'] as string)
  t.equal(outcome.outcome.result, 'completed')
  t.equal(outcome.resource.volume, 'main', 'the volume is logged as before')

  clock.advance(1)
  const third = await during(court.seen, async () => (answer = await read('main-02-answer')))
  t.equal(answer!.status, 200)
  t.equal(third.length, 2)
  t.equal(third[0]!.url, catalogueUrl(CASE))
  t.match(third[0]!.ifNoneMatch, /^"[0-9a-f]{64}"$/, 'after the lifetime: asked with If-None-Match')
  t.equal(third[0]!.status, 304, 'and the unchanged catalogue is not sent again')
  t.equal(third[1]!.url, documentUrl(CASE, 'main-02-answer'))

  const fourth = await during(court.seen, async () => (answer = await read('main-03-evidence')))
  t.equal(fourth.length, 1, 'the 304 kept the catalogue for another lifetime')

  // A catalogue read always asks the court (its own audit trail sees it), conditionally: 304, same answer.
  let listing: Awaited<ReturnType<typeof read>> | undefined
  const listed = await during(court.seen, async () => {
    listing = await h.call('GET', `/v1/grants/${grant.id}/volumes`, { token: prosecutor })
  })
  t.equal(listing!.status, 200)
  t.same(
    listed.map((r) => [r.url, r.status]),
    [[catalogueUrl(CASE), 304]],
  )
  t.ok(listing!.json.volumes.find((v: { kind: string }) => v.kind === 'main').documents.length > 0)
  t.equal(listing!.json.volumes.find((v: { kind: string }) => v.kind === 'sub').restricted, true)

  // A sub-volume document through a main-only grant is refused from the kept catalogue only after the court
  // confirmed it: the refusal is never a stale one.
  const sub = await during(court.seen, async () => (answer = await read('sub-02-deliberation')))
  t.equal(answer!.status, 403)
  t.equal(answer!.json.code, 'SUB_VOLUME_NOT_APPROVED')
  t.same(
    sub.map((r) => [r.url, r.status]),
    [[catalogueUrl(CASE), 304]],
    'one revalidation, no document request',
  )
  const refused = await oneIntentOneOutcome(t, h, grant.id, answer!.headers['x-request-id'] as string)
  t.equal(refused.reason, 'SUB_VOLUME_NOT_APPROVED')

  const missing = await during(court.seen, async () => (answer = await read('main-99-nothing')))
  t.equal(answer!.status, 404)
  t.same(
    missing.map((r) => r.url),
    [catalogueUrl(CASE)],
    'a document missing from the kept catalogue: one revalidation before 404',
  )
  await oneIntentOneOutcome(t, h, grant.id, answer!.headers['x-request-id'] as string)
})

t.test('a kept catalogue never widens a read: a document moved to the sub-volume is refused', async (t) => {
  const { h, clock, court, grant, read } = await hostileCourtWithGrant(t)
  court.setCatalogueTagging('etag')

  t.equal((await read()).status, 200)
  t.equal((await read()).status, 200)
  t.equal(court.catalogueRequests.length, 1, 'the second read used the kept catalogue')
  t.equal(court.requests.length, 2)

  // The court moves the document to the sub-volume; the gateway's kept catalogue still says main.
  court.setCatalogue((c) => {
    const main = c.volumes[0]!
    const honest = main.documents.filter((d) => d.id === 'honest')
    return {
      ...c,
      volumes: [
        { ...main, documents: main.documents.filter((d) => d.id !== 'honest') },
        { id: 'sub', kind: 'sub', title: '副卷', documents: honest },
      ],
    }
  })
  court.setVolumeKind('sub')
  const moved = await read()
  t.equal(moved.status, 403, 'refused, as the court’s current catalogue decides')
  t.equal(moved.json.code, 'SUB_VOLUME_NOT_APPROVED')
  t.match(moved.headers['content-type'], /^application\/problem\+json/)
  t.equal(court.requests.length, 3, 'the document answer naming the sub-volume was dropped unread')
  t.same(
    court.catalogueRequests.slice(1).map((r) => r.status),
    [200],
    'one revalidation, which found the changed catalogue',
  )
  const outcome = await oneIntentOneOutcome(t, h, grant.id, moved.headers['x-request-id'] as string)
  t.equal(outcome.reason, 'SUB_VOLUME_NOT_APPROVED')
  t.equal(outcome.resource.volume, 'sub')

  // A court that names no volume: a kept catalogue cannot be confirmed, so a main-only read asks for it first.
  court.setCatalogue(undefined)
  court.setVolumeKind(undefined)
  clock.advance(TTL)
  t.equal((await read()).status, 200)
  const before = court.catalogueRequests.length
  const again = await read()
  t.equal(again.status, 200)
  t.equal(court.catalogueRequests.length, before + 1, 'revalidated before the read')
  t.equal(court.catalogueRequests.at(-1)!.status, 304)
})

t.test('a court without ETag works, by lifetime; hostile tagging is refused and logged', async (t) => {
  const { h, clock, court, grant, read } = await hostileCourtWithGrant(t)

  t.equal((await read()).status, 200)
  t.equal((await read()).status, 200)
  t.same(
    court.catalogueRequests.map((r) => [r.ifNoneMatch, r.status]),
    [[undefined, 200]],
    'no ETag: kept for its lifetime',
  )
  clock.advance(TTL)
  t.equal((await read()).status, 200)
  t.same(
    court.catalogueRequests.map((r) => [r.ifNoneMatch, r.status]),
    [
      [undefined, 200],
      [undefined, 200],
    ],
    'then fetched again whole, never asked conditionally',
  )

  for (const tagging of ['always-304', 'garbage-etag'] as const) {
    // Past the lifetime of a catalogue kept without an ETag: the next request for it is unconditional.
    clock.advance(TTL)
    court.setCatalogueTagging(tagging)
    const answer = await read()
    t.equal(answer.status, 502, `${tagging}: 502`)
    t.equal(answer.json.code, 'ADAPTER_BAD_RESPONSE')
    t.match(answer.headers['content-type'], /^application\/problem\+json/)
    t.equal(court.catalogueRequests.at(-1)!.ifNoneMatch, undefined, `${tagging}: the request was unconditional`)
    const outcome = await oneIntentOneOutcome(t, h, grant.id, answer.headers['x-request-id'] as string)
    t.equal(outcome.outcome.result, 'failed', `${tagging}: logged as failed`)
    t.equal(outcome.reason, 'ADAPTER_BAD_RESPONSE')
    court.setCatalogueTagging('none')
  }
  t.equal(court.requests.length, 3, 'no document was asked for after a refused catalogue')
})

t.test('suspending an adapter drops its catalogues at once; the cache is bounded', async (t) => {
  const clock = testClock()
  const dir = t.testdir()
  const adapters = {
    allowHttp: true,
    allowedNetworks: ['127.0.0.0/8'],
    timeoutMs: 2000,
    signingKeyFile: join(dir, 'adapter.pem'),
    catalogueCache: { maxEntries: 1 },
  }
  const h = await startGateway(t, { adapters }, dir, { now: clock.now })
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  const civil = await openGrant(h)
  const enforcement = await openGrant(h, 'prosecutor', { caseNo: '（2024）黑01执恢56号' })
  const prosecutor = tokenOf(h, 'prosecutor')
  const read = (grant: string, id: string) =>
    h.call('GET', `/v1/grants/${grant}/documents/${id}`, { token: prosecutor })

  t.equal((await read(civil.id, 'main-01-appeal')).status, 200)
  t.same(
    (await during(court.seen, () => read(civil.id, 'main-02-answer'))).map((r) => r.url),
    [documentUrl(CASE, 'main-02-answer')],
  )
  // A second case with room for one catalogue: the first case's is dropped.
  t.equal((await read(enforcement.id, 'main-01-application')).status, 200)
  const evicted = await during(court.seen, () => read(civil.id, 'main-02-answer'))
  t.same(
    evicted.map((r) => [r.url, r.ifNoneMatch]),
    [
      [catalogueUrl(CASE), undefined],
      [documentUrl(CASE, 'main-02-answer'), undefined],
    ],
    'the dropped catalogue is fetched again, unconditionally',
  )

  const operator = tokenOf(h, 'operator')
  const suspended = await h.call('POST', `/v1/adapters/${adapterId}/suspend`, {
    token: operator,
    body: { reason: 'x' },
  })
  t.equal(suspended.status, 200)
  const refused = await read(civil.id, 'main-02-answer')
  t.equal(refused.status, 503, 'a suspended adapter serves nothing, kept catalogue or not')
  t.equal((await h.call('POST', `/v1/adapters/${adapterId}/activate`, { token: operator })).status, 200)
  const after = await during(court.seen, () => read(civil.id, 'main-02-answer'))
  t.same(
    after.map((r) => [r.url, r.ifNoneMatch]),
    [
      [catalogueUrl(CASE), undefined],
      [documentUrl(CASE, 'main-02-answer'), undefined],
    ],
    'after the suspension the catalogue is fetched afresh, not revalidated',
  )
})

t.test('the cache keeps the most recently used entries and knows its lifetime from the injected clock', async (t) => {
  let now = 1000
  const cache = new CatalogueCache({ ttlMs: 100, maxEntries: 2, now: () => now })
  const adapter = { id: 'a', updatedAt: 'u1', baseUrl: 'http://x', court: '黑01' } as Adapter
  const entry = { catalogue: { caseNo: CASE, volumes: [] }, etag: undefined }
  const [k1, k2, k3] = ['1', '2', '3'].map((n) => cache.key(adapter, n))
  cache.set(k1!, adapter, entry)
  cache.set(k2!, adapter, entry)
  t.equal(cache.get(k1!)?.current, true, 'k1 used: k2 is now the least recent')
  cache.set(k3!, adapter, entry)
  t.equal(cache.size, 2)
  t.equal(cache.get(k2!), undefined, 'the least recently used entry went')
  now += 100
  t.equal(cache.get(k1!)?.current, false, 'past its lifetime: kept, but to be revalidated')
  t.not(cache.key({ ...adapter, updatedAt: 'u2' }, '1'), k1, 'a changed registration has other keys')
  cache.dropAdapter('a')
  t.equal(cache.size, 0)
})

/**
 * A gateway on a test clock, a hostile court that misbehaves on request and names the main volume, a grant
 * on its case, and a read of its document `honest` by the prosecutor.
 */
async function hostileCourtWithGrant(t: Test) {
  const clock = testClock()
  const h = await startGateway(t, {}, undefined, { now: clock.now })
  const court = await startHostileCourt(t, (await h.call('GET', '/.well-known/jwks.json')).json)
  await registerAdapter(h, court.url)
  court.misbehave()
  court.setVolumeKind('main')
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const read = () => h.call('GET', `/v1/grants/${grant.id}/documents/honest`, { token: prosecutor })
  return { h, clock, court, grant, read }
}
