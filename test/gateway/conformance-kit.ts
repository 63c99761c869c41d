import { createHash, generateKeyPairSync } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer as createNetServer, type Socket } from 'node:net'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { buildCourtAdapter } from '../../examples/court-adapter/app.js'
import { shippedCasesDir } from '../../examples/court-adapter/paths.js'
import { createResponseValidators } from '../../src/adapters/responses.js'
import { generatePrivateKeyPem, RequestSigner } from '../../src/adapters/signing.js'
import type { Adapter } from '../../src/adapters/types.js'
import { type KitOptions, runKit } from '../../src/conformance/command.js'
import {
  type CheckResult,
  contractForbidsReplay,
  type Exchange,
  runContractChecks,
  type Transport,
} from '../../src/conformance/kit.js'
import {
  bodyOf,
  KEPT_BODY_BYTES,
  MAX_BODY_BYTES,
  type ReadOptions,
  readAnswer,
} from '../../src/conformance/read-answer.js'
import { httpTransport } from '../../src/conformance/transport.js'
import { loadSpec } from '../../src/http/openapi.js'
import { ADAPTER_SPEC } from '../../src/paths.js'
import { GATEWAY_ISSUER } from '../../src/server.js'
import { registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'
import { startHostileCourt } from '../helpers/hostile-court.js'

const CASE = '（2023）黑01民终1234号'
const ISSUER = 'court-file-gateway'

/** The reference adapter trusting a pinned JWKS file that the kit writes (--jwks-out) before its first request. */
async function referenceAdapter(dir: string, algorithms?: ('EdDSA' | 'ES256')[]) {
  const jwksFile = join(dir, 'jwks.json')
  writeFileSync(jwksFile, '{"keys":[]}')
  const app = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts: ['黑01', '黑0103'],
    gatewayIssuer: ISSUER,
    jwks: { file: jwksFile },
    ...(algorithms ? { algorithms } : {}),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, jwksFile }
}

const kit = (url: string, dir: string, extra: Partial<KitOptions> = {}) =>
  runKit({ adapterUrl: url, caseNo: CASE, issuer: ISSUER, timeoutMs: 5000, jwksOut: join(dir, 'jwks.json'), ...extra })

const failedNames = (results: CheckResult[]) =>
  results.filter((r) => r.required && r.outcome !== 'pass').map((r) => r.name)

/**
 * An adapter whose answers a test spoils in one way: what the kit sees is exactly what such an adapter sends.
 * `next` reads as the kit asked (`options`); a spoiler that changes bytes rebuilds the answer with bodyOf.
 */
function spoiled(
  inner: Transport,
  spoil: (
    path: string,
    headers: Record<string, string>,
    next: (path: string, headers: Record<string, string>) => Promise<Exchange>,
    options: ReadOptions,
  ) => Promise<Exchange>,
): Transport {
  return (path, headers, options = {}) => spoil(path, headers, (p, h) => inner(p, h, options), options)
}

t.test(
  'the reference adapter passes every required check, with a throw-away key and with a given ES256 key',
  async (t) => {
    const dir = t.testdir()
    const { url } = await referenceAdapter(dir)
    const report = join(dir, 'report.json')
    const outcome = await kit(url, dir, { reportFile: report })
    t.same(failedNames(outcome.results), [], outcome.report)
    t.equal(outcome.ok, true)
    const names = outcome.results.map((r) => r.name)
    for (const name of [
      'health',
      'case',
      'volumes',
      'catalogue if-none-match',
      'range single',
      'range open-ended',
      'range suffix',
      'range unsatisfiable',
      'if-none-match',
      'unknown case',
      'unknown document',
      'refuses no token',
      'refuses expired token',
      'refuses token for another court',
      'refuses alg none',
      'refuses wrong key',
      'refuses over-long lifetime',
    ]) {
      t.ok(names.includes(name), `${name} is checked`)
    }
    t.ok(names.filter((n) => n.startsWith('document ')).length >= 2, 'every listed document is read')
    const replay = outcome.results.find((r) => r.name === 'refuses replayed token')
    t.match(replay, { required: false, outcome: 'skip' }, 'the contract does not forbid replay, so it is not required')
    const written = JSON.parse(readFileSync(report, 'utf8'))
    t.equal(written.passed, true)
    t.equal(written.checks.length, outcome.results.length)
    t.match(
      outcome.report,
      /PASS {2}refuses alg none\n {6}sent: {5}GET \/v1\/cases\/.+ \(authorization: Bearer <token>\)\n {6}received: HTTP 401/,
    )
    t.notMatch(outcome.report, /eyJ/, 'no token is ever printed')
    t.match(
      outcome.report,
      /PASS {2}case\n.*\n {6}received: HTTP 200 \([^)]*\) "\{\\"caseNo\\":\\"（2023）黑01民终1234号/,
      'Chinese text is shown, not taken for bytes',
    )

    const keyFile = join(dir, 'es256.pem')
    writeFileSync(keyFile, generatePrivateKeyPem('ES256'))
    const es256 = await kit(url, dir, { keyFile })
    t.same(failedNames(es256.results), [], es256.report)
    t.equal(JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')).keys[0].alg, 'ES256')
  },
)

t.test('broken adapters: each failure is named', async (t) => {
  const dir = t.testdir()
  const { url } = await referenceAdapter(dir)
  const real = httpTransport(url, 5000)
  const run = async (spoil: Parameters<typeof spoiled>[1]) => {
    const outcome = await kit(url, dir, { transport: spoiled(real, spoil) })
    t.equal(outcome.ok, false)
    return outcome
  }
  const detailOf = (results: CheckResult[], name: string) => results.find((r) => r.name === name)?.detail

  t.test('an adapter that accepts any token', async (t) => {
    // It behaves as if every request carried a good token: the first good one the kit sent.
    let good: string | undefined
    const { results } = await run((path, headers, next) => {
      if (path.endsWith('/volumes') && headers.authorization) good ??= headers.authorization
      return next(path, good && path !== '/v1/health' ? { ...headers, authorization: good } : headers)
    })
    t.same(failedNames(results), [
      'refuses no token',
      'refuses expired token',
      'refuses token for another court',
      'refuses alg none',
      'refuses wrong key',
      'refuses over-long lifetime',
    ])
    t.equal(detailOf(results, 'refuses alg none'), 'expected HTTP 401, got HTTP 200')
  })

  t.test('bytes, digests and headers that do not match the catalogue', async (t) => {
    const { results } = await run(async (path, headers, next, options) => {
      const answer = await next(path, headers)
      if (!path.includes('/documents/main-') || answer.status !== 200 || answer.length === 0) return answer
      const body = Buffer.from(answer.body)
      body[0] = (body[0] ?? 0) ^ 1
      return { ...answer, ...bodyOf(body, options) }
    })
    const failed = failedNames(results)
    t.ok(
      failed.some((name) => name.startsWith('document main-')),
      failed.join(', '),
    )
    t.ok(
      failed.every((name) => name.startsWith('document main-')),
      'nothing else fails',
    )
    const document = results.find((r) => r.name.startsWith('document main-') && r.outcome === 'fail')
    t.equal(document?.detail, 'the bytes do not have the SHA-256 the catalogue lists')
  })

  t.test('a wrong Repr-Digest, no ranges, no 304, a 404 that is not problem+json', async (t) => {
    const { results } = await run(async (path, headers, next) => {
      const { range: _range, 'if-none-match': _inm, ...plain } = headers
      const answer = await next(path, plain)
      if (answer.status === 404) return { ...answer, headers: { ...answer.headers, 'content-type': 'text/plain' } }
      if (path.includes('/documents/') && answer.status === 200) {
        return { ...answer, headers: { ...answer.headers, 'repr-digest': `sha-256=:${'A'.repeat(43)}=:` } }
      }
      return answer
    })
    const failed = failedNames(results)
    t.same(
      failed.filter((name) => !name.startsWith('document ')),
      [
        'catalogue if-none-match',
        'range single',
        'range open-ended',
        'range suffix',
        'range unsatisfiable',
        'if-none-match',
        'unknown case',
        'unknown document',
      ],
      'ranges and conditional requests are skipped without a document read correctly',
    )
    t.equal(detailOf(results, 'unknown case'), 'expected application/problem+json, got text/plain')
    t.match(detailOf(results, failed.find((n) => n.startsWith('document ')) ?? ''), /Repr-Digest is not the SHA-256/)
  })

  t.test('ranges ignored and 304 never sent', async (t) => {
    const { results } = await run((path, headers, next) => {
      const { range: _range, 'if-none-match': _inm, ...plain } = headers
      return next(path, plain)
    })
    t.same(failedNames(results), [
      'catalogue if-none-match',
      'range single',
      'range open-ended',
      'range suffix',
      'range unsatisfiable',
      'if-none-match',
    ])
    t.equal(detailOf(results, 'range single'), 'expected HTTP 206, got HTTP 200')
    t.equal(detailOf(results, 'if-none-match'), 'expected HTTP 304, got HTTP 200')
    t.equal(detailOf(results, 'catalogue if-none-match'), 'expected HTTP 304, got HTTP 200')
  })
})

/** A socket server that answers every connection with `answer` (or never, when it is undefined). */
async function rawServer(t: Tap, answer: string | undefined) {
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('data', () => {
      if (answer !== undefined) socket.end(answer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}
type Tap = { teardown: (fn: () => unknown) => void }

t.test('garbage, a hang and a redirect are named failures, never a crash', async (t) => {
  const dir = t.testdir()
  const garbage = await rawServer(t, 'this is not HTTP at all\r\n\r\n')
  const outcome = await kit(garbage, dir)
  t.equal(outcome.ok, false)
  t.ok(
    outcome.results.every((r) => r.outcome !== 'pass'),
    'nothing passes',
  )
  t.equal(outcome.results.find((r) => r.name === 'health')?.detail, 'the answer is not valid HTTP')

  const silent = await rawServer(t, undefined)
  const hung = await kit(silent, dir, { timeoutMs: 200 })
  t.equal(hung.results.find((r) => r.name === 'health')?.detail, 'no complete answer within 200 ms')
  t.equal(hung.results.find((r) => r.name === 'health')?.received, 'nothing')

  const redirecting = createServer((_request, response) => {
    response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end()
  })
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))
  t.teardown(() => redirecting.close())
  const moved = await kit(`http://127.0.0.1:${(redirecting.address() as { port: number }).port}`, dir)
  const health = moved.results.find((r) => r.name === 'health')
  t.equal(health?.detail, 'answered a redirect (HTTP 302) instead of HTTP 200: adapters must not redirect')
  t.match(health?.received, /HTTP 302 \(location: http:\/\/127\.0\.0\.1:1\/elsewhere\)/)
})

t.test('the JUnit report names every check and every failure', async (t) => {
  const dir = t.testdir()
  const failing = await rawServer(t, 'HTTP/1.1 500 Internal\r\ncontent-length: 4\r\n\r\n<&">')
  const report = join(dir, 'report.xml')
  const outcome = await kit(failing, dir, { reportFile: report })
  const xml = readFileSync(report, 'utf8')
  t.equal((xml.match(/<testcase /g) ?? []).length, outcome.results.length)
  t.match(xml, /<failure message="expected HTTP 200, got HTTP 500">/)
  t.match(xml, /received: HTTP 500 \(content-length: 4\) &quot;&lt;&amp;\\&quot;&gt;&quot;/)
  t.match(xml, new RegExp(`failures="${failedNames(outcome.results).length}"`))
})

t.test('activation runs the same checks and GET /v1/adapters/{id} shows them', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  const id = await registerAdapter(h, court.url)
  const shown = await h.call('GET', `/v1/adapters/${id}`, { token: tokenOf(h, 'operator') })
  t.equal(shown.status, 200)
  t.equal(shown.json.conformance.passed, true)
  t.ok(
    shown.json.conformance.checks.some((c: CheckResult) => c.name === 'refuses over-long lifetime' && c.ok),
    'the token checks ran with the gateway key',
  )
  t.ok(shown.json.conformance.checks.some((c: CheckResult) => c.name.startsWith('document ') && c.ok))

  // The same adapter, now refusing nothing it should: its activation is refused and each failure named.
  const laxAdapter = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts: ['黑0103'],
    gatewayIssuer: GATEWAY_ISSUER,
    jwks: new URL(`${h.url}/.well-known/jwks.json`),
  })
  laxAdapter.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/v1/cases/') && request.headers.authorization === undefined) {
      await reply.code(404).type('application/problem+json').send({ status: 404, code: 'NOT_FOUND' })
    }
  })
  await laxAdapter.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => laxAdapter.close())
  const lax = { url: `http://127.0.0.1:${(laxAdapter.server.address() as { port: number }).port}` }
  const admin = tokenOf(h, 'courtAdmin0103')
  const created = await h.call('POST', '/v1/adapters', {
    token: admin,
    body: { court: '黑0103', baseUrl: lax.url, probeCase: '（2023）黑0103民初4567号' },
  })
  t.equal(created.status, 201, created.text)
  const refused = await h.call('POST', `/v1/adapters/${created.json.id}/activate`, { token: tokenOf(h, 'operator') })
  t.equal(refused.status, 422)
  t.same(
    refused.json.checks.filter((c: CheckResult) => c.required && !c.ok).map((c: CheckResult) => [c.name, c.detail]),
    [['refuses no token', 'expected HTTP 401, got HTTP 404']],
  )
  const after = await h.call('GET', `/v1/adapters/${created.json.id}`, { token: admin })
  t.equal(after.json.status, 'pending')

  // Without a probe case there is nothing to read: refused, and said so.
  const unprobed = await h.call('POST', '/v1/adapters', {
    token: admin,
    body: { court: '黑0103', baseUrl: lax.url, stores: ['execution'] },
  })
  t.equal(unprobed.status, 201, unprobed.text)
  const noProbe = await h.call('POST', `/v1/adapters/${unprobed.json.id}/activate`, { token: tokenOf(h, 'operator') })
  t.equal(noProbe.status, 422)
  t.same(
    noProbe.json.checks.map((c: CheckResult) => [c.name, c.outcome, c.detail]),
    [['probe case', 'fail', 'no probeCase registered: the checks need a case to read']],
  )
})

t.test('where the contract requires jti, a replayed token must be refused', async (t) => {
  const dir = t.testdir()
  const { url, jwksFile } = await referenceAdapter(dir)
  const spec = loadSpec(ADAPTER_SPEC)
  t.equal(contractForbidsReplay(spec), false, 'the contract as shipped does not')
  const schemas = spec.components?.schemas as Record<string, { required: string[] }>
  const claims = schemas.GatewayTokenClaims
  const strict = {
    ...spec,
    components: {
      ...spec.components,
      schemas: { ...schemas, GatewayTokenClaims: { ...claims, required: [...(claims?.required ?? []), 'jti'] } },
    },
  }
  t.equal(contractForbidsReplay(strict), true)
  const signer = await RequestSigner.create(ISSUER, generateKeyPairSync('ed25519').privateKey)
  writeFileSync(jwksFile, JSON.stringify(signer.jwks()))
  const results = await runContractChecks({
    adapter: { id: 'under-test', court: '黑01' } as Adapter,
    caseNo: CASE,
    transport: httpTransport(url, 5000),
    signer,
    validators: createResponseValidators(spec),
    adapterSpec: strict,
  })
  // The reference adapter keeps no record of the tokens it has seen: under such a contract it would fail.
  t.same(failedNames(results), ['refuses replayed token'])
  t.match(
    results.find((r) => r.name === 'replay accepted once'),
    { outcome: 'pass', required: true },
  )
  t.equal(results.find((r) => r.name === 'refuses replayed token')?.detail, 'expected HTTP 401, got HTTP 200')
})

const MiB = 1024 * 1024

/** A server answering every request with `size` bytes of `block` repeated (or without end), generated as sent. */
async function repeatingServer(t: Tap, block: Buffer, size: number, headers: Record<string, string> = {}) {
  const server = createServer((_request, response) => {
    response.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(Number.isFinite(size) ? { 'content-length': String(size) } : {}),
      ...headers,
    })
    let at = 0
    const pump = () => {
      while (!response.destroyed && at < size) {
        const chunk = block.subarray(0, Math.min(block.length, size - at))
        at += chunk.length
        if (!response.write(chunk)) return void response.once('drain', pump)
      }
      if (!response.destroyed) response.end()
    }
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

t.test('the transport hashes a large answer as it streams and keeps only its first 4 MiB', async (t) => {
  const block = Buffer.alloc(MiB)
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 10)) & 0xff
  const size = 32 * MiB
  const url = await repeatingServer(t, block, size)
  const whole = createHash('sha256')
  const tail = createHash('sha256').update(block.subarray(1))
  for (let at = 0; at < size; at += MiB) {
    whole.update(block)
    if (at > 0) tail.update(block)
  }
  const transport = httpTransport(url, 20_000)
  const plain = await transport('/document', {})
  t.equal(plain.length, size)
  t.equal(plain.body.length, KEPT_BODY_BYTES, 'only the first 4 MiB are kept')
  t.ok(plain.body.equals(Buffer.concat([block, block, block, block])), 'and they are the first bytes')
  t.equal(plain.sha256.toString('hex'), whole.digest('hex'))
  t.equal(plain.tail, undefined, 'no second digest unless asked')
  const asked = await transport('/document', {}, { tail: true })
  t.equal(asked.tail?.sha256.toString('hex'), tail.digest('hex'), 'the digest of bytes 1 to the end')
  t.equal(asked.tail?.last, block[block.length - 1])
})

t.test('the 256 MiB cap holds for an answer without end', async (t) => {
  // Bounded by the cap, not by time: the reader must stop once past it, and destroy the body.
  const chunk = Buffer.alloc(MiB, 0x25)
  let sent = 0
  let destroyed = false
  const endless = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        sent += chunk.length
        yield chunk
      }
    },
    destroy() {
      destroyed = true
    },
  }
  await t.rejects(readAnswer(endless), { message: `the answer is larger than ${MAX_BODY_BYTES} bytes` })
  t.equal(MAX_BODY_BYTES, 256 * MiB)
  t.ok(destroyed, 'the body is destroyed')
  t.equal(sent, MAX_BODY_BYTES + MiB, 'nothing is read past the chunk that crossed the cap')

  // Over HTTP, with a smaller cap: the kit names the failure.
  const dir = t.testdir()
  const url = await repeatingServer(t, chunk, Number.POSITIVE_INFINITY)
  const outcome = await kit(url, dir, { transport: httpTransport(url, 20_000, { maxBytes: 8 * MiB }) })
  t.equal(outcome.results.find((r) => r.name === 'health')?.detail, `the answer is larger than ${8 * MiB} bytes`)
})

t.test('a JSON answer larger than 4 MiB fails as such, never parsed from its first bytes', async (t) => {
  const dir = t.testdir()
  const json = JSON.stringify({ status: 'ok', padding: 'x'.repeat(KEPT_BODY_BYTES) })
  const url = await rawServer(
    t,
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\n\r\n${json}`,
  )
  const outcome = await kit(url, dir)
  const health = outcome.results.find((r) => r.name === 'health')
  t.equal(health?.detail, `the body is larger than 4 MiB (${json.length} bytes), too large to be read as JSON`)
  t.match(
    health?.received,
    /^HTTP 200 \(content-type: application\/json; content-length: \d+\) "\{\\"status\\":\\"ok\\"/,
  )
})

t.test('an open-ended range with wrong bytes in its middle fails', async (t) => {
  const dir = t.testdir()
  const { url } = await referenceAdapter(dir)
  const real = httpTransport(url, 5000)
  const transport = spoiled(real, async (path, headers, next, options) => {
    const answer = await next(path, headers)
    if (headers.range !== 'bytes=1-' || answer.status !== 206) return answer
    t.equal(answer.length, answer.body.length, 'the fixture documents are kept whole')
    const body = Buffer.from(answer.body)
    const middle = Math.floor(body.length / 2)
    body[middle] = (body[middle] ?? 0) ^ 0xff
    return { ...answer, ...bodyOf(body, options) }
  })
  const outcome = await kit(url, dir, { transport })
  t.same(failedNames(outcome.results), ['range open-ended'])
  t.equal(outcome.results.find((r) => r.name === 'range open-ended')?.detail, 'the bytes are not those of the range')
})

t.test('a court listing large documents is activated without the gateway holding them', async (t) => {
  const h = await startGateway(t, {
    adapters: { allowHttp: true, allowedNetworks: ['127.0.0.0/8'], signingKeyFile: `${t.testdirName}/adapter.pem` },
  })
  const jwks = await h.call('GET', '/.well-known/jwks.json')
  const count = 6
  const court = await startHostileCourt(t, jwks.json, { largeBytes: 32 * MiB, probeLarge: count })
  // Earlier tests' garbage collected first, so that what grows is this activation's.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  setFlagsFromString('--no-expose-gc')
  gc()
  const before = process.memoryUsage()
  let peak = { arrayBuffers: before.arrayBuffers, rss: before.rss }
  const sample = setInterval(() => {
    const now = process.memoryUsage()
    peak = { arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers), rss: Math.max(peak.rss, now.rss) }
  }, 5)
  let id: string
  try {
    id = await registerAdapter(h, court.url)
  } finally {
    clearInterval(sample)
  }
  const grownBuffers = peak.arrayBuffers - before.arrayBuffers
  const grownRss = peak.rss - before.rss
  t.comment(
    `${count} documents of 32 MiB: buffers grew by ${(grownBuffers / MiB).toFixed(1)} MiB at most, RSS ${(grownRss / MiB).toFixed(1)} MiB`,
  )
  const shown = await h.call('GET', `/v1/adapters/${id}`, { token: tokenOf(h, 'operator') })
  const checks = shown.json.conformance.checks as CheckResult[]
  const passedNames = checks.filter((c) => c.ok).map((c) => c.name)
  for (let i = 1; i <= count; i++) t.ok(passedNames.includes(`document probe-large-${i}`), `probe-large-${i} read`)
  t.match(
    checks.find((c) => c.name === 'range open-ended'),
    { ok: true, received: /content-range: bytes 1-33554431\/33554432/ },
    'the range checks were made on a large document',
  )
  // Held whole (as before), the documents alone were 192 MiB and buffers grew by 250 MiB. Hashed as they stream,
  // what is held is one answer's kept 4 MiB and the garbage of the ones before (dead socket buffers, earlier
  // prefixes), which V8 collects once it has grown 64 MiB: 20 to 80 MiB measured, whatever the documents' sizes.
  t.ok(grownBuffers < 128 * MiB, `buffers grew by ${grownBuffers} bytes`)
})
