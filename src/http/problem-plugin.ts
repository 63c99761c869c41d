import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { GatewayError, isGatewayError, toProblem } from './errors.js'

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
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', fastifyError.message ?? 'unsupported media type')
  }
  // The database is busy, full or failing: a temporary 503, whose details stay in the server log.
  if (error instanceof Error && error.name === 'SqliteError') {
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

async function problemPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => {
    const gatewayError = toGatewayError(error)
    if (gatewayError.status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: gatewayError.code }, gatewayError.message)
    return sendProblem(request, reply, gatewayError)
  })
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new GatewayError('NOT_FOUND', `no route for ${request.method} ${request.url}`)),
  )
}

export default fp(problemPlugin, { name: 'problem', fastify: '5.x' })
