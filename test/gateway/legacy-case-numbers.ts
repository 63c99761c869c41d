import t from 'tap'
import { MAIN_GRANT, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

// A pre-2016 number reaches the court's adapter like any other: the court and store come from the directory's
// abbreviations, and the adapter is asked for the case under the number as the court filed it.
t.test('a grant for a pre-2016 number asks the right court and store, under the number as written', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  // Only the trial store is served, so an enforcement number must find no adapter.
  await registerAdapter(h, court.url, { covers: ['黑0103'], stores: ['trial'] })
  const prosecutor = tokenOf(h, 'prosecutor')

  const asked = (caseNo: string) => court.seen.filter((r) => r.url === `/v1/cases/${caseNo}`)
  const cases: [string, string, string][] = [
    ['黑01', '(2014)哈民一终字第123号', '（2014）哈民一终字第123号'],
    ['黑0103', '（2013） 南民初字第456号', '（2013）南民初字第456号'],
  ]
  for (const [code, caseNo, normal] of cases) {
    const response = await h.call('POST', '/v1/grants', {
      token: prosecutor,
      body: { ...MAIN_GRANT, court: code, caseNo },
    })
    // The reference adapter has no pre-2016 cases: it answers 404, which proves the question reached it.
    t.equal(response.status, 404, `${caseNo}: ${response.text}`)
    t.equal(response.json.code, 'NOT_FOUND')
    t.same(
      asked(normal).map((r) => r.aud),
      [code],
      `${caseNo}: asked once, with a token for ${code}`,
    )
  }

  const enforcement = await h.call('POST', '/v1/grants', {
    token: prosecutor,
    body: { ...MAIN_GRANT, caseNo: '（2015）哈执字第１００号' },
  })
  t.equal(enforcement.status, 503, enforcement.text)
  t.match(
    enforcement.json,
    { code: 'ADAPTER_UNAVAILABLE', detail: /execution/ },
    'an enforcement number goes to the execution store',
  )
  t.same(asked('（2015）哈执字第100号'), [], 'and never to the trial adapter')

  const refusals: [string, string, string, RegExp][] = [
    ['another court', '黑0103', '（2014）哈民一终字第123号', /belongs to court 黑01/],
    ['unknown abbreviation', '黑01', '（2014）沪民一终字第1号', /does not start with the abbreviation of a court/],
    ['unknown type', '黑01', '（2014）哈民一审字第1号', /unknown case type "民一审"/],
    ['zero case number', '黑01', '（2014）哈民一终字第0号', /positive integer/],
  ]
  for (const [why, code, caseNo, detail] of refusals) {
    const response = await h.call('POST', '/v1/grants', {
      token: prosecutor,
      body: { ...MAIN_GRANT, court: code, caseNo },
    })
    t.equal(response.status, 400, `${why}: ${response.text}`)
    t.match(response.json, { code: 'INVALID_CASE_NUMBER', detail }, why)
  }
})
