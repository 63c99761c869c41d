import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import t from 'tap'
import { Agent, request } from 'undici'
import { type DocumentBehaviour, HTML_DOCUMENT, startHostileCourt } from '../helpers/hostile-court.js'
import { escapedErrors, httpCaller, openGrant, registerAdapter, startGateway, tokenOf } from '../helpers/harness.js'

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

const openFds = () => readdirSync('/proc/self/fd').length

/** What a client received: whether the body ended cleanly (a complete-looking response) or was cut. */
interface Received {
  status: number
  headers: Record<string, string | string[] | undefined>
  bytes: Buffer
  clean: boolean
  requestId: string
  ms: number
}

type Expectation = {
  status: number
  result: 'completed' | 'failed' | 'aborted' | 'revoked'
  /** The outcome's reason, and for a refusal sent before any byte the problem's code. */
  code?: string
  /** A cut transfer: headers went out, the body must not end cleanly. */
  cut?: boolean
}

t.test(
  'no court behaviour and no client ends the process, passes bytes that are not the document, or leaks',
  async (t) => {
    const fatal = escapedErrors(t)

    // timeoutMs bounds silence (hangs end in 1 s); 1 KiB/s makes the 256-byte drip's deadline 1.25 s while
    // the drip itself would take 10 s. The breaker is kept out of the way: each fault here is judged alone.
    const h = await startGateway(t, {
      adapters: {
        allowHttp: true,
        allowedNetworks: ['127.0.0.0/8'],
        timeoutMs: 1000,
        minimumBytesPerSecond: 1024,
        breaker: { failures: 1000 },
        signingKeyFile: `${t.testdirName}/adapter.pem`,
      },
    })
    const setupAgent = new Agent()
    const setup = { ...h, call: httpCaller(h.url, () => setupAgent) }
    const jwks = await setup.call('GET', '/.well-known/jwks.json')
    const court = await startHostileCourt(t, jwks.json)
    await registerAdapter(setup, court.url)
    court.misbehave()
    const grant = await openGrant(setup)
    const doomed = await openGrant(setup, 'prosecutor', { supervisionCase: '哈检民监〔2024〕99号' })
    const late = await openGrant(setup, 'prosecutor', { supervisionCase: '哈检民监〔2024〕98号' })
    await setupAgent.close()
    const auditor = tokenOf(h, 'auditor')
    const prosecutor = tokenOf(h, 'prosecutor')

    // Only the gateway's own files and listeners remain open now; every socket of a read must close again.
    await until(() => (court.openConnections() === 0 ? true : undefined))
    const fdsBefore = openFds()

    const agent = new Agent({ keepAliveTimeout: 100, keepAliveMaxTimeout: 100 })
    t.teardown(() => agent.close().catch(() => {}))
    const call = httpCaller(h.url, () => agent)

    async function read(
      path: string,
      options: { headers?: Record<string, string>; onFirstChunk?: () => unknown } = {},
    ): Promise<Received> {
      const started = Date.now()
      const response = await request(`${h.url}${path}`, {
        headers: { authorization: `Bearer ${prosecutor}`, ...(options.headers ?? {}) },
        dispatcher: agent,
      })
      const chunks: Buffer[] = []
      let clean = true
      try {
        for await (const chunk of response.body) {
          if (chunks.length === 0 && options.onFirstChunk) {
            chunks.push(chunk as Buffer)
            await options.onFirstChunk()
            continue
          }
          chunks.push(chunk as Buffer)
        }
      } catch {
        clean = false
      }
      return {
        status: response.statusCode,
        headers: response.headers,
        bytes: Buffer.concat(chunks),
        clean,
        requestId: String(response.headers['x-request-id']),
        ms: Date.now() - started,
      }
    }

    /** The intents and outcomes the log holds for one request, once its outcome is in. */
    async function loggedRead(grantId: string, requestId: string) {
      return until(async () => {
        const page = await call('GET', `/v1/audit/entries?grant=${grantId}&limit=1000`, { token: auditor })
        const mine = (page.json.items as Array<{ index: number; entry: any }>).filter(
          (item) => item.entry.requestId === requestId,
        )
        const intents = mine.filter((item) => item.entry.phase === 'intent')
        const outcomes = mine.filter((item) => item.entry.phase === 'outcome')
        return outcomes.length > 0 ? { intents, outcomes } : undefined
      })
    }

    /** Checks what the client got and what the log says about one read. */
    async function judge(name: string, grantId: string, received: Received, expected: Expectation, document?: Buffer) {
      t.equal(received.status, expected.status, `${name}: status`)
      if (received.clean && received.status === 200) {
        t.ok(document && received.bytes.equals(document), `${name}: a body that ends cleanly is the document`)
      }
      if (expected.cut) {
        t.notOk(received.clean, `${name}: the transfer is cut for the client`)
        t.ok(received.bytes.length < Number(received.headers['content-length']), `${name}: short of Content-Length`)
      }
      if (received.status >= 400) {
        t.match(received.headers['content-type'], /^application\/problem\+json/, `${name}: a problem`)
        t.equal(JSON.parse(received.bytes.toString('utf8')).code, expected.code, `${name}: its code`)
      }
      const { intents, outcomes } = await loggedRead(grantId, received.requestId)
      t.equal(intents.length, 1, `${name}: one intent`)
      t.equal(outcomes.length, 1, `${name}: exactly one outcome`)
      t.equal(outcomes[0]?.entry.intent, intents[0]?.index, `${name}: the outcome closes the intent`)
      t.equal(outcomes[0]?.entry.outcome.result, expected.result, `${name}: result`)
      t.equal(outcomes[0]?.entry.reason, expected.code, `${name}: reason`)
    }

    const documentPath = (id: string, grantId = grant.id) => `/v1/grants/${grantId}/documents/${id}`
    const bytesOf = (id: string) => court.documents.get(id)!.bytes

    // A chunked body (too-long, too-short, endless) has no Content-Length, which the adapter contract requires:
    // it is refused before a byte reaches the client. The guard's cut at the catalogued length stays as the
    // second line of defence (test/gateway/read-path.ts).
    const documentCases: Array<[DocumentBehaviour, Expectation, Record<string, string>?]> = [
      ['honest', { status: 200, result: 'completed' }],
      ['wrong-digest', { status: 502, result: 'failed', code: 'DOCUMENT_INTEGRITY_FAILED' }],
      ['wrong-bytes', { status: 200, result: 'failed', code: 'DOCUMENT_INTEGRITY_FAILED', cut: true }],
      ['too-long', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
      ['too-short', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
      ['wrong-length', { status: 502, result: 'failed', code: 'DOCUMENT_INTEGRITY_FAILED' }],
      ['endless', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
      ['unrequested-206', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
      ['wrong-range', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }, { range: 'bytes=0-9' }],
      ['unrequested-304', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
      ['html-content-type', { status: 200, result: 'completed' }],
      ['drip', { status: 200, result: 'failed', code: 'ADAPTER_TIMEOUT', cut: true }],
      ['hang-before-headers', { status: 504, result: 'failed', code: 'ADAPTER_TIMEOUT' }],
      ['hang-after-headers', { status: 200, result: 'failed', code: 'ADAPTER_TIMEOUT', cut: true }],
      ['reset', { status: 200, result: 'failed', code: 'ADAPTER_BAD_RESPONSE', cut: true }],
      ['redirect', { status: 502, result: 'failed', code: 'ADAPTER_BAD_RESPONSE' }],
    ]
    for (const [behaviour, expected, headers] of documentCases) {
      const received = await read(documentPath(behaviour), headers ? { headers } : {})
      await judge(behaviour, grant.id, received, expected, bytesOf(behaviour))
      if (received.status === 200) {
        t.equal(received.headers['content-type'], 'application/pdf', `${behaviour}: the catalogue's media type`)
        t.equal(received.headers['x-content-type-options'], 'nosniff', `${behaviour}: nosniff`)
      }
      if (behaviour === 'drip') t.ok(received.ms < 8000, `drip: cut by its deadline after ${received.ms} ms, not 10 s`)
    }
    const endless = court.requests.find((r) => r.id === 'endless')!
    await until(() => (endless.closed ? true : undefined))
    t.ok(endless.sent < 8 * 1024 * 1024, `the endless body was cut after ${endless.sent} bytes had been sent`)
    t.equal(court.redirectConnections(), 0, 'no redirect is followed')

    // The honest court's range and revalidation pass; a range the catalogue rules out never reaches the court.
    const honest = bytesOf('honest')
    const ranged = await read(documentPath('honest'), { headers: { range: 'bytes=10-19' } })
    t.equal(ranged.status, 206)
    t.ok(ranged.clean && ranged.bytes.equals(honest.subarray(10, 20)), 'a range is exactly those bytes')
    t.equal(ranged.headers['content-range'], `bytes 10-19/${honest.length}`)
    await judge('range', grant.id, ranged, { status: 206, result: 'completed' })
    const etag = court.documents.get('honest')!.etag
    const revalidated = await read(documentPath('honest'), { headers: { 'if-none-match': etag } })
    await judge('if-none-match', grant.id, revalidated, { status: 304, result: 'completed' })
    const asked = court.requests.length
    const beyond = await read(documentPath('honest'), { headers: { range: `bytes=${honest.length}-` } })
    await judge('unsatisfiable range', grant.id, beyond, {
      status: 416,
      result: 'failed',
      code: 'RANGE_NOT_SATISFIABLE',
    })
    const html = await read(documentPath(HTML_DOCUMENT))
    await judge('catalogued as text/html', grant.id, html, {
      status: 502,
      result: 'failed',
      code: 'DOCUMENT_TYPE_NOT_SERVED',
    })
    t.equal(court.requests.length, asked, 'refused types and ranges are never asked of the court')

    // Case summary and catalogue answers that are not JSON, break the contract, or redirect.
    for (const mode of ['invalid-json', 'contract-violation', 'redirect'] as const) {
      court.setJson(mode)
      for (const what of ['case', 'volumes']) {
        const received = await read(`/v1/grants/${grant.id}/${what}`)
        await judge(`${what} ${mode}`, grant.id, received, {
          status: 502,
          result: 'failed',
          code: 'ADAPTER_BAD_RESPONSE',
        })
      }
      const document = await read(documentPath('honest'))
      await judge(`catalogue ${mode}`, grant.id, document, {
        status: 502,
        result: 'failed',
        code: 'ADAPTER_BAD_RESPONSE',
      })
    }
    court.setJson('honest')
    t.equal(court.redirectConnections(), 0, 'no redirect is followed')

    // A client that hangs up mid-transfer: logged as aborted, and the court's connection is closed too.
    const hungUp = await read(documentPath('slow'), {
      onFirstChunk: () => {
        throw new Error('the client hangs up')
      },
    })
    await judge('client hangs up', grant.id, hungUp, { status: 200, result: 'aborted' })
    const abandoned = court.requests.at(-1)!
    await until(() => (abandoned.closed ? true : undefined))
    t.pass('the court request of an abandoned read is closed')

    // A client that hangs up before the court has answered: aborted too, and the court request is given up.
    const before = court.requests.length
    const leaving = new AbortController()
    const pending = request(`${h.url}${documentPath('hang-before-headers')}`, {
      headers: { authorization: `Bearer ${prosecutor}` },
      dispatcher: agent,
      signal: leaving.signal,
    })
    const unanswered = await until(() => court.requests[before])
    leaving.abort()
    await t.rejects(pending, 'the client has gone')
    // No response, so no request id: the court's signed token names the intent.
    const early = await until(async () => {
      const page = await call('GET', `/v1/audit/entries?grant=${grant.id}&limit=1000`, { token: auditor })
      const outcomes = (page.json.items as Array<{ entry: any }>).filter((i) => i.entry.intent === unanswered.intent)
      return outcomes.length > 0 ? outcomes : undefined
    })
    t.equal(early.length, 1, 'an early hang-up has exactly one outcome')
    t.equal(early[0]?.entry.outcome.result, 'aborted')
    t.equal(early[0]?.entry.reason, undefined, 'not logged as a court failure')
    await until(() => (unanswered.closed ? true : undefined))

    // Revoking a grant stops the read streaming through it.
    const revoked = await read(documentPath('slow', doomed.id), {
      onFirstChunk: async () => {
        const revocation = await call('POST', `/v1/grants/${doomed.id}/revoke`, { token: prosecutor, body: {} })
        t.equal(revocation.status, 200, revocation.text)
      },
    })
    await judge('revoked mid-transfer', doomed.id, revoked, {
      status: 200,
      result: 'revoked',
      code: 'GRANT_NOT_ACTIVE',
      cut: true,
    })

    // Revoked while the gateway fetched the catalogue, before the transfer began: the court is not asked.
    court.beforeNextCatalogue(() => call('POST', `/v1/grants/${late.id}/revoke`, { token: prosecutor, body: {} }))
    const asked2 = court.requests.length
    const lateRead = await read(documentPath('honest', late.id))
    await judge('revoked before the transfer', late.id, lateRead, {
      status: 403,
      result: 'revoked',
      code: 'GRANT_NOT_ACTIVE',
    })
    t.equal(court.requests.length, asked2, 'the court is not asked for the document of a revoked grant')

    // The same process still serves a normal read, and nothing escaped as an uncaught error.
    const after = await read(documentPath('honest'))
    await judge('a normal read afterwards', grant.id, after, { status: 200, result: 'completed' }, honest)
    t.equal(createHash('sha256').update(after.bytes).digest('hex'), court.documents.get('honest')!.sha256)
    t.same(fatal, [], 'no uncaughtException or unhandledRejection')
    for (const id of [grant.id, doomed.id, late.id]) {
      const page = await call('GET', `/v1/audit/entries?grant=${id}&limit=1000`, { token: auditor })
      const items = page.json.items as Array<{ index: number; entry: any }>
      const intents = items.filter((i) => i.entry.phase === 'intent' && i.entry.action !== 'grant.create')
      const unclosed = intents.filter((intent) => items.filter((i) => i.entry.intent === intent.index).length !== 1)
      t.same(unclosed, [], `every read through grant ${id} has exactly one outcome (${intents.length} reads)`)
    }

    await agent.close()
    await until(() => (court.openConnections() === 0 ? true : undefined))
    const fdsAfter = await until(() => {
      const count = openFds()
      return count <= fdsBefore ? count : undefined
    })
    t.ok(fdsAfter <= fdsBefore, `no descriptor leaked (${fdsBefore} before, ${fdsAfter} after)`)
  },
)
