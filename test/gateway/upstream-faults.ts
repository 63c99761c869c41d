import t from 'tap'
import { request } from 'undici'
import { startFaultProxy } from '../helpers/fault-proxy.js'
import { eventually, registerAdapter, startAdapter, startGateway, tokenOf, openGrant } from '../helpers/harness.js'

t.test('adapter faults give clear 502/503/504, cut transfers are cut for the client, and all is logged', async (t) => {
  const h = await startGateway(t, {
    adapters: {
      allowHttp: true,
      allowedNetworks: ['127.0.0.0/8'],
      // Long enough for the activation checks on a busy machine; the hanging case waits it out once.
      timeoutMs: 3000,
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
