import t from 'tap'
import { request } from 'undici'
import { startHostileCourt } from '../helpers/hostile-court.js'
import { httpCaller, openGrant, registerAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/** Waits for `probe` to return a value, up to `ms` (a deadline, not a count of polls). */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * "Suspend" takes an adapter out of service: once the operator has been told so, the gateway asks it for
 * nothing more, also for reads that began before (as a revocation stops the reads through a grant).
 */
t.test('an adapter taken out of service serves no more bytes, also to reads already under way', async (t) => {
  const h = await startGateway(t)
  const court = await startHostileCourt(t, (await h.call('GET', '/.well-known/jwks.json')).json)
  const adapterId = await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const operator = tokenOf(h, 'operator')
  const auditor = tokenOf(h, 'auditor')
  const suspend = () =>
    h.call('POST', `/v1/adapters/${adapterId}/suspend`, { token: operator, body: { reason: 'compromised' } })
  const outcomeOf = (requestId: string) =>
    until(async () => {
      const page = await httpCaller(h.url)('GET', `/v1/audit/entries?grant=${grant.id}&limit=1000`, {
        token: auditor,
      })
      return (page.json.items as Array<{ entry: any }>).find(
        (item) => item.entry.requestId === requestId && item.entry.phase === 'outcome',
      )?.entry
    })

  // Suspended while the read fetched the catalogue: the document is not asked for.
  court.beforeNextCatalogue(async () => t.equal((await suspend()).status, 200, 'suspended during the read'))
  const asked = court.requests.length
  const during = await h.call('GET', `/v1/grants/${grant.id}/documents/honest`, { token: prosecutor })
  t.equal(during.status, 503)
  t.equal(during.json.code, 'ADAPTER_UNAVAILABLE')
  t.equal(court.requests.length, asked, 'the suspended adapter was not asked for the document')
  const first = await outcomeOf(during.headers['x-request-id'] as string)
  t.equal(first.outcome.result, 'failed')
  t.equal(first.reason, 'ADAPTER_UNAVAILABLE')

  // Suspended while the bytes stream: the transfer is cut, the court's connection closed.
  t.equal((await h.call('POST', `/v1/adapters/${adapterId}/activate`, { token: operator })).status, 200)
  court.misbehave() // after the activation's conformance checks: from now on it lists its slow document too
  const streaming = await request(`${h.url}/v1/grants/${grant.id}/documents/slow`, {
    headers: { authorization: `Bearer ${prosecutor}` },
  })
  t.equal(streaming.statusCode, 200, 'the transfer started')
  const received = (async () => {
    let bytes = 0
    try {
      for await (const chunk of streaming.body) bytes += (chunk as Buffer).length
      return { bytes, clean: true }
    } catch {
      return { bytes, clean: false }
    }
  })()
  const slow = await until(() => court.requests.find((r) => r.id === 'slow' && r.sent > 0))
  t.equal((await suspend()).status, 200, 'suspended mid-transfer')
  const got = await received
  t.notOk(got.clean, `the client's transfer is cut (${got.bytes} bytes), not ended as if complete`)
  await until(() => (slow.closed ? true : undefined))
  const second = await outcomeOf(streaming.headers['x-request-id'] as string)
  t.equal(second.outcome.result, 'failed')
  t.equal(second.reason, 'ADAPTER_UNAVAILABLE')
})
