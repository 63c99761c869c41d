import { errors, request } from 'undici'
import type { Exchange, Transport } from './kit.js'
import { readCapped } from './read-capped.js'

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
 * they are (never followed), and faults become errors with a readable message.
 */
export function httpTransport(baseUrl: string, timeoutMs: number): Transport {
  const base = baseUrl.replace(/\/+$/, '')
  return async (path, headers): Promise<Exchange> => {
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
      const body = await readCapped(response.body)
      return { status: response.statusCode, headers: response.headers, body }
    } catch (error) {
      throw new Error(describeFault(signal.aborted ? signal.reason : error, timeoutMs))
    }
  }
}
