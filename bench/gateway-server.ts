/**
 * The gateway of `npm run bench`, in a process of its own so that its CPU time can be read from /proc and
 * does not mix with the load generator's.
 *
 *   node bench/gateway-server.ts <source-root> <work-dir> <upstream-origin> [<adapters-json>]
 *
 * Starts the gateway built in <source-root>/dist (this tree, or a checkout of an older commit for a
 * before/after row) with everything on: JWT verification, policy, the daily quota, both durable log entries,
 * signed court requests and the digest check. It registers and activates the upstream as the adapter of 黑01,
 * opens a grant and prints one JSON line with the URL, a prosecutor's token, the paths to read and the metrics
 * endpoint (`metrics` is on, as operators run it; the bench reads the gateway's own view of its open loop
 * there). Timings of its own start-up go in the same line. Rate limits and the daily quota are set high enough
 * not to refuse.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'

// <adapters-json>: settings merged into `adapters` (only keys the tree at <source-root> knows).
const [root, dir, upstream, adapterSettings] = process.argv.slice(2)
if (root === undefined || dir === undefined || upstream === undefined) {
  throw new Error('usage: gateway-server.ts <source-root> <work-dir> <upstream-origin>')
}
const importStarted = performance.now()
// The tree's built dist/ (bench/run.ts builds it first), as production runs it.
const { parseConfig } = await import(pathToFileURL(join(root, 'dist/src/config/load.js')).href)
const { createGateway } = await import(pathToFileURL(join(root, 'dist/src/server.js')).href)
const imported = performance.now()

const config = parseConfig(
  {
    server: { host: '127.0.0.1', port: 0 },
    storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
    identity: { audience: 'court-file-gateway', issuers: [] },
    directory: join(root, 'config', 'directory', 'heilongjiang.json'),
    accessLog: { origin: 'bench.gateway/log', signingKeyFile: join(dir, 'log.pem') },
    adapters: {
      allowHttp: true,
      allowedNetworks: ['127.0.0.0/8'],
      timeoutMs: 30_000,
      signingKeyFile: join(dir, 'adapter.pem'),
      ...(adapterSettings ? JSON.parse(adapterSettings) : {}),
    },
    limits: { requestsPerMinute: 100_000_000, documentsPerDay: 100_000_000 },
    // As an operator runs it (docs/operators.md#metrics-and-alerts); the bench reads the gateway's own view
    // of the open loop from it.
    metrics: { port: 0 },
    // The bench's tokens live three hours (one run with baselines takes minutes; the cap is an hour by default).
    dev: { issuer: true, keyFile: join(dir, 'dev.pem'), maxTokenLifetimeSeconds: 3 * 3600 },
  },
  dir,
)
const gateway = await createGateway(config)
const created = performance.now()
await gateway.app.listen({ host: '127.0.0.1', port: 0 })
const listening = performance.now()
const url = `http://127.0.0.1:${(gateway.app.server.address() as { port: number }).port}`
let metrics: string | undefined
if (gateway.metrics) {
  await gateway.metrics.listen({ host: '127.0.0.1', port: 0 })
  metrics = `http://127.0.0.1:${(gateway.metrics.server.address() as { port: number }).port}/metrics`
}
// First line: listening (the bench times spawn → /readyz from here); the second once set up.
process.stdout.write(`${JSON.stringify({ listening: url })}\n`)

const mint = (sub: string, org: string, roles: string[]) =>
  gateway.devIssuer.mint({ sub, org, roles, audience: config.identity.audience, ttlSeconds: 3 * 3600 })
async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const json = (await response.json()) as Record<string, unknown>
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`)
  return json
}

const caseNo = '（2023）黑01民终1234号'
const adapter = await call('POST', '/v1/adapters', mint('admin.hrb', '黑01', ['court-admin']), {
  court: '黑01',
  baseUrl: upstream,
  probeCase: caseNo,
})
await fetch(`${upstream}/bench/probing`, { method: 'POST' })
await call('POST', `/v1/adapters/${adapter.id}/activate`, mint('ops.one', 'HLJ-OPS', ['operator']))
await fetch(`${upstream}/bench/serving`, { method: 'POST' })
const token = mint('zhang.wei', '230100', ['prosecutor'])
const grant = await call('POST', '/v1/grants', token, {
  court: '黑01',
  caseNo,
  supervisionCase: '哈检民监〔2024〕1号',
  volumes: ['main'],
  reason: '民事生效裁判监督',
})
process.stdout.write(
  `${JSON.stringify({
    url,
    token,
    catalogue: `/v1/grants/${grant.id}/volumes`,
    small: `/v1/grants/${grant.id}/documents/bench-20k`,
    stream: `/v1/grants/${grant.id}/documents/bench-stream`,
    parallel: `/v1/grants/${grant.id}/documents/bench-parallel`,
    metrics,
    startup: {
      sinceProcessStartMs: Math.round(listening),
      importMs: Math.round(imported - importStarted),
      createGatewayMs: Math.round(created - imported),
      listenMs: Math.round(listening - created),
    },
  })}\n`,
)

// SIGUSR2 starts sampling this process's memory every 20 ms; the next SIGUSR2 stops and prints one JSON line
// `{ memory: { before, peak } }` (peak: each figure's own maximum over the samples), so the bench can tell
// the V8 heap, ArrayBuffers (socket reads, staging slots), other external memory and the threads apart
// from the RSS it reads from /proc.
function memorySample() {
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage()
  const status = readFileSync('/proc/self/status', 'utf8')
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024
  const threads = Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return { rss, rssAnon: kib('RssAnon'), heapTotal, heapUsed, external, arrayBuffers, threads }
}
type MemorySample = ReturnType<typeof memorySample>
let sampling: { before: MemorySample; peak: MemorySample; timer: NodeJS.Timeout } | undefined
process.on('SIGUSR2', () => {
  if (!sampling) {
    const before = memorySample()
    const peak = { ...before }
    const timer = setInterval(() => {
      const now = memorySample()
      for (const key of Object.keys(peak) as Array<keyof MemorySample>) peak[key] = Math.max(peak[key], now[key])
    }, 20)
    sampling = { before, peak, timer }
    process.stdout.write(`${JSON.stringify({ sampling: true })}\n`)
    return
  }
  clearInterval(sampling.timer)
  process.stdout.write(`${JSON.stringify({ memory: { before: sampling.before, peak: sampling.peak } })}\n`)
  sampling = undefined
})

const stop = () => {
  gateway.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
