import { errors, request } from 'undici'
import type { Exchange, Transport } from './kit.js'
import { readAnswer } from './read-answer.js'

/** Names a transport fault the way a court team can act on it. */
export function describeFault(error: unknown, timeoutMs: number): string {
  if (
    error instanceof errors.HeadersTimeoutError ||
    error instanceof errors.BodyTimeoutError ||
    error instanceof errors.ConnectTimeoutError ||
    (error as { name?: string }).name === 'TimeoutError'
  ) {
    return `no complete answer within ${timeoutMs} ms`
  }
  const code = (error as { code?: string }).code ?? ''
  if (error instanceof errors.HTTPParserError || code.startsWith('HPE_') || code === 'UND_ERR_INVALID_ARG') {
    return 'the answer is not valid HTTP'
  }
  if (code === 'ECONNREFUSED') return 'the connection was refused'
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return 'the adapter closed the connection'
  if (code === 'ENOTFOUND') return 'the host name does not resolve'
  return (error as Error).message || 'the request failed'
}

/**
 * The kit's own HTTP: every request must be answered in full within `timeoutMs`, redirects are returned as
 * they are (never followed), and faults become errors with a readable message. Bodies are read as
 * src/conformance/read-answer.ts does: hashed as they stream, capped (`limits.maxBytes`, MAX_BODY_BYTES by
 * default), only their first KEPT_BODY_BYTES kept.
 */
export function httpTransport(baseUrl: string, timeoutMs: number, limits: { maxBytes?: number } = {}): Transport {
  const base = baseUrl.replace(/\/+$/, '')
  return async (path, headers, options = {}): Promise<Exchange> => {
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const response = await request(`${base}${path}`, {
        method: 'GET',
        headers: { accept: 'application/json', ...headers },
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      response.body.on('error', () => {})
      const read = await readAnswer(response.body, { ...options, ...limits })
      return { status: response.statusCode, headers: response.headers, ...read }
    } catch (error) {
      throw new Error(describeFault(signal.aborted ? signal.reason : error, timeoutMs))
    }
  }
}
