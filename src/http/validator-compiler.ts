import { createRequire } from 'node:module'
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify'
import { compileSchema } from './schema-compiler.js'

/**
 * Request validation with one Ajv set-up per kind of input (src/http/schema-compiler.ts says which and why):
 * query strings, path parameters and headers are text and coerced to the types the spec declares; a JSON body
 * carries its own types. Validators come prebuilt from `npm run build` where the schema is the built one.
 */
export function specValidatorCompiler(): FastifySchemaCompiler<unknown> {
  return ({ schema, httpPart }) =>
    compileSchema(httpPart === 'body' ? 'request-json' : 'request-text', schema as object)
}

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>

/**
 * Fastify's schema compilers, without loading its defaults at every start (its Ajv compiler and
 * fast-json-stringify took most of half a second to load): requests are validated by specValidatorCompiler,
 * and Fastify's own serializer compiler is loaded the first time a route declares a response schema (none of
 * the API's routes does; their answers are checked against the spec in the tests and behind
 * `server.validateResponses`).
 */
export function schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  const buildSerializer: SerializerFactory = (externalSchemas, options) => {
    let compiler: ReturnType<SerializerFactory> | undefined
    return (route) => {
      // Fastify's own dependency, so resolved from Fastify: the version it was released with.
      const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))
      compiler ??= (fromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()(
        externalSchemas,
        options,
      )
      return compiler(route)
    }
  }
  // Fastify types the factory by its Ajv compiler's signature; any schema compiler is what it calls.
  const buildValidator = (() => specValidatorCompiler()) as unknown as CompilersFactory['buildValidator']
  return { compilersFactory: { buildValidator, buildSerializer } }
}
