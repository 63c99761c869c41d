import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import { Agent, request } from 'undici'
import { ConfigError } from '../../src/config/load.js'
import { createGateway, startupSummary } from '../../src/server.js'
import { testConfig } from '../helpers/harness.js'

/** node:crypto makes keys but no X.509 certificates; the TLS tests need the openssl command for one. */
const OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return {}
  } catch {
    return { skip: 'the openssl command is not installed' }
  }
})()

type Tap = { testdir(): string; teardown(fn: () => unknown): void }

/** A self-signed certificate for 127.0.0.1. */
function selfSigned(dir: string, name: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`)
  const keyFile = join(dir, `${name}.key`)
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  )
  return { certFile, keyFile }
}

/** A gateway whose request log lines are kept, to see which client address it believed. */
async function gatewayLogging(t: Tap, server: Record<string, unknown>, dir = t.testdir()) {
  const lines: Array<Record<string, any>> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line))
      done()
    },
  })
  const config = testConfig(dir, { server: { host: '127.0.0.1', port: 0, ...server } })
  const gateway = await createGateway(config, { logger: { level: 'info', stream } })
  t.teardown(() => gateway.close())
  const address = await gateway.app.listen({ host: '127.0.0.1', port: 0 })
  return { gateway, config, address, lines }
}

/** The client address the gateway logged for a request to /healthz with this X-Forwarded-For. */
async function loggedAddress(h: Awaited<ReturnType<typeof gatewayLogging>>, forwardedFor: string) {
  const response = await request(`${h.address}/healthz`, { headers: { 'x-forwarded-for': forwardedFor } })
  await response.body.dump()
  const requestId = response.headers['x-request-id']
  return h.lines.find((line) => line.reqId === requestId && line.msg === 'incoming request')?.req?.remoteAddress
}

t.test('with server.tls the gateway serves HTTPS with the configured certificate', OPENSSL, async (t) => {
  const dir = t.testdir()
  const tls = selfSigned(dir, 'gateway')
  const h = await gatewayLogging(t, { tls }, dir)
  t.match(h.address, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.match(startupSummary(h.config, h.gateway, h.address), { listen: h.address }, 'the start-up line says https')
  const trusting = new Agent({ connect: { ca: readFileSync(tls.certFile) } })
  t.teardown(() => trusting.close())
  const ok = await request(`${h.address}/healthz`, { dispatcher: trusting })
  t.equal(ok.statusCode, 200)
  t.same(await ok.body.json(), { status: 'ok' })
  await t.rejects(request(`${h.address}/healthz`), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'a client checks it')
  await t.rejects(
    request(`${h.address.replace('https:', 'http:')}/healthz`).then((r) => r.body.dump()),
    'plain HTTP gets no answer',
  )
})

t.test('a TLS setting that cannot be used stops the start, naming the setting', OPENSSL, async (t) => {
  const dir = t.testdir()
  const one = selfSigned(dir, 'one')
  const other = selfSigned(dir, 'other')
  await t.rejects(
    createGateway(testConfig(dir, { server: { tls: { ...one, certFile: join(dir, 'missing.crt') } } })),
    /cannot read server\.tls\.certFile .*missing\.crt: ENOENT/,
  )
  await t.rejects(
    createGateway(testConfig(dir, { server: { tls: { certFile: one.certFile, keyFile: other.keyFile } } })),
    /server\.tls: the certificate and key are not a usable pair/,
  )
})

t.test('X-Forwarded-For names the client only when a trusted proxy sends it', async (t) => {
  const direct = await gatewayLogging(t, {})
  t.equal(await loggedAddress(direct, '203.0.113.7'), '127.0.0.1', 'no proxy trusted: the header is ignored')
  const untrusted = await gatewayLogging(t, { trustProxy: ['10.0.0.0/8'] })
  t.equal(await loggedAddress(untrusted, '203.0.113.7'), '127.0.0.1', 'from an address not in the list: ignored')
  const trusted = await gatewayLogging(t, { trustProxy: ['10.23.0.5', '127.0.0.1/32'] })
  t.equal(await loggedAddress(trusted, '203.0.113.7'), '203.0.113.7', 'from a trusted proxy: the client it names')
  t.equal(
    await loggedAddress(trusted, '198.51.100.9, 203.0.113.7'),
    '203.0.113.7',
    'a client cannot prepend an address: the last untrusted hop counts',
  )
  t.throws(
    () => testConfig(t.testdir(), { server: { trustProxy: ['127.0.0.1', 'proxy.example'] } }),
    new ConfigError('config key "server.trustProxy.1": not an IP address or CIDR block'),
  )
})
