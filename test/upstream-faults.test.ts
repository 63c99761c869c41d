import t from 'tap'
import { request } from 'undici'
import { startFaultProxy } from './helpers/fault-proxy.js'
import { eventually, registerAdapter, startAdapter, startGateway, tokenOf, openGrant } from './helpers/harness.js'

t.test('adapter faults give clear 502/503/504, cut transfers are cut for the client, and all is logged', async (t) => {
  const h = await startGateway(t, {
    adapters: {
      allowHttp: true,
      allowedNetworks: ['127.0.0.0/8'],
      timeoutMs: 400,
      signingKeyFile: `${t.testdirName}/adapter.pem`,
    },
  })
  const court = await startAdapter(t, h.url)
  const proxy = await startFaultProxy(t, court.url)
  await registerAdapter(h, proxy.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const { id } = await openGrant(h)
  const documentPath = `/v1/grants/${id}/documents/main-05-judgment`

  const cases: Array<[string, 'hang' | 'garbage' | 'status500', string, number, string]> = [
    ['slow adapter', 'hang', `/v1/grants/${id}/case`, 504, 'ADAPTER_TIMEOUT'],
    ['nonsense JSON', 'garbage', `/v1/grants/${id}/volumes`, 502, 'ADAPTER_BAD_RESPONSE'],
    ['adapter error', 'status500', `/v1/grants/${id}/case`, 502, 'ADAPTER_BAD_RESPONSE'],
  ]
  for (const [name, mode, path, status, code] of cases) {
    proxy.set(mode)
    const response = await h.call('GET', path, { token: prosecutor })
    t.equal(response.status, status, name)
    t.equal(response.json.code, code, name)
    t.notMatch(response.text, /at .*\.ts|Error:/, `${name}: no internals leak`)
  }

  // Integrity: a flipped byte never reaches the client as a complete body.
  proxy.set('flip')
  const flipped = await rawRead(h.url, documentPath, prosecutor)
  t.ok(flipped.truncated, 'a document failing its digest is cut short of its Content-Length')
  const cutIndex = flipped.logIndex

  proxy.set('cut')
  const cut = await rawRead(h.url, documentPath, prosecutor)
  t.ok(cut.truncated, 'a transfer cut upstream is cut for the client too')

  const auditor = tokenOf(h, 'auditor')
  const outcome = await eventually(async () => {
    const entries = await h.call('GET', `/v1/audit/entries?grant=${id}&limit=1000`, { token: auditor })
    return entries.json.items.find((i: any) => i.entry.intent === cutIndex)
  })
  t.equal(outcome.entry.outcome.result, 'failed')
  t.equal(outcome.entry.reason, 'DOCUMENT_INTEGRITY_FAILED')

  proxy.set('pass')
  await proxy.stop()
  const down = await h.call('GET', `/v1/grants/${id}/case`, { token: prosecutor })
  t.equal(down.status, 503)
  t.equal(down.json.code, 'ADAPTER_UNAVAILABLE')
})

/** Reads a document over a raw undici request, reporting whether the body fell short of Content-Length. */
async function rawRead(base: string, path: string, token: string) {
  const response = await request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })
  const expected = Number(response.headers['content-length'])
  let received = 0
  let failed = false
  try {
    for await (const chunk of response.body) received += (chunk as Buffer).length
  } catch {
    failed = true
  }
  return {
    status: response.statusCode,
    logIndex: Number(response.headers['access-log-index']),
    truncated: failed || received < expected,
  }
}

t.test('an adapter outside adapters.allowedNetworks is refused at connect time, by address and by name', async (t) => {
  // Only loopback traffic: the gateway connects to 127.0.0.1, sees the peer address outside the allowed
  // block, and drops the socket before sending anything.
  const h = await startGateway(t, {
    adapters: { allowHttp: true, allowedNetworks: ['10.99.0.0/16'], signingKeyFile: `${t.testdirName}/adapter.pem` },
  })
  const court = await startAdapter(t, h.url)
  const port = new URL(court.url).port
  for (const baseUrl of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    const created = await h.call('POST', '/v1/adapters', {
      token: tokenOf(h, 'courtAdmin'),
      body: { court: '黑01', baseUrl, probeCase: '（2023）黑01民终1234号' },
    })
    t.equal(created.status, 201)
    const activated = await h.call('POST', `/v1/adapters/${created.json.id}/activate`, { token: tokenOf(h, 'operator') })
    t.equal(activated.status, 422, baseUrl)
    t.equal(activated.json.code, 'CONFORMANCE_FAILED')
    t.match(JSON.stringify(activated.json.checks), /outside the allowed networks/, `${baseUrl}: the reason is named`)
  }
  t.equal(court.seen.length, 0, 'the adapter received nothing')
})
