import { type ChildProcess, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createServer as createHttpServer, request as httpRequest } from 'node:http'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { loadSpec, operations } from '../src/http/openapi.js'
import { GATEWAY_SPEC, PROJECT_ROOT } from '../src/paths.js'
import { buildConsole } from './helpers/console-build.js'
import { eventually, type Person, registerAdapter, startAdapter, startGateway, tokenOf } from './helpers/harness.js'

/**
 * An independent validator: Stoplight Prism as a validating proxy (`prism proxy --errors`) in front of a real
 * gateway. Every operation is driven through it, and any request or response violation it reports fails the
 * test. Prism cannot check binary bodies (it re-encodes them as text through the proxy), so a document's
 * bytes are read from the gateway directly and compared with the catalogue's SHA-256; the document operation
 * goes through Prism as a 304, which has no body. Nor does Prism know `x-protocol-responses` (414, 431...):
 * test/gateway/spec-conformance.ts covers those.
 */

const PRISM = join(PROJECT_ROOT, 'node_modules', '.bin', 'prism')
/** Prism compiles the whole document at start-up: seconds on a loaded machine. */
const PRISM_START_DEADLINE_MS = 90_000

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startPrism(
  t: { teardown: (fn: () => unknown) => void },
  upstream: string,
): Promise<{ url: string; output: () => string }> {
  const port = await freePort()
  // Outside tap's process recorder and coverage (NODE_OPTIONS): Prism is not ours to cover, and recording it would
  // only slow its start and fill the coverage report's input. Through env(1), as the recorder puts NODE_OPTIONS back
  // into the environment of every process a test starts.
  const child: ChildProcess = spawn(
    'env',
    [
      ...['-u', 'NODE_OPTIONS', PRISM, 'proxy', GATEWAY_SPEC, upstream, '--errors', '--port', String(port)],
      ...['--host', '127.0.0.1', '--cors', 'false'],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  t.teardown(async () => {
    child.kill('SIGTERM')
    await exited
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + PRISM_START_DEADLINE_MS
  while (!/Prism is listening/.test(output)) {
    if (child.exitCode !== null) throw new Error(`prism exited (${child.exitCode}):\n${output}`)
    if (Date.now() > deadline) throw new Error(`prism did not start within ${PRISM_START_DEADLINE_MS} ms:\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { url, output: () => output }
}

/**
 * Passes every request and answer between Prism and the gateway unchanged, except, once `depart()` is called, the
 * health answer, whose `status` then is a value the spec does not allow: an answer off the spec, to show that the
 * Prism this file runs reports one.
 */
async function startRelay(t: { teardown: (fn: () => unknown) => void }, upstream: string) {
  const target = new URL(upstream)
  let departing = false
  const server = createHttpServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        if (!(departing && incoming.url === '/healthz')) {
          outgoing.writeHead(answer.statusCode!, answer.rawHeaders)
          answer.pipe(outgoing)
          return
        }
        const chunks: Buffer[] = []
        answer.on('data', (chunk: Buffer) => chunks.push(chunk))
        answer.on('end', () => {
          const body = JSON.stringify({ ...JSON.parse(Buffer.concat(chunks).toString('utf8')), status: 'fine' })
          const { 'content-length': _, ...headers } = answer.headers
          outgoing.writeHead(answer.statusCode!, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body)
        })
      },
    )
    forwarded.on('error', (error) => outgoing.destroy(error))
    incoming.pipe(forwarded)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    depart() {
      departing = true
    },
  }
}

// One gateway, one court and one Prism for the file: Prism compiles the whole document at start-up, seconds of CPU.
// The console is built before the gateway starts, which reads it once (src/http/console-routes.ts).
await buildConsole()
const h = await startGateway(t)
const relay = await startRelay(t, h.url)
const [court, prism] = await Promise.all([startAdapter(t, h.url), startPrism(t, relay.url)])

t.test('Prism finds no violation in any operation of the gateway', async (t) => {
  const seen = new Set<string>()

  const via = async (
    operationId: string,
    method: string,
    path: string,
    expected: number,
    options: { as?: Person; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) }
    if (options.as) headers.authorization = `Bearer ${tokenOf(h, options.as)}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await request(`${prism.url}${path}`, {
      method: method as 'GET',
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    })
    const text = await response.body.text()
    const violations = response.headers['sl-violations']
    t.equal(violations, undefined, `${operationId}: Prism reports no violation`)
    t.equal(
      response.statusCode,
      expected,
      `${operationId} ${method} ${path}: ${expected} through Prism${response.statusCode === expected ? '' : `, not ${text.slice(0, 300)}`}`,
    )
    seen.add(operationId)
    return { status: response.statusCode, headers: response.headers, json: safeJson(text), text }
  }

  await via('healthz', 'GET', '/healthz', 200)
  await via('readyz', 'GET', '/readyz', 200)
  await via('getJwks', 'GET', '/.well-known/jwks.json', 200)
  await via('getOpenApiDocument', 'GET', '/openapi.json', 200)
  await via('getDocs', 'GET', '/docs', 200)
  await via('getConsole', 'GET', '/console', 200)
  // The page as an issuer's answer to a console sign-in: the parameters of the authorisation response.
  await via('getConsole', 'GET', '/console?code=c0de&state=st4te&iss=https%3A%2F%2Fsso.example&session_state=x', 200)
  await via('getConsoleSignIn', 'GET', '/console/sign-in', 200)
  await via('listCourts', 'GET', '/v1/courts', 200, { as: 'prosecutor' })

  // Adapters: 黑01's through the harness (reads need it); 黑0103's whole life through Prism.
  await registerAdapter(h, court.url)
  const created = await via('createAdapter', 'POST', '/v1/adapters', 201, {
    as: 'courtAdmin0103',
    body: { court: '黑0103', baseUrl: court.url, stores: ['trial'], probeCase: '（2023）黑0103民初4567号' },
  })
  const adapterId = created.json.id as string
  await via('listAdapters', 'GET', '/v1/adapters', 200, { as: 'operator' })
  await via('getAdapter', 'GET', `/v1/adapters/${adapterId}`, 200, { as: 'operator' })
  await via('updateAdapter', 'PATCH', `/v1/adapters/${adapterId}`, 200, {
    as: 'courtAdmin0103',
    body: { description: '南岗' },
  })
  await via('activateAdapter', 'POST', `/v1/adapters/${adapterId}/activate`, 200, { as: 'operator' })
  await via('getAdapterHealth', 'GET', `/v1/adapters/${adapterId}/health`, 200, { as: 'operator' })
  await via('suspendAdapter', 'POST', `/v1/adapters/${adapterId}/suspend`, 200, { as: 'operator' })
  await via('getAdapter', 'GET', '/v1/adapters/no-such-adapter', 404, { as: 'operator' })

  // Grants and reads.
  const grant = {
    court: '黑01',
    caseNo: '（2023）黑01民终1234号',
    supervisionCase: '哈检民监〔2024〕1号',
    volumes: ['main'],
    reason: '民事生效裁判监督',
  }
  const main = await via('createGrant', 'POST', '/v1/grants', 201, { as: 'prosecutor', body: grant })
  const id = main.json.id as string
  await via('createGrant', 'POST', '/v1/grants', 409, { as: 'prosecutor', body: grant })
  await via('listGrants', 'GET', '/v1/grants?status=active&limit=10', 200, { as: 'prosecutor' })
  await via('getGrant', 'GET', `/v1/grants/${id}`, 200, { as: 'prosecutor' })
  await via('renewGrant', 'POST', `/v1/grants/${id}/renew`, 200, { as: 'prosecutor', body: { days: 120 } })
  await via('getGrantCase', 'GET', `/v1/grants/${id}/case`, 200, { as: 'prosecutor' })
  const volumes = await via('getGrantVolumes', 'GET', `/v1/grants/${id}/volumes`, 200, { as: 'prosecutor' })
  const document = volumes.json.volumes[0].documents[0] as { id: string; sha256: string }

  // The bytes straight from the gateway (Prism would re-encode them), then the same read through Prism as a 304.
  const direct = await h.call('GET', `/v1/grants/${id}/documents/${document.id}`, { token: tokenOf(h, 'prosecutor') })
  t.equal(direct.status, 200)
  t.equal(
    createHash('sha256').update(direct.bytes).digest('hex'),
    document.sha256,
    'the document is the catalogued one',
  )
  await via('getGrantDocument', 'GET', `/v1/grants/${id}/documents/${document.id}`, 304, {
    as: 'prosecutor',
    headers: { 'if-none-match': String(direct.headers.etag) },
  })

  const withSub = { ...grant, supervisionCase: '哈检民监〔2024〕2号', volumes: ['main', 'sub'] }
  const pending = await via('createGrant', 'POST', '/v1/grants', 201, { as: 'prosecutor', body: withSub })
  await via('approveGrant', 'POST', `/v1/grants/${pending.json.id}/approve`, 200, {
    as: 'approver',
    body: { note: '同意' },
  })
  await via('approveGrant', 'POST', `/v1/grants/${pending.json.id}/approve`, 409, { as: 'approver' })
  const other = { ...withSub, supervisionCase: '哈检民监〔2024〕3号' }
  const rejected = await via('createGrant', 'POST', '/v1/grants', 201, { as: 'prosecutor', body: other })
  await via('rejectGrant', 'POST', `/v1/grants/${rejected.json.id}/reject`, 200, {
    as: 'approver',
    body: { reason: '不必要' },
  })
  await via('revokeGrant', 'POST', `/v1/grants/${id}/revoke`, 200, { as: 'prosecutor', body: { reason: '审查结束' } })
  await via('getGrantCase', 'GET', `/v1/grants/${id}/case`, 403, { as: 'prosecutor' })
  await via('getGrant', 'GET', '/v1/grants/no-such-grant', 404, { as: 'prosecutor' })
  await via('listGrants', 'GET', '/v1/grants', 401, { headers: { authorization: 'Bearer not-a-token' } })

  // The audit API, once the log's first entries are inside a signed checkpoint.
  await eventually(async () => {
    const checkpoint = await h.call('GET', '/v1/audit/checkpoint', { token: tokenOf(h, 'auditor') })
    return Number(checkpoint.text.split('\n')[1]) >= 2 ? true : undefined
  })
  await via('listAuditEntries', 'GET', '/v1/audit/entries?decision=allow&limit=5', 200, { as: 'auditor' })
  await via('getAuditEntry', 'GET', '/v1/audit/entries/0', 200, { as: 'auditor' })
  await via('getAuditEntryReceipt', 'GET', '/v1/audit/entries/0/receipt', 200, { as: 'auditor' })
  await via('getCheckpoint', 'GET', '/v1/audit/checkpoint', 200, { as: 'auditor' })
  await via('getVerifierKey', 'GET', '/v1/audit/key', 200, { as: 'auditor' })
  await via('getPatternThresholds', 'GET', '/v1/audit/patterns', 200, { as: 'auditor' })
  await via('getInclusionProof', 'GET', '/v1/audit/proofs/inclusion?index=0&size=2', 200, { as: 'auditor' })
  await via('getConsistencyProof', 'GET', '/v1/audit/proofs/consistency?from=1&to=2', 200, { as: 'auditor' })
  await via('exportAudit', 'GET', '/v1/audit/export?from=0&to=2', 200, { as: 'auditor' })
  await via('exportAudit', 'GET', '/v1/audit/export', 403, { as: 'prosecutor' })

  const every = operations(loadSpec(GATEWAY_SPEC)).map((operation) => operation.operationId)
  t.same(
    every.filter((operationId) => !seen.has(operationId)),
    [],
    'every operation of the spec went through Prism',
  )
  t.notMatch(prism.output(), /violation|\[(?:error|fatal)\]/i, 'and Prism logged no violation or error')
})

t.test('Prism reports a departure: the check above can fail', async (t) => {
  const honest = await request(`${prism.url}/healthz`)
  t.same(await honest.body.json(), { status: 'ok' })
  t.equal(honest.headers['sl-violations'], undefined, 'the gateway’s own answer passes')
  // The same answer, except that its status is one the spec does not allow.
  relay.depart()
  const response = await request(`${prism.url}/healthz`)
  const body = (await response.body.json()) as { type: string }
  t.equal(response.statusCode, 500)
  t.match(response.headers['sl-violations'], /Response body property status must be equal to one of the allowed values/)
  t.equal(body.type, 'https://stoplight.io/prism/errors#VIOLATIONS')
})

function safeJson(text: string): any {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
