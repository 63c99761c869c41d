import { readFileSync } from 'node:fs'
import { connect, createServer, isIP, type Server } from 'node:net'
import { join } from 'node:path'
import { createServer as createTlsServer } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildCourtAdapter } from '../../examples/court-adapter/app.js'
import { shippedCasesDir } from '../../examples/court-adapter/paths.js'
import type { ResolvedAddress, Resolver } from '../../src/adapters/addresses.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { GATEWAY_ISSUER } from '../../src/server.js'
import { type Harness, openGrant, startGateway, tokenOf } from '../helpers/harness.js'

/**
 * The gateway may only reach adapters at 127.0.0.2 (`ALLOWED`). Traps listen on forbidden addresses — the
 * gateway host's own 127.0.0.1 and ::1 — and count every TCP connection: an address check that runs after
 * connecting (or after a TLS ClientHello) would show up there, however it then refuses.
 */
const ALLOWED = ['127.0.0.2/32']
const PROBE_CASE = '（2023）黑01民终1234号'

type Tap = { teardown: (fn: () => unknown) => void }

/** A TCP listener that counts connections and answers nothing. */
async function trap(
  t: Tap,
  host: string,
  port = 0,
): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0
  const server = createServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { server, port: (server.address() as { port: number }).port, connections: () => connections }
}

/**
 * The reference court adapter on 127.0.0.2 and traps on 127.0.0.1 and ::1 at the same port, so that a URL whose
 * host points elsewhere reaches a trap instead. Every response closes its connection: each request then needs
 * a new one, and so passes the address check again.
 */
async function courtAndTraps(t: Tap, gatewayUrl: string) {
  for (let attempt = 0; ; attempt++) {
    const adapter: FastifyInstance = await buildCourtAdapter({
      casesDir: shippedCasesDir(),
      courts: ['黑01', '黑0103'],
      gatewayIssuer: GATEWAY_ISSUER,
      jwks: new URL(`${gatewayUrl}/.well-known/jwks.json`),
    })
    let connections = 0
    adapter.server.on('connection', () => connections++)
    adapter.addHook('onSend', async (_request, reply) => {
      reply.header('connection', 'close')
    })
    await adapter.listen({ host: '127.0.0.2', port: 0 })
    const port = (adapter.server.address() as { port: number }).port
    try {
      const v4 = await trap(t, '127.0.0.1', port)
      const v6 = await trap(t, '::1', port)
      t.teardown(() => adapter.close())
      return {
        port,
        court: { connections: () => connections },
        trapped: () => v4.connections() + v6.connections(),
      }
    } catch (error) {
      await adapter.close()
      // Another process holds the port on one of the trap addresses: try another one.
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw error
    }
  }
}

/** DNS for tests: names map to whatever the test says now; unknown names do not resolve, some never answer. */
function fakeDns() {
  const names = new Map<string, string[] | 'never answers'>()
  const resolve: Resolver = async (name) => {
    const addresses = names.get(name)
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' })
    if (addresses === 'never answers') return new Promise<never>(() => {})
    return addresses.map((address): ResolvedAddress => ({ address, family: isIP(address) as 4 | 6 }))
  }
  return { names, resolve }
}

async function register(h: Harness, baseUrl: string) {
  return h.call('POST', '/v1/adapters', {
    token: tokenOf(h, 'courtAdmin'),
    body: { court: '黑01', baseUrl, probeCase: PROBE_CASE },
  })
}

/** Runs a round of health checks now (what the timer runs every healthIntervalMs) and returns the adapter's. */
async function healthCheckAfter(h: Harness, id: string, after: string) {
  await h.gateway.health.checkAll()
  const health = await h.call('GET', `/v1/adapters/${id}/health`, { token: tokenOf(h, 'operator') })
  const last = health.json?.lastHealthCheck
  if (!(last && last.at >= after)) throw new Error(`no health check after ${after}: ${health.text}`)
  return last as { ok: boolean }
}

t.test(
  'registration and update refuse every spelling of a forbidden address and names that resolve there',
  async (t) => {
    const dns = fakeDns()
    const h = await startGateway(
      t,
      { adapters: { allowHttp: true, allowedNetworks: ALLOWED, signingKeyFile: `${t.testdirName}/adapter.pem` } },
      undefined,
      { resolve: dns.resolve },
    )
    const { port, court, trapped } = await courtAndTraps(t, h.url)
    dns.names.set('trap.court.test', ['127.0.0.1'])
    dns.names.set('mapped.court.test', ['::ffff:127.0.0.1'])
    dns.names.set('v6.court.test', ['::1'])
    dns.names.set('mixed.court.test', ['127.0.0.2', '127.0.0.1'])
    dns.names.set('court.test', ['127.0.0.2'])

    const forbidden = [
      '127.0.0.1',
      '2130706433',
      '0177.0.0.1',
      '0x7f.1',
      '0x7f000001',
      '127.1',
      '127.0.1',
      '127.0.0.3',
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '[0:0:0:0:0:ffff:7f00:1]',
      '[::1]',
      '[0:0:0:0:0:0:0:1]',
      '[::]',
      '0.0.0.0',
      '0',
      'localhost',
      'LocalHost.',
      'trap.court.test',
      'mapped.court.test',
      'v6.court.test',
      'mixed.court.test',
    ]
    const baseUrls = forbidden.flatMap((host) => [`http://${host}:${port}`, `https://${host}:${port}/api/`])
    for (const baseUrl of baseUrls) {
      const created = await register(h, baseUrl)
      t.equal(created.status, 400, `register ${baseUrl}`)
      t.equal(created.json?.code, 'VALIDATION_FAILED')
      t.equal(created.json?.detail, 'baseUrl is not inside the networks adapters may be in')
    }

    // An allowed registration, by address and by name; its base URL is stored in canonical form.
    const byAddress = await register(h, `HTTP://0x7f.0.0.2:${port}/`)
    t.equal(byAddress.status, 201, byAddress.text)
    t.equal(byAddress.json.baseUrl, `http://127.0.0.2:${port}`, 'stored as the URL parser spells it')
    const byName = await register(h, `http://court.test:${port}`)
    t.equal(byName.status, 201, byName.text)
    for (const baseUrl of baseUrls) {
      const changed = await h.call('PATCH', `/v1/adapters/${byName.json.id}`, {
        token: tokenOf(h, 'courtAdmin'),
        body: { baseUrl },
      })
      t.equal(changed.status, 400, `update to ${baseUrl}`)
    }
    const kept = await h.call('GET', `/v1/adapters/${byName.json.id}`, { token: tokenOf(h, 'operator') })
    t.equal(kept.json.baseUrl, `http://court.test:${port}`, 'a refused update changes nothing')

    t.equal(trapped(), 0, 'no connection reached a forbidden address')
    t.equal(court.connections(), 0, 'registering connects to nothing at all')
  },
)

t.test(
  'every connection checks again: a re-pointed name reaches nothing, at activation, reads or health checks',
  async (t) => {
    const dns = fakeDns()
    const h = await startGateway(
      t,
      {
        adapters: {
          allowHttp: true,
          // 127.0.0.4 is allowed too, but nothing listens there.
          allowedNetworks: [...ALLOWED, '127.0.0.4/32'],
          // Every refused connection counts as a failure; an open breaker would refuse before the check does.
          breaker: { failures: 1000 },
          signingKeyFile: `${t.testdirName}/adapter.pem`,
        },
      },
      undefined,
      { resolve: dns.resolve },
    )
    const { port, court, trapped } = await courtAndTraps(t, h.url)
    dns.names.set('court.test', ['127.0.0.2'])
    const created = await register(h, `http://court.test:${port}`)
    t.equal(created.status, 201, created.text)
    const id = created.json.id as string
    const operator = tokenOf(h, 'operator')
    const activated = await h.call('POST', `/v1/adapters/${id}/activate`, { token: operator })
    t.equal(activated.status, 200, `through the pinned address: ${activated.text}`)
    const grant = await openGrant(h)
    const casePath = `/v1/grants/${grant.id}/case`
    const prosecutor = tokenOf(h, 'prosecutor')
    t.equal((await h.call('GET', casePath, { token: prosecutor })).status, 200)
    t.ok(court.connections() > 0)

    for (const rebound of [
      ['127.0.0.1'],
      ['::1'],
      ['::ffff:7f00:1'],
      ['127.0.0.2', '127.0.0.1'],
      ['::1', '127.0.0.2'],
    ]) {
      dns.names.set('court.test', rebound)
      const before = court.connections()
      const since = new Date().toISOString()
      const read = await h.call('GET', casePath, { token: prosecutor })
      t.equal(read.status, 503, `read after re-pointing to ${rebound}`)
      t.equal(read.json.detail, `adapter ${id} of court 黑01 is not reachable`)
      t.equal((await healthCheckAfter(h, id, since)).ok, false, 'the health check fails')
      t.equal(court.connections(), before, 'a name with one forbidden address is refused whole')
    }

    t.equal((await h.call('POST', `/v1/adapters/${id}/suspend`, { token: operator })).status, 200)
    const again = await h.call('POST', `/v1/adapters/${id}/activate`, { token: operator })
    t.equal(again.status, 422)
    // Every check that sent a request failed the same way (those that need a document read first are skipped).
    t.same(
      again.json.checks
        .filter((check: { outcome: string }) => check.outcome === 'fail')
        .map((check: { detail: string }) => check.detail),
      Array(11).fill(`adapter ${id} of court 黑01 is not reachable`),
    )
    t.equal(trapped(), 0, 'no connection reached a forbidden address')

    // Every address allowed, the first one dead: the connection moves on to the next vetted address.
    dns.names.set('court.test', ['127.0.0.4', '127.0.0.2'])
    t.equal((await h.call('POST', `/v1/adapters/${id}/activate`, { token: operator })).status, 200, 'back in range')
  },
)

t.test('a literal address the allow-list no longer admits is refused before connecting', async (t) => {
  const dir = t.testdir()
  const adapters = (allowedNetworks: string[]) => ({
    adapters: { allowHttp: true, allowedNetworks, signingKeyFile: `${dir}/adapter.pem` },
  })
  const first = await startGateway(t, adapters(['127.0.0.0/8']), dir)
  const { port, court } = await courtAndTraps(t, first.url)
  const created = await register(first, `http://127.0.0.2:${port}`)
  const id = created.json.id as string
  t.equal((await first.call('POST', `/v1/adapters/${id}/activate`, { token: tokenOf(first, 'operator') })).status, 200)
  const grant = await openGrant(first)
  await first.gateway.close()

  // The same registration, served by a gateway whose allow-list has since been narrowed.
  const h = await startGateway(t, adapters(['127.0.0.1/32']), dir)
  const before = court.connections()
  const since = new Date().toISOString()
  const read = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: tokenOf(h, 'prosecutor') })
  t.equal(read.status, 503)
  t.equal(read.json.detail, `adapter ${id} of court 黑01 is not reachable`)
  t.equal((await healthCheckAfter(h, id, since)).ok, false)
  const operator = tokenOf(h, 'operator')
  t.equal((await h.call('POST', `/v1/adapters/${id}/suspend`, { token: operator })).status, 200)
  t.equal((await h.call('POST', `/v1/adapters/${id}/activate`, { token: operator })).status, 422)
  t.equal(court.connections(), before, 'the adapter at the now-forbidden address saw no connection')
})

t.test(
  '"not reachable" reads the same for a forbidden address, a closed port, and a name that does not resolve or whose DNS never answers',
  async (t) => {
    const dns = fakeDns()
    const h = await startGateway(
      t,
      {
        adapters: {
          allowHttp: true,
          allowedNetworks: ALLOWED,
          // The floor: a DNS that never answers costs this much per check, and every expected outcome is a failure.
          timeoutMs: 100,
          signingKeyFile: `${t.testdirName}/adapter.pem`,
        },
      },
      undefined,
      { resolve: dns.resolve },
    )
    const closed = await trap(t, '127.0.0.2')
    await new Promise<void>((resolve) => closed.server.close(() => resolve()))
    const open = await trap(t, '127.0.0.1')
    dns.names.set('court.test', ['127.0.0.2'])
    dns.names.set('silent.court.test', 'never answers')
    const operator = tokenOf(h, 'operator')
    const details: string[] = []
    for (const [baseUrl, repoint] of [
      [`http://127.0.0.2:${closed.port}`, undefined],
      [`http://unknown.court.test:${open.port}`, undefined],
      [`http://silent.court.test:${open.port}`, undefined],
      [`http://court.test:${open.port}`, ['127.0.0.1']],
    ] as const) {
      const created = await register(h, baseUrl)
      t.equal(created.status, 201, `${baseUrl} is accepted at registration`)
      if (repoint) dns.names.set('court.test', [...repoint])
      const activated = await h.call('POST', `/v1/adapters/${created.json.id}/activate`, { token: operator })
      t.equal(activated.status, 422)
      const health = activated.json.checks.find((check: { name: string }) => check.name === 'health')
      details.push(health.detail.replace(created.json.id, '<id>'))
    }
    t.same(details, Array(4).fill('adapter <id> of court 黑01 is not reachable'))
    t.equal(open.connections(), 0, 'the open port on the forbidden address saw nothing')
  },
)

t.test('the pinned address keeps TLS on the registered name: SNI and the certificate check use it', async (t) => {
  const dns = fakeDns()
  const h = await startGateway(
    t,
    { adapters: { allowHttp: false, allowedNetworks: ALLOWED, signingKeyFile: `${t.testdirName}/adapter.pem` } },
    undefined,
    { resolve: dns.resolve },
  )
  const { port: plainPort } = await courtAndTraps(t, h.url)
  const fixtures = join(PROJECT_ROOT, 'test', 'fixtures', 'tls')
  const cert = readFileSync(join(fixtures, 'court.test.crt'), 'utf8')
  // TLS in front of the court adapter, on the allowed address; it records the server name each client asked for.
  const serverNames: Array<string | false | null> = []
  const tlsFront = createTlsServer({ cert, key: readFileSync(join(fixtures, 'court.test.key')) }, (socket) => {
    serverNames.push(socket.servername)
    const upstream = connect(plainPort, '127.0.0.2')
    socket.pipe(upstream).pipe(socket)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => tlsFront.listen(0, '127.0.0.2', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => tlsFront.close(() => resolve())))
  const port = (tlsFront.address() as { port: number }).port
  dns.names.set('court.test', ['127.0.0.2'])
  const operator = tokenOf(h, 'operator')

  const byName = await h.call('POST', '/v1/adapters', {
    token: tokenOf(h, 'courtAdmin'),
    body: { court: '黑01', baseUrl: `https://court.test:${port}`, probeCase: PROBE_CASE, caCertificate: cert },
  })
  t.equal(byName.status, 201, byName.text)
  const activated = await h.call('POST', `/v1/adapters/${byName.json.id}/activate`, { token: operator })
  t.equal(activated.status, 200, activated.text)
  t.ok(serverNames.length > 0 && serverNames.every((name) => name === 'court.test'), 'SNI names the host')

  // The same server by its address: the certificate names court.test, not 127.0.0.2, so TLS refuses it.
  t.equal((await h.call('POST', `/v1/adapters/${byName.json.id}/suspend`, { token: operator })).status, 200)
  const byAddress = await h.call('POST', '/v1/adapters', {
    token: tokenOf(h, 'courtAdmin'),
    body: { court: '黑01', baseUrl: `https://127.0.0.2:${port}`, probeCase: PROBE_CASE, caCertificate: cert },
  })
  t.equal(byAddress.status, 201, byAddress.text)
  const refused = await h.call('POST', `/v1/adapters/${byAddress.json.id}/activate`, { token: operator })
  t.equal(refused.status, 422)
  t.equal(refused.json.checks[0].detail, `adapter ${byAddress.json.id} of court 黑01 is not reachable`)
})
