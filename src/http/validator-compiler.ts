import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Request validation with one Ajv per kind of input. Query strings, path parameters and headers are text, so
 * `limit=50` is coerced to the integer the spec declares. A JSON body carries its own types: `"days": "30"`
 * or `"volumes": "main"` is a client's mistake to refuse with 400, never to guess at. Unknown fields are
 * refused, not dropped: the spec's `additionalProperties: false` means it.
 */
export function specValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const common = { removeAdditional: false, allErrors: false, strict: false } as const
  const text = new Ajv({ ...common, coerceTypes: 'array' })
  const json = new Ajv({ ...common, coerceTypes: false })
  addFormats.default(text)
  addFormats.default(json)
  return ({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema as object)
}
