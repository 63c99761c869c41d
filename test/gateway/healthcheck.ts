import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { healthcheck, healthUrl, probeHealth } from '../../src/healthcheck.js'
import { startGateway } from '../helpers/harness.js'

t.test(
  'the probe asks loopback when the gateway listens on every address, and the named address otherwise',
  async (t) => {
    t.equal(healthUrl({ host: '0.0.0.0', port: 8080, tls: false }), 'http://127.0.0.1:8080/healthz')
    t.equal(healthUrl({ host: '::', port: 8080, tls: false }), 'http://127.0.0.1:8080/healthz')
    t.equal(healthUrl({ host: '10.23.1.5', port: 9000, tls: true }), 'https://10.23.1.5:9000/healthz')
    t.equal(healthUrl({ host: '::1', port: 8080, tls: false }), 'http://[::1]:8080/healthz')
  },
)

t.test('a running gateway is healthy', async (t) => {
  const h = await startGateway(t)
  const port = (h.gateway.app.server.address() as AddressInfo).port
  t.equal(await probeHealth({ host: '127.0.0.1', port, tls: false }), undefined)
})

t.test('a closed port and a failing answer are unhealthy, each with its reason', async (t) => {
  const server = createServer((_request, response) => {
    response.statusCode = 503
    response.end('{"status":"starting"}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  t.equal(await probeHealth({ host: '127.0.0.1', port, tls: false }), `http://127.0.0.1:${port}/healthz answered 503`)
  await new Promise((resolve) => server.close(resolve))
  t.equal(await probeHealth({ host: '127.0.0.1', port, tls: false }), `http://127.0.0.1:${port}/healthz: ECONNREFUSED`)
})

t.test('a gateway that accepts but never answers is unhealthy once the deadline passes', async (t) => {
  const server = createServer(() => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const port = (server.address() as AddressInfo).port
  t.equal(
    await probeHealth({ host: '127.0.0.1', port, tls: false }, 200),
    `http://127.0.0.1:${port}/healthz: no answer within 200 ms`,
  )
})

t.test('the command probes the configured port and says why it is unhealthy', async (t) => {
  const h = await startGateway(t)
  const port = (h.gateway.app.server.address() as AddressInfo).port
  const lines: string[] = []
  const report = (line: string) => lines.push(line)
  t.equal(await healthcheck({ ...h.config, server: { ...h.config.server, host: '0.0.0.0', port } }, report), 0)
  t.same(lines, [])
  await h.gateway.close()
  t.equal(await healthcheck({ ...h.config, server: { ...h.config.server, host: '0.0.0.0', port } }, report), 1)
  t.same(lines, [`unhealthy: http://127.0.0.1:${port}/healthz: ECONNREFUSED`])
})
