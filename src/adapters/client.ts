import { isIP, type BlockList } from 'node:net'
import type { Readable } from 'node:stream'
import { buildConnector, errors, Pool } from 'undici'
import { GatewayError } from '../http/errors.js'
import type { Metrics } from '../http/metrics.js'
import { CircuitBreaker } from './breaker.js'
import type { RequestClaims, RequestSigner } from './signing.js'
import type { Adapter } from './types.js'

export interface AdapterClientOptions {
  signer: RequestSigner
  breaker: { failures: number; cooldownMs: number }
  metrics?: Pick<Metrics, 'upstreamSeconds' | 'breakerOpen'>
  now?: () => number
  timeoutMs: number
  allowHttp: boolean
  /** Adapter addresses must fall inside one of these; undefined = any address. */
  allowedNetworks: BlockList | undefined
}

export interface AdapterResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

/** The largest JSON document (case summary, catalogue) accepted from an adapter. */
const MAX_JSON_BYTES = 4 * 1024 * 1024

/**
 * Talks to court adapters: one undici pool per adapter registration, every request signed, the peer's
 * address checked against `allowedNetworks` on every new connection (after DNS, so a hostname cannot be
 * re-pointed inside the network), TLS verified, redirects never followed, every fault mapped to a coded
 * 502/503/504.
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

  /** Throws VALIDATION_FAILED when a base URL is not one this gateway may call. */
  checkBaseUrl(baseUrl: string): URL {
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
    const url = this.checkBaseUrl(adapter.baseUrl)
    const { allowedNetworks } = this.#options
    const connect = buildConnector({
      timeout: this.#options.timeoutMs,
      rejectUnauthorized: true,
      ...(adapter.caCertificate ? { ca: adapter.caCertificate } : {}),
    })
    const pool = new Pool(url.origin, {
      connections: 16,
      headersTimeout: this.#options.timeoutMs,
      bodyTimeout: this.#options.timeoutMs,
      connect: (options, callback) => {
        connect(options, (error, socket) => {
          if (error) return callback(error, null)
          const address = socket.remoteAddress ?? ''
          if (allowedNetworks && !allowedNetworks.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) {
            socket.destroy()
            return callback(new AddressNotAllowedError(address), null)
          }
          callback(null, socket)
        })
      },
    })
    this.#pools.set(adapter.id, { key, pool })
    return pool
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
    options: { healthCheck?: boolean } = {},
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
    else if (auth) requestHeaders.authorization = `Bearer ${this.#options.signer.sign(auth)}`
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
      })
      observe(String(response.statusCode))
      this.#record(adapter, breaker, response.statusCode < 500)
      return { status: response.statusCode, headers: response.headers, body: response.body }
    } catch (error) {
      const mapped = mapError(error, adapter)
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

  /** GET of a JSON resource; 404 becomes NOT_FOUND, anything but 200 and JSON is a bad response. */
  async getJson(adapter: Adapter, path: string, claims: RequestClaims, what: string): Promise<unknown> {
    const response = await this.get(adapter, path, claims)
    if (response.status === 404) {
      response.body.resume()
      throw new GatewayError('NOT_FOUND', `${what} not found at the court's adapter`)
    }
    return readJson(response, adapter)
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map(({ pool }) => pool.close().catch(() => {})))
    this.#pools.clear()
  }
}

/** Reads a 200 JSON body, bounded in size; anything else from an adapter is its fault, not the client's. */
export async function readJson(response: AdapterResponse, adapter: Adapter): Promise<unknown> {
  if (response.status !== 200) {
    response.body.resume()
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

class AddressNotAllowedError extends Error {
  readonly code = 'CFG_ADDRESS_NOT_ALLOWED'
  constructor(address: string) {
    super(`adapter address ${address} is outside adapters.allowedNetworks`)
  }
}

export function mapError(error: unknown, adapter: Adapter): GatewayError {
  if (error instanceof GatewayError) return error
  const who = `adapter ${adapter.id} of court ${adapter.court}`
  if (
    error instanceof errors.ConnectTimeoutError ||
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError
  ) {
    return new GatewayError('ADAPTER_TIMEOUT', `${who} did not answer in time`, { cause: error })
  }
  if (error instanceof AddressNotAllowedError) {
    return new GatewayError('ADAPTER_UNAVAILABLE', `${who} is outside the allowed networks`, { cause: error })
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
