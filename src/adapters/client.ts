import { lookup } from 'node:dns/promises'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { type AddressPolicy, type ResolvedAddress, type Resolver, urlHost } from './addresses.js'
import { ENTITY_TAG, weaklyEqual } from '../files/entity-tag.js'
import { GatewayError } from '../http/errors.js'
import type { Metrics } from '../http/metrics.js'
import { CircuitBreaker } from './breaker.js'
import type { RequestClaims, RequestSigner } from './signing.js'
import type { Adapter } from './types.js'
import { buildConnector, type ConnectOptions, type Connector, errors, Pool } from './undici-pool.js'

export interface AdapterClientOptions {
  signer: RequestSigner
  breaker: { failures: number; cooldownMs: number }
  metrics?: Pick<Metrics, 'upstreamSeconds' | 'breakerOpen'>
  now?: () => number
  timeoutMs: number
  /**
   * The slowest rate a court may send at: a transfer of N bytes must be done within timeoutMs + N / rate
   * seconds, however steadily it trickles (timeoutMs alone only bounds the silence between two chunks).
   */
  minimumBytesPerSecond: number
  allowHttp: boolean
  /** Which addresses adapters may have (`adapters.allowedNetworks`). */
  addresses: AddressPolicy
  /** Host names to addresses; the system resolver unless a test stands in for DNS. */
  resolve?: Resolver
  /** Connections per adapter pool (default 64), and overrides by adapter id. */
  connections?: number
  connectionsByAdapter?: Record<string, number>
}

export interface AdapterResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /**
   * Its errors reach whoever consumes it (a pipeline, an iteration); one that nobody consumes any more, e.g.
   * after a refusal, is to be destroyed (never resumed: a hostile body may be endless).
   */
  body: Readable
}

/**
 * The reason a transfer was given up because the court was too slow overall (see minimumBytesPerSecond): a
 * court fault, counted by the breaker and answered 504. Any other abort reason is the gateway's own decision
 * (the client left, the grant was revoked), which says nothing about the court.
 */
export class TransferDeadlineError extends Error {
  readonly code = 'CFG_TRANSFER_DEADLINE'
  constructor(ms: number) {
    super(`the transfer did not complete within its deadline of ${ms} ms`)
  }
}

/** Silences the `error` event of a body nobody listens to any more; see AdapterResponse.body. */
const ignoreError = () => {}

/** The largest JSON document (case summary, catalogue) accepted from an adapter. */
const MAX_JSON_BYTES = 4 * 1024 * 1024

const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[]

/**
 * Talks to court adapters: one undici pool per adapter registration, every request signed, TLS verified,
 * redirects never followed, every fault mapped to a coded 502/503/504. Every new connection resolves the
 * host afresh, checks every address against `allowedNetworks` and only then connects, to the checked
 * address itself (TLS still names and verifies the host): nothing, not even a TCP SYN, goes to an address
 * outside the allowed networks, and a name re-pointed after registration gains nothing.
 */
export class AdapterClient {
  readonly #options: AdapterClientOptions
  readonly #pools = new Map<string, { key: string; pool: Pool }>()
  readonly #breakers = new Map<string, CircuitBreaker>()

  constructor(options: AdapterClientOptions) {
    this.#options = options
  }

  get issuer(): string {
    return this.#options.signer.issuer
  }

  /**
   * The canonical form of a base URL this gateway may call; throws VALIDATION_FAILED otherwise. Checked when
   * an adapter is registered or changed: what can be refused then (a bad scheme, an address outside the
   * allowed networks in any spelling, a name that resolves to one) is refused then. A name that does not
   * resolve yet is accepted: every connection checks again.
   */
  async vetBaseUrl(baseUrl: string): Promise<string> {
    const url = this.#parseBaseUrl(baseUrl)
    const host = urlHost(url)
    let addresses: ResolvedAddress[] | undefined
    if ('address' in host) addresses = [host.address]
    else {
      try {
        addresses = await this.#resolve(host.name)
      } catch {
        addresses = undefined
      }
    }
    if (addresses && !this.#options.addresses.vet(addresses)) {
      throw new GatewayError('VALIDATION_FAILED', 'baseUrl is not inside the networks adapters may be in')
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
  }

  /** Resolves within the adapter timeout: undici's connect timeout only starts once an address is known. */
  async #resolve(name: string): Promise<ResolvedAddress[]> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`resolving ${name} took too long`)), this.#options.timeoutMs)
    })
    try {
      return await Promise.race([(this.#options.resolve ?? systemResolver)(name), deadline])
    } finally {
      clearTimeout(timer)
    }
  }

  #parseBaseUrl(baseUrl: string): URL {
    let url: URL
    try {
      url = new URL(baseUrl)
    } catch {
      throw new GatewayError('VALIDATION_FAILED', 'baseUrl is not a valid URL')
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.#options.allowHttp)) {
      throw new GatewayError(
        'VALIDATION_FAILED',
        this.#options.allowHttp ? 'baseUrl must be http(s)' : 'baseUrl must be https (adapters.allowHttp is off)',
      )
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new GatewayError('VALIDATION_FAILED', 'baseUrl must not carry credentials, a query or a fragment')
    }
    return url
  }

  #pool(adapter: Adapter): Pool {
    const key = `${adapter.baseUrl}|${adapter.caCertificate ?? ''}`
    const cached = this.#pools.get(adapter.id)
    if (cached?.key === key) return cached.pool
    cached?.pool.close().catch(() => {})
    const url = this.#parseBaseUrl(adapter.baseUrl)
    const host = urlHost(url)
    const connect = buildConnector({
      timeout: this.#options.timeoutMs,
      rejectUnauthorized: true,
      ...(adapter.caCertificate ? { ca: adapter.caCertificate } : {}),
    })
    const pool = new Pool(url.origin, {
      // A streaming download holds its connection throughout: the pool bounds concurrent downloads per court.
      connections: this.#options.connectionsByAdapter?.[adapter.id] ?? this.#options.connections ?? 64,
      headersTimeout: this.#options.timeoutMs,
      bodyTimeout: this.#options.timeoutMs,
      connect: (options, callback) => {
        this.#connectVetted(host, options, connect).then(
          (socket) => callback(null, socket),
          (error: unknown) => callback(new UnreachableError(error), null),
        )
      },
    })
    this.#pools.set(adapter.id, { key, pool })
    return pool
  }

  /**
   * Resolves (unless the URL holds an address), vets every address, then connects to the vetted addresses in
   * turn. The pinned address replaces only where the socket goes: `host` and with it the TLS server name and
   * the certificate check stay the registered name.
   */
  async #connectVetted(host: ReturnType<typeof urlHost>, options: ConnectOptions, connect: Connector): Promise<Socket> {
    const vetted = this.#options.addresses.vet('address' in host ? [host.address] : await this.#resolve(host.name))
    if (!vetted) throw new Error('the adapter host resolves to an address outside adapters.allowedNetworks')
    let lastError: unknown
    for (const { address } of vetted) {
      try {
        return await new Promise<Socket>((resolve, reject) =>
          connect({ ...options, hostname: address }, (error, socket) => (error ? reject(error) : resolve(socket))),
        )
      } catch (error) {
        lastError = error
      }
    }
    throw lastError
  }

  breaker(adapter: Adapter): CircuitBreaker {
    let breaker = this.#breakers.get(adapter.id)
    if (!breaker) {
      breaker = new CircuitBreaker({
        ...this.#options.breaker,
        ...(this.#options.now ? { now: this.#options.now } : {}),
      })
      this.#breakers.set(adapter.id, breaker)
    }
    return breaker
  }

  /**
   * Sends a GET; `auth` is the claims to sign, a literal header value (conformance checks), or none. Every
   * request but a health check passes the adapter's breaker: a transport fault or a 5xx counts as a failure.
   */
  async get(
    adapter: Adapter,
    path: string,
    auth: RequestClaims | { authorization: string } | undefined,
    headers: Record<string, string> = {},
    options: { healthCheck?: boolean; signal?: AbortSignal } = {},
  ): Promise<AdapterResponse> {
    const breaker = options.healthCheck ? undefined : this.breaker(adapter)
    if (breaker && !breaker.tryAcquire()) {
      const seconds = Math.ceil(breaker.retryAfterMs() / 1000)
      throw new GatewayError(
        'ADAPTER_UNAVAILABLE',
        `adapter ${adapter.id} of court ${adapter.court} is failing: circuit open`,
        {
          ...(seconds > 0 ? { headers: { 'retry-after': String(seconds) } } : {}),
        },
      )
    }
    const base = new URL(adapter.baseUrl)
    const requestHeaders: Record<string, string> = { ...headers, accept: headers.accept ?? 'application/json' }
    if (auth && 'authorization' in auth) requestHeaders.authorization = auth.authorization
    else if (auth) {
      try {
        requestHeaders.authorization = `Bearer ${await this.#options.signer.signAsync(auth)}`
      } catch (error) {
        // The gateway's own failure, before anything reached the court: the breaker only frees its probe.
        breaker?.release()
        throw error
      }
    }
    const started = process.hrtime.bigint()
    const observe = (outcome: string) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      this.#options.metrics?.upstreamSeconds.observe({ adapter: adapter.id, outcome }, seconds)
    }
    try {
      const response = await this.#pool(adapter).request({
        method: 'GET',
        path: `${base.pathname.replace(/\/$/, '')}${path}`,
        headers: requestHeaders,
        ...(options.signal ? { signal: options.signal } : {}),
      })
      // An 'error' with no listener ends the process: a body destroyed or abandoned by its reader, then
      // failing (undici errors a body destroyed before its end), must never do that.
      response.body.on('error', ignoreError)
      observe(String(response.statusCode))
      this.#record(adapter, breaker, response.statusCode < 500)
      return { status: response.statusCode, headers: response.headers, body: response.body }
    } catch (error) {
      const reason: unknown = options.signal?.aborted ? options.signal.reason : undefined
      if (reason !== undefined && !(reason instanceof TransferDeadlineError)) {
        // Given up by the gateway itself: not the court's fault, so the breaker only frees its probe.
        observe('aborted')
        breaker?.release()
        throw reason
      }
      const mapped = mapError(reason ?? error, adapter)
      observe(mapped.code)
      this.#record(adapter, breaker, false)
      throw mapped
    }
  }

  #record(adapter: Adapter, breaker: CircuitBreaker | undefined, ok: boolean): void {
    if (!breaker) return
    if (ok) breaker.success()
    else breaker.failure()
    this.#options.metrics?.breakerOpen.set({ adapter: adapter.id }, breaker.snapshot().state === 'closed' ? 0 : 1)
  }

  /** How long a transfer of `bytes` may take in all (see minimumBytesPerSecond). */
  deadlineMs(bytes: number): number {
    return this.#options.timeoutMs + Math.ceil((bytes * 1000) / this.#options.minimumBytesPerSecond)
  }

  /**
   * GET of a JSON resource; 404 becomes NOT_FOUND, anything but 200 and JSON is a bad response. The whole
   * exchange has the deadline of the largest JSON document accepted.
   */
  async getJson(adapter: Adapter, path: string, claims: RequestClaims, what: string): Promise<unknown> {
    return this.#json(adapter, path, claims, what, {}, (response) => readJson(response, adapter))
  }

  /**
   * getJson of a resource the gateway keeps (a catalogue), with its entity tag: with `etag`, `If-None-Match`
   * is sent and a 304 answers `notModified` (docs/courts.md#catalogue-cache). A 304 to a request without
   * If-None-Match, a 304 naming another entity tag, or an ETag that is not an entity tag is a bad answer: the
   * court is not keeping the contract, and its answer must not be taken for a confirmation.
   */
  getRevalidated(
    adapter: Adapter,
    path: string,
    claims: RequestClaims,
    what: string,
    etag: string | undefined,
  ): Promise<{ notModified: true } | { body: unknown; etag: string | undefined }> {
    const bad = (detail: string) => new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} ${detail}`)
    const headers: Record<string, string> = etag === undefined ? {} : { 'if-none-match': etag }
    return this.#json(adapter, path, claims, what, headers, async (response) => {
      const sent = response.headers.etag
      if (sent !== undefined && (typeof sent !== 'string' || !ENTITY_TAG.test(sent))) {
        response.body.destroy()
        throw bad('sent an ETag that is not an entity tag')
      }
      if (response.status === 304) {
        releaseEmpty(response.body)
        if (etag === undefined) throw bad('answered 304 to a request without If-None-Match')
        if (sent !== undefined && !weaklyEqual(sent, etag))
          throw bad('answered 304 with another ETag than it was asked about')
        return { notModified: true as const }
      }
      return { body: await readJson(response, adapter), etag: sent }
    })
  }

  /** One JSON exchange within the deadline of the largest JSON document accepted; 404 is NOT_FOUND. */
  async #json<T>(
    adapter: Adapter,
    path: string,
    claims: RequestClaims,
    what: string,
    headers: Record<string, string>,
    read: (response: AdapterResponse) => Promise<T>,
  ): Promise<T> {
    const ms = this.deadlineMs(MAX_JSON_BYTES)
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(new TransferDeadlineError(ms)), ms)
    try {
      const response = await this.get(adapter, path, claims, headers, { signal: deadline.signal })
      if (response.status === 404) {
        response.body.destroy()
        throw new GatewayError('NOT_FOUND', `${what} not found at the court's adapter`)
      }
      return await read(response)
    } catch (error) {
      throw deadline.signal.aborted ? mapError(deadline.signal.reason, adapter) : error
    } finally {
      clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map(({ pool }) => pool.close().catch(() => {})))
    this.#pools.clear()
  }
}

/**
 * Lets go of the body of a 304, which has none, by reading it to its end rather than destroying it: a body
 * destroyed before its end makes an abort error whose stack Node formats at once, which was a tenth of a
 * catalogue read's CPU (every catalogue read revalidates). Should bytes come after all, it is destroyed.
 */
export function releaseEmpty(body: Readable): void {
  body.on('data', () => body.destroy()).resume()
}

/** Reads a 200 JSON body, bounded in size; anything else from an adapter is its fault, not the client's. */
export async function readJson(response: AdapterResponse, adapter: Adapter): Promise<unknown> {
  if (response.status !== 200) {
    response.body.destroy()
    throw statusError(response.status, adapter)
  }
  const chunks: Buffer[] = []
  let length = 0
  try {
    for await (const chunk of response.body) {
      length += (chunk as Buffer).length
      if (length > MAX_JSON_BYTES) {
        response.body.destroy()
        throw new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} sent an oversized JSON document`)
      }
      chunks.push(chunk as Buffer)
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    if (error instanceof GatewayError) throw error
    if (error instanceof SyntaxError) {
      throw new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} sent invalid JSON`, { cause: error })
    }
    throw mapError(error, adapter)
  }
}

export function statusError(status: number, adapter: Adapter): GatewayError {
  if (status === 503 || status === 502) {
    return new GatewayError('ADAPTER_UNAVAILABLE', `adapter ${adapter.id} of court ${adapter.court} is unavailable`)
  }
  if (status === 504) return new GatewayError('ADAPTER_TIMEOUT', `adapter ${adapter.id} timed out upstream`)
  return new GatewayError('ADAPTER_BAD_RESPONSE', `adapter ${adapter.id} answered with HTTP ${status}`)
}

/**
 * No connection could be made: the name did not resolve, an address is outside the allowed networks, the
 * connection was refused or timed out, or the TLS handshake failed. All of them read the same to whoever
 * registered or activates an adapter, so the gateway cannot be used to learn which ports are open where; the
 * cause goes to the server log only.
 */
class UnreachableError extends Error {
  constructor(cause: unknown) {
    super('the adapter cannot be connected to', { cause })
  }
}

export function mapError(error: unknown, adapter: Adapter): GatewayError {
  if (error instanceof GatewayError) return error
  const who = `adapter ${adapter.id} of court ${adapter.court}`
  if (error instanceof UnreachableError) {
    return new GatewayError('ADAPTER_UNAVAILABLE', `${who} is not reachable`, { cause: error })
  }
  if (
    error instanceof errors.ConnectTimeoutError ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof TransferDeadlineError
  ) {
    return new GatewayError('ADAPTER_TIMEOUT', `${who} did not answer in time`, { cause: error })
  }
  const code = (error as { code?: string }).code
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'UND_ERR_INFO') {
    return new GatewayError('ADAPTER_BAD_RESPONSE', `${who} broke the connection`, { cause: error })
  }
  if (code === 'UND_ERR_INVALID_ARG' || code === 'HPE_INVALID_CONSTANT' || code?.startsWith('HPE_')) {
    return new GatewayError('ADAPTER_BAD_RESPONSE', `${who} sent a malformed HTTP response`, { cause: error })
  }
  return new GatewayError('ADAPTER_UNAVAILABLE', `${who} cannot be reached`, { cause: error })
}
