import type { FastifyInstance, RouteHandlerMethod, RouteOptions } from 'fastify'
import { type OpenApiSpec, routeSchema } from './openapi.js'

/**
 * Registers the handler of one OpenAPI operation: method, path and request validation all come from the
 * spec, so the spec stays the single source of truth and no route can drift from it.
 */
export function specRoute(
  app: FastifyInstance,
  spec: OpenApiSpec,
  operationId: string,
  handler: RouteHandlerMethod,
  options: Partial<Pick<RouteOptions, 'config' | 'preHandler' | 'onRequest'>> = {},
): void {
  const { method, url, schema, head } = routeSchema(spec, operationId)
  app.route({
    method: method.toUpperCase() as RouteOptions['method'],
    url,
    schema,
    handler,
    exposeHeadRoute: head,
    ...options,
  })
}
