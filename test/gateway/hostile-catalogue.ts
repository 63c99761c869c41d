import t from 'tap'
import { Agent, request } from 'undici'
import { startHostileCourt, VAST_SIZE } from '../helpers/hostile-court.js'
import { escapedErrors, httpCaller, openGrant, registerAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/** Waits for `probe` to return a value, up to `ms` (a deadline, not a count of polls). */
async function until<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

type Catalogue = Parameters<Parameters<Awaited<ReturnType<typeof startHostileCourt>>['setCatalogue']>[0] & {}>[0]

/**
 * A court whose case answers are well-formed JSON in the contract's shape, but not an answer about the grant's
 * case, or ambiguous: the gateway must refuse them (502, logged as the read's failed outcome) rather than show
 * a prosecutor another case's catalogue or read a document whose volume it cannot tell.
 */
t.test('case answers that are not about the grant’s case, or are ambiguous, are refused', async (t) => {
  const fatal = escapedErrors(t)

  const h = await startGateway(t)
  const court = await startHostileCourt(t, (await h.call('GET', '/.well-known/jwks.json')).json)
  await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const auditor = tokenOf(h, 'auditor')

  async function outcomeOf(requestId: string) {
    return until(async () => {
      const page = await h.call('GET', `/v1/audit/entries?grant=${grant.id}&limit=1000`, { token: auditor })
      const mine = (page.json.items as Array<{ entry: any }>).filter((item) => item.entry.requestId === requestId)
      return mine.find((item) => item.entry.phase === 'outcome')?.entry
    })
  }
  async function refused(path: string, name: string) {
    const asked = court.requests.length
    const answer = await h.call('GET', `/v1/grants/${grant.id}${path}`, { token: prosecutor })
    t.equal(answer.status, 502, `${name}: 502`)
    t.equal(answer.json.code, 'ADAPTER_BAD_RESPONSE', `${name}: the court's answer is bad`)
    t.equal(court.requests.length, asked, `${name}: no document bytes were asked for`)
    const outcome = await outcomeOf(answer.headers['x-request-id'] as string)
    t.equal(outcome.outcome.result, 'failed', `${name}: logged as failed`)
    t.equal(outcome.reason, 'ADAPTER_BAD_RESPONSE', `${name}: with its reason`)
  }
  const first = (c: Catalogue) => c.volumes[0]!.documents[0]!

  court.setCatalogue((c) => ({ ...c, caseNo: '（2023）黑01民终9999号' }))
  await refused('/volumes', 'a catalogue of another case')
  await refused('/documents/honest', 'a document from the catalogue of another case')

  // The same document id in the main and the sub-volume: which volume the court serves is unknown, so a
  // main-volume grant must not read it.
  court.setCatalogue((c) => ({
    ...c,
    volumes: [
      { ...c.volumes[0]!, documents: [first(c)] },
      { id: 'sub', kind: 'sub', title: '副卷', documents: [first(c)] },
    ],
  }))
  await refused('/volumes', 'a catalogue with one document id twice')
  await refused('/documents/honest', 'a document whose id is in two volumes')

  // Sizes past 2^53 are not exact numbers: neither a length to check nor one to announce.
  court.setCatalogue((c) => ({
    ...c,
    volumes: [{ ...c.volumes[0]!, documents: [{ ...first(c), size: 2 ** 53 + 2 }] }],
  }))
  await refused('/volumes', 'a size beyond 2^53')
  await refused('/documents/honest', 'a document with a size beyond 2^53')

  court.setCatalogue(undefined)
  t.equal((await h.call('GET', `/v1/grants/${grant.id}/volumes`, { token: prosecutor })).status, 200, 'honest again')
  t.same(fatal, [], 'nothing escaped')
})

t.test('a case summary of another case is refused', async (t) => {
  const h = await startGateway(t)
  const court = await startHostileCourt(t, (await h.call('GET', '/.well-known/jwks.json')).json)
  await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  court.setCaseSummary((honest) => ({ ...honest, caseNo: '（2023）黑01民终9999号' }))
  const other = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(other.status, 502)
  t.equal(other.json.code, 'ADAPTER_BAD_RESPONSE')
  court.setCaseSummary((honest) => ({ ...honest, court: '黑0103' }))
  const otherCourt = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(otherCourt.status, 502, 'nor one of another court')
  court.setCaseSummary(undefined)
  const honest = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(honest.status, 200, 'the grant’s own case passes')
})

t.test('a large document’s deadline is long, not a 32-bit overflow that fires at once', async (t) => {
  // VAST_SIZE (3 GiB) at the floor rate of 1 KiB/s is about 36 days, more than a 32-bit millisecond timer holds.
  const h = await startGateway(t, {
    adapters: {
      allowHttp: true,
      allowedNetworks: ['127.0.0.0/8'],
      timeoutMs: 2000,
      minimumBytesPerSecond: 1024,
      signingKeyFile: `${t.testdirName}/adapter.pem`,
    },
  })
  const court = await startHostileCourt(t, (await h.call('GET', '/.well-known/jwks.json')).json)
  await registerAdapter(h, court.url)
  court.misbehave() // after the activation's conformance checks: from now on it lists the vast document too
  const grant = await openGrant(h)
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  // A client of its own, destroyed when the test ends: the hang-up below leaves no socket for the gateway's
  // close to wait on.
  const client = new Agent()
  t.teardown(() => client.destroy())
  const response = await request(`${h.url}/v1/grants/${grant.id}/documents/vast`, {
    dispatcher: client,
    headers: { authorization: `Bearer ${tokenOf(h, 'prosecutor')}` },
  })
  t.equal(response.statusCode, 200, 'the transfer starts')
  t.equal(response.headers['content-length'], String(VAST_SIZE))
  let received = 0
  for await (const chunk of response.body) {
    received += (chunk as Buffer).length
    if (received >= 1024 * 1024) break
  }
  t.ok(received >= 1024 * 1024, `a MiB arrived (${received} bytes) before the client hung up`)
  const auditor = tokenOf(h, 'auditor')
  const id = response.headers['x-request-id'] as string
  const outcome = await until(async () => {
    const page = await httpCaller(h.url)('GET', `/v1/audit/entries?grant=${grant.id}&limit=100`, { token: auditor })
    return (page.json.items as Array<{ entry: any }>).find(
      (i) => i.entry.requestId === id && i.entry.phase === 'outcome',
    )?.entry
  })
  t.equal(outcome.outcome.result, 'aborted', 'ended by the client, not by a deadline')
  t.same(
    warnings.filter((w) => w.name === 'TimeoutOverflowWarning'),
    [],
    'no timer overflowed',
  )
})
