import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ERRORS, type ErrorCode, GatewayError, isGatewayError, toProblem } from './errors.js'
import { isStorageFailure } from '../storage/storage.js'

/**
 * The longest request target served (8 KiB, as common proxies); longer ones are 414. Node's parser counts the
 * request line within its 16 KiB header limit, so a longer one still is 431, from `clientErrorHandler`.
 */
export const MAX_URI_LENGTH = 8192

/**
 * Turns every error into RFC 9457 problem+json. Fastify's own errors (validation, body size, bad JSON,
 * unsupported media type) become 4xx with a stable code; anything unknown becomes a bare 500 whose detail
 * stays in the server log, so 5xx never leak internals.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (isGatewayError(error)) return error
  const fastifyError = error as Partial<FastifyError> & { code?: string; validation?: unknown[] }
  if (fastifyError.validation) {
    return new GatewayError('VALIDATION_FAILED', fastifyError.message ?? 'invalid request', {
      extra: { errors: fastifyError.validation },
    })
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('VALIDATION_FAILED', fastifyError.message ?? 'malformed request body')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('PAYLOAD_TOO_LARGE', 'the request body is too large')
    case 'FST_ERR_BAD_URL':
      return new GatewayError('VALIDATION_FAILED', 'the request URL is malformed')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', fastifyError.message ?? 'unsupported media type')
  }
  // The database is busy, full, failing or unreachable: a temporary 503, whose details stay in the server log.
  if (isStorageFailure(error)) {
    return new GatewayError('STORAGE_UNAVAILABLE', 'the gateway cannot use its storage right now', { cause: error })
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 404) return new GatewayError('NOT_FOUND', fastifyError.message ?? 'not found')
    if (status === 413) return new GatewayError('PAYLOAD_TOO_LARGE', 'the request body is too large')
    if (status === 415) return new GatewayError('UNSUPPORTED_MEDIA_TYPE', fastifyError.message ?? 'unsupported')
    if (status === 429) return new GatewayError('RATE_LIMITED', fastifyError.message ?? 'too many requests')
    return new GatewayError('VALIDATION_FAILED', fastifyError.message ?? 'bad request')
  }
  return new GatewayError('INTERNAL', 'internal server error', { cause: error })
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: GatewayError): FastifyReply {
  if (error.headers) reply.headers(error.headers)
  return reply
    .code(error.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(toProblem(error, request.url))
}

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (headers too large, malformed requests, a
 * request not received in time); Fastify's `clientErrorHandler` answers them here, in problem+json too.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const code: ErrorCode =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'HEADERS_TOO_LARGE'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'REQUEST_TIMEOUT'
        : 'VALIDATION_FAILED'
  const detail = code === 'VALIDATION_FAILED' ? 'malformed HTTP request' : ERRORS[code].title
  const body = JSON.stringify(toProblem(new GatewayError(code, detail)))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${ERRORS[code].status} ${ERRORS[code].title}\r\nConnection: close\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy(error)
}

export interface ProblemPluginOptions {
  /** The methods the API serves at a path, or undefined for a path it does not know: a 405 with `Allow`. */
  allowedMethods?: (path: string) => string[] | undefined
}

async function problemPlugin(app: FastifyInstance, options: ProblemPluginOptions): Promise<void> {
  app.addHook('onRequest', async (request) => {
    if ((request.raw.url ?? '').length > MAX_URI_LENGTH) {
      throw new GatewayError('URI_TOO_LONG', `the request target is longer than ${MAX_URI_LENGTH} characters`)
    }
  })
  app.setErrorHandler((error, request, reply) => {
    const gatewayError = toGatewayError(error)
    if (gatewayError.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: gatewayError.code }, gatewayError.message)
    return sendProblem(request, reply, gatewayError)
  })
  app.setNotFoundHandler((request, reply) => {
    const allowed = options.allowedMethods?.(request.url.split('?', 1)[0]!)
    // A path the API serves with other methods; one whose method is allowed did not match for another
    // reason (a parameter longer than the router takes), which is a 404.
    if (allowed && !allowed.includes(request.method)) {
      return sendProblem(
        request,
        reply,
        new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here`, {
          headers: { allow: allowed.join(', ') },
        }),
      )
    }
    return sendProblem(request, reply, new GatewayError('NOT_FOUND', `no route for ${request.method} ${request.url}`))
  })
}

export default fp(problemPlugin, { name: 'problem', fastify: '5.x' })
