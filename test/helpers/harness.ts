import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { type Dispatcher, request } from 'undici'
import { buildCourtAdapter } from '../../examples/court-adapter/app.js'
import { shippedCasesDir } from '../../examples/court-adapter/paths.js'
import { parseConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { GATEWAY_ISSUER, createGateway } from '../../src/server.js'
import { GATEWAY_SPEC, PROJECT_ROOT } from '../../src/paths.js'
import { loadSpec } from '../../src/http/openapi.js'
import { responseConformance } from '../../src/http/response-conformance.js'
import type { Role } from '../../src/identity/principal.js'
import type { Resolver } from '../../src/adapters/addresses.js'
import { waitFor } from './wait.js'

type Tap = {
  testdir: () => string
  teardown: (fn: () => unknown) => void
}

/** A test configuration: SQLite and keys in a fresh folder, the shipped directory, the dev issuer on. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Config {
  return parseConfig(
    {
      server: { host: '127.0.0.1', port: 0 },
      storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
      identity: { audience: 'court-file-gateway', issuers: [] },
      directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
      accessLog: { origin: 'test.gateway/log', signingKeyFile: join(dir, 'log.pem'), checkpointIntervalMs: 50 },
      adapters: {
        allowHttp: true,
        allowedNetworks: ['127.0.0.0/8'],
        // Generous: a court call on a busy machine can take seconds; tests of timeouts set their own.
        timeoutMs: 15_000,
        signingKeyFile: join(dir, 'adapter.pem'),
      },
      dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
      ...overrides,
    },
    dir,
  )
}

export interface Harness {
  url: string
  /** Where `GET /metrics` is served, when the test configured `metrics`. */
  metricsUrl: string | undefined
  gateway: Awaited<ReturnType<typeof createGateway>>
  token: (sub: string, org: string, roles: Role[]) => string
  call: (
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string },
  ) => Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    json: any
    text: string
    bytes: Buffer
  }>
  dir: string
  config: Config
}

/** Scrapes the metrics listener, which is an operations port outside the API and its spec. */
export async function scrapeMetrics(
  h: Harness,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const response = await request(`${h.metricsUrl}/metrics`)
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() }
}

/**
 * A small HTTP client for a gateway at `url`: JSON bodies, bearer tokens, every response read whole.
 * `dispatcher` picks the connection pool per call (a test that kills the server needs fresh sockets).
 * Every answer is checked against openapi/gateway.yaml (status, media type, headers, body): an answer off
 * the spec fails the calling test right there.
 */
export function httpCaller(url: string, dispatcher?: () => Dispatcher): Harness['call'] {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined = options.raw
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] = 'application/json'
    }
    const response = await request(`${url}${path}`, {
      method: method as 'GET',
      headers,
      body,
      ...(dispatcher ? { dispatcher: dispatcher() } : {}),
    })
    const bytes = Buffer.from(await response.body.arrayBuffer())
    const text = bytes.toString('utf8')
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    const violations = responseConformance(loadSpec(GATEWAY_SPEC)).check({
      method,
      path: new URL(path, url).pathname,
      status: response.statusCode,
      headers: response.headers,
      body: bytes,
    })
    if (violations.length > 0) throw new Error(`the gateway answered off its spec:\n${violations.join('\n')}`)
    return { status: response.statusCode, headers: response.headers as never, json, text, bytes }
  }
}

/**
 * Starts a real gateway on a loopback port with a real SQLite file. `options.now` replaces the gateway's clock
 * (grant expiry, the daily quota, log times; see `testClock`); tokens keep using the real one. `options.resolve`
 * stands in for DNS when the gateway resolves adapter host names.
 */
export async function startGateway(
  t: Tap,
  overrides: Record<string, unknown> = {},
  dir = t.testdir(),
  options: { now?: () => Date; resolve?: Resolver } = {},
): Promise<Harness> {
  const config = testConfig(dir, overrides)
  const gateway = await createGateway(config, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  })
  await gateway.app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => gateway.close())
  // The gateway starts its signing and digest threads shortly after it starts; tests begin with them running, as
  // a gateway that serves traffic has them (and counts of threads or descriptors taken now stay the same later).
  await gateway.threadsReady()
  const address = gateway.app.server.address() as { port: number }
  const url = `http://127.0.0.1:${address.port}`
  const token = (sub: string, org: string, roles: Role[]) =>
    gateway.devIssuer!.mint({ sub, org, roles, audience: config.identity.audience })
  const call = httpCaller(url)
  let metricsUrl: string | undefined
  if (gateway.metrics && config.metrics) {
    await gateway.metrics.listen({ host: config.metrics.host, port: config.metrics.port })
    metricsUrl = `http://${config.metrics.host}:${(gateway.metrics.server.address() as { port: number }).port}`
  }
  return { url, metricsUrl, gateway, token, call, dir, config }
}

export const PEOPLE = {
  prosecutor: { sub: 'zhang.wei', org: '230100', roles: ['prosecutor'] as Role[] },
  colleague: { sub: 'li.na', org: '230100', roles: ['prosecutor'] as Role[] },
  approver: { sub: 'chen.jie', org: '230100', roles: ['approver'] as Role[] },
  otherProsecutor: { sub: 'zhang.wei', org: '230103', roles: ['prosecutor'] as Role[] },
  courtAdmin: { sub: 'admin.hrb', org: '黑01', roles: ['court-admin'] as Role[] },
  courtAdmin0103: { sub: 'admin.ng', org: '黑0103', roles: ['court-admin'] as Role[] },
  operator: { sub: 'ops.one', org: 'HLJ-OPS', roles: ['operator'] as Role[] },
  auditor: { sub: 'audit.one', org: 'HLJ-AUDIT', roles: ['auditor'] as Role[] },
  /** A second approver of the same procuratorate as `approver`. */
  approver2: { sub: 'wang.fang', org: '230100', roles: ['approver'] as Role[] },
  /** `prosecutor`'s own token when they also hold the approver role: four-eyes must still refuse them. */
  prosecutorApprover: { sub: 'zhang.wei', org: '230100', roles: ['prosecutor', 'approver'] as Role[] },
  /** An approver of another procuratorate (Nangang district) with the same sub as `approver`. */
  approver0103: { sub: 'chen.jie', org: '230103', roles: ['approver'] as Role[] },
  /** A prosecutor of another procuratorate with the sub of `colleague`. */
  otherColleague: { sub: 'li.na', org: '230103', roles: ['prosecutor'] as Role[] },
  courtAuditor: { sub: 'audit.hrb', org: '黑01', roles: ['auditor'] as Role[] },
}

export type Person = keyof typeof PEOPLE

/**
 * A clock a test moves by hand, for `startGateway(t, {}, undefined, { now: clock.now })`. It only moves
 * forward, as the access log expects of time.
 */
export function testClock(start: Date | string = new Date()) {
  let current = new Date(start).getTime()
  return {
    now: () => new Date(current),
    advance(ms: number) {
      if (!(ms >= 0)) throw new Error('a test clock only moves forward')
      current += ms
    },
    set(to: Date | string) {
      const next = new Date(to).getTime()
      if (!(next >= current)) throw new Error('a test clock only moves forward')
      current = next
    },
  }
}

/** Registers and activates an adapter for a court; returns its id. */
export async function registerAdapter(
  h: Harness,
  baseUrl: string,
  options: { court?: string; admin?: Person; covers?: string[]; stores?: string[]; probeCase?: string } = {},
): Promise<string> {
  const admin = PEOPLE[options.admin ?? 'courtAdmin']
  const created = await h.call('POST', '/v1/adapters', {
    token: h.token(admin.sub, admin.org, admin.roles),
    body: {
      court: options.court ?? '黑01',
      baseUrl,
      probeCase: options.probeCase ?? '（2023）黑01民终1234号',
      ...(options.covers ? { covers: options.covers } : {}),
      ...(options.stores ? { stores: options.stores } : {}),
    },
  })
  if (created.status !== 201) throw new Error(`register failed: ${created.status} ${created.text}`)
  const op = PEOPLE.operator
  const activated = await h.call('POST', `/v1/adapters/${created.json.id}/activate`, {
    token: h.token(op.sub, op.org, op.roles),
  })
  if (activated.status !== 200) throw new Error(`activate failed: ${activated.status} ${activated.text}`)
  return created.json.id as string
}

export function tokenOf(h: Harness, person: Person): string {
  const p = PEOPLE[person]
  return h.token(p.sub, p.org, p.roles)
}

/**
 * Errors that escape to the process while the test runs (uncaughtException, unhandledRejection), collected
 * instead of ending it, so that the test can assert there were none.
 */
export function escapedErrors(t: Tap): unknown[] {
  const escaped: unknown[] = []
  const record = (error: unknown) => escaped.push(error)
  process.on('uncaughtException', record)
  process.on('unhandledRejection', record)
  t.teardown(() => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  })
  return escaped
}

/** Waits for an effect that follows a response (an outcome entry, a health check); see `waitFor`. */
export function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(probe, { what: 'the effect' })
}

/** One request as a court adapter received it: the path and the `aud` of the gateway's bearer token. */
export interface SeenRequest {
  url: string
  aud: string | string[] | undefined
  /** The request's If-None-Match, when it had one. */
  ifNoneMatch?: string
  /** The adapter's status code, once it has answered. */
  status?: number
}

/**
 * Starts the reference court adapter on a loopback port, trusting the gateway's published JWKS, and records
 * every request it receives, so a test can
 * prove which adapter a read went to and which court the signed token named. The token's payload is decoded,
 * not verified: the adapter itself verifies it.
 */
/** The reference court adapter; `beforeDocument` runs before it answers each document request (a test may hold them). */
export async function startAdapter(
  t: Tap,
  gatewayUrl: string,
  courts: string[] = ['黑01', '黑0103'],
  beforeDocument?: () => Promise<void>,
) {
  const adapter: FastifyInstance = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts,
    gatewayIssuer: GATEWAY_ISSUER,
    jwks: new URL(`${gatewayUrl}/.well-known/jwks.json`),
  })
  const seen: SeenRequest[] = []
  const answered = new WeakMap<object, SeenRequest>()
  adapter.addHook('onResponse', async (request, reply) => {
    const record = answered.get(request)
    if (record) record.status = reply.statusCode
  })
  adapter.addHook('onRequest', async (request) => {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
    let aud: SeenRequest['aud']
    try {
      aud = token ? JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).aud : undefined
    } catch {
      aud = undefined
    }
    const ifNoneMatch = request.headers['if-none-match']
    const record: SeenRequest = { url: decodeURIComponent(request.url), aud, ...(ifNoneMatch ? { ifNoneMatch } : {}) }
    answered.set(request, record)
    seen.push(record)
    if (beforeDocument && request.url.includes('/documents/')) await beforeDocument()
  })
  await adapter.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => adapter.close())
  return { adapter, url: `http://127.0.0.1:${(adapter.server.address() as { port: number }).port}`, seen }
}

/** A main-volume grant for a shipped 黑01 civil case; fields may be overridden. */
export const MAIN_GRANT = {
  court: '黑01',
  caseNo: '（2023）黑01民终1234号',
  supervisionCase: '哈检民监〔2024〕1号',
  volumes: ['main'],
  reason: '民事生效裁判监督',
}

/** Opens a grant as `person` and returns it; anything but 201 fails the calling test with the problem. */
export async function openGrant(h: Harness, person: Person = 'prosecutor', body: Record<string, unknown> = {}) {
  const response = await h.call('POST', '/v1/grants', { token: tokenOf(h, person), body: { ...MAIN_GRANT, ...body } })
  if (response.status !== 201) throw new Error(`opening a grant failed: ${response.status} ${response.text}`)
  return response.json as { id: string; status: string; [field: string]: unknown }
}
