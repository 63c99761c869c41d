import t from 'tap'
import { openGrant, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/**
 * Edges of the document read as a client can push them: HEAD (which Fastify would answer by running the whole
 * read and logging bytes nobody received) and Range headers at every boundary.
 */
t.test('document reads at their edges', async (t) => {
  const h = await startGateway(t)
  const adapter = await startAdapter(t, h.url)
  await registerAdapter(h, adapter.url)
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const auditor = tokenOf(h, 'auditor')
  const catalogue = await h.call('GET', `/v1/grants/${grant.id}/volumes`, { token: prosecutor })
  const document = catalogue.json.volumes[0].documents[0] as { id: string; size: number }
  const path = `/v1/grants/${grant.id}/documents/${document.id}`
  const whole = await h.call('GET', path, { token: prosecutor })
  t.equal(whole.status, 200)
  t.equal(whole.bytes.length, document.size)

  t.test('HEAD reads nothing and logs no read', async (t) => {
    const asked = adapter.seen.length
    const head = await h.call('HEAD', path, { token: prosecutor })
    t.equal(head.status, 405, 'a document is read with GET only')
    t.equal(head.headers.allow, 'GET')
    t.equal(adapter.seen.length, asked, 'the court was not asked')
    const entries = await h.call('GET', `/v1/audit/entries?grant=${grant.id}&limit=1000`, { token: auditor })
    const logged = (entries.json.items as Array<{ entry: any }>).filter(
      (item) => item.entry.requestId === head.headers['x-request-id'],
    )
    t.same(logged, [], 'no read of bytes nobody received is in the log')
    t.equal((await h.call('HEAD', `/v1/grants/${grant.id}`, { token: prosecutor })).status, 200, 'JSON GETs keep HEAD')
    t.equal((await h.call('DELETE', path, { token: prosecutor })).headers.allow, 'GET', 'and Allow says so')
    t.equal((await h.call('POST', '/healthz', { token: prosecutor })).headers.allow, 'GET, HEAD')
  })

  t.test('ranges at every boundary', async (t) => {
    const last = document.size - 1
    const cases: Array<[string, number, string | undefined, [number, number]?]> = [
      ['bytes=0-0', 206, `bytes 0-0/${document.size}`, [0, 1]],
      ['bytes=-1', 206, `bytes ${last}-${last}/${document.size}`, [last, document.size]],
      [`bytes=-${document.size + 10}`, 206, `bytes 0-${last}/${document.size}`, [0, document.size]],
      [`bytes=${last}-${document.size + 100}`, 206, `bytes ${last}-${last}/${document.size}`, [last, document.size]],
      ['bytes=0-0,5-6', 200, undefined],
      ['bytes=99999999999999999-', 200, undefined],
      ['items=0-1', 200, undefined],
      ['bytes=5-1', 200, undefined],
      ['bytes=-0', 416, `bytes */${document.size}`],
      [`bytes=${document.size}-`, 416, `bytes */${document.size}`],
    ]
    for (const [range, status, contentRange, slice] of cases) {
      const answer = await h.call('GET', path, { token: prosecutor, headers: { range } })
      t.equal(answer.status, status, `${range}: ${status}`)
      t.equal(answer.headers['content-range'], contentRange, `${range}: Content-Range`)
      if (status === 200) t.ok(answer.bytes.equals(whole.bytes), `${range}: the whole document`)
      if (slice) t.ok(answer.bytes.equals(whole.bytes.subarray(...slice)), `${range}: exactly those bytes`)
    }
  })
})
