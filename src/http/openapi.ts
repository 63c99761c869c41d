import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { PROJECT_ROOT } from '../paths.js'

/**
 * Route validation straight from the OpenAPI documents, so the spec a client reads is the one the server
 * enforces. Schemas are inlined (Fastify's Ajv knows nothing of `#/components/...`) and cleaned of
 * OpenAPI-only keywords, which Ajv's strict mode would refuse.
 */

export type JsonSchema = { [keyword: string]: unknown } | boolean

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'OPTIONS' | 'HEAD' | 'PATCH' | 'TRACE'

export interface OpenApiSpec {
  openapi: string
  info: { title: string; version: string; [key: string]: unknown }
  paths?: Record<string, unknown>
  components?: Record<string, unknown>
  [key: string]: unknown
}

export interface RouteSchema {
  body?: JsonSchema
  params?: JsonSchema
  querystring?: JsonSchema
  headers?: JsonSchema
}

export interface RouteDefinition {
  method: HttpMethod
  /** Fastify's form: `/v1/grants/{id}` becomes `/v1/grants/:id`. */
  url: string
  schema: RouteSchema
  /** Whether HEAD is served as well: every GET, unless the operation says `x-no-head: true`. */
  head: boolean
}

export interface OperationSummary {
  operationId: string
  method: HttpMethod
  /** The OpenAPI path template, e.g. `/v1/grants/{id}`. */
  path: string
  /** Marked `x-status: planned`: specified, not served yet. */
  planned: boolean
}

/** The spec itself is broken; a startup error, never a request error. */
export class SpecError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SpecError'
  }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** Keywords Ajv does not know or must not see. */
const DROPPED_KEYWORDS = new Set(['example', 'examples', 'deprecated', 'xml', 'discriminator', 'externalDocs'])
/** Keywords whose value maps names to subschemas: the names are data, never keywords to drop. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems'])
/** Keywords whose value is one subschema (`items` may also be a draft-07 tuple list). */
const SCHEMA_KEYWORDS = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
])
/** Annotations allowed beside `$ref` in OpenAPI 3.1 reference objects; the target's own win. */
const REF_ANNOTATIONS = new Set(['description', 'summary'])

const cache = new Map<string, OpenApiSpec>()

/**
 * Where `npm run build` puts a spec's document as JSON, named by the SHA-256 of the YAML text it was parsed
 * from: parsing openapi/gateway.yaml took a quarter of a second at every start. A file whose text has no
 * prebuilt twin (edited since the build, or not one of the project's specs) is parsed as YAML, as before.
 */
export function prebuiltSpecFile(yamlText: string, root = PROJECT_ROOT): string {
  return join(root, 'dist', 'prebuilt', 'openapi', `${createHash('sha256').update(yamlText).digest('hex')}.json`)
}

/** The YAML parser, loaded only when a spec has no prebuilt twin. */
function parseYaml(text: string): unknown {
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text)
}

/** Reads and parses a spec once per process; later calls with the same file get the same object. */
export function loadSpec(path: string): OpenApiSpec {
  const absolute = resolve(path)
  const cached = cache.get(absolute)
  if (cached) return cached
  const text = readFileSync(absolute, 'utf8')
  const prebuilt = prebuiltSpecFile(text)
  const parsed: unknown = existsSync(prebuilt) ? JSON.parse(readFileSync(prebuilt, 'utf8')) : parseYaml(text)
  if (!isObject(parsed) || typeof parsed['openapi'] !== 'string' || !isObject(parsed['info'])) {
    throw new SpecError(`${path} is not an OpenAPI document`)
  }
  const spec = parsed as OpenApiSpec
  cache.set(absolute, spec)
  return spec
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function decodePointerToken(ref: string, token: string): string {
  let decoded: string
  try {
    decoded = decodeURIComponent(token)
  } catch {
    throw new SpecError(`malformed $ref ${ref}`)
  }
  return decoded.replaceAll('~1', '/').replaceAll('~0', '~')
}

/** The value a local `$ref` points at, without resolving refs inside it. */
function lookup(spec: OpenApiSpec, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new SpecError(`unsupported $ref ${ref}: only local #/... references are resolved`)
  let node: unknown = spec
  for (const token of ref
    .slice(2)
    .split('/')
    .map((token) => decodePointerToken(ref, token))) {
    if (!isObject(node) && !Array.isArray(node)) throw new SpecError(`unresolvable $ref ${ref}`)
    node = (node as Record<string, unknown>)[token]
    if (node === undefined) throw new SpecError(`unresolvable $ref ${ref}`)
  }
  return node
}

/**
 * Follows a `$ref` (and chains of them) to the object it names; `stack` holds the refs being expanded on the
 * way here, so a reference back into one of them is a cycle, which an inlined schema cannot express.
 */
function follow(spec: OpenApiSpec, node: Record<string, unknown>, stack: readonly string[]): [unknown, string[]] {
  const ref = node['$ref']
  if (typeof ref !== 'string') return [node, [...stack]]
  const extra = Object.keys(node).filter((key) => key !== '$ref' && !REF_ANNOTATIONS.has(key))
  if (extra.length > 0) {
    throw new SpecError(`$ref ${ref} has sibling keywords (${extra.join(', ')}); wrap them in allOf instead`)
  }
  if (stack.includes(ref)) throw new SpecError(`cyclic $ref: ${[...stack, ref].join(' -> ')}`)
  const target = lookup(spec, ref)
  if (isObject(target)) return follow(spec, target, [...stack, ref])
  return [target, [...stack, ref]]
}

/** A schema with every local `$ref` inlined and OpenAPI-only keywords dropped; always a fresh copy. */
export function inlineSchema(spec: OpenApiSpec, schema: unknown, stack: readonly string[] = []): JsonSchema {
  if (typeof schema === 'boolean') return schema
  if (!isObject(schema)) throw new SpecError(`not a schema: ${JSON.stringify(schema)}`)
  const [target, nextStack] = follow(spec, schema, stack)
  if (typeof target === 'boolean') return target
  if (!isObject(target)) throw new SpecError(`not a schema: ${JSON.stringify(target)}`)
  const result: Record<string, unknown> = {}
  for (const [keyword, value] of Object.entries(target)) {
    if (DROPPED_KEYWORDS.has(keyword) || keyword.startsWith('x-')) continue
    if (SCHEMA_MAP_KEYWORDS.has(keyword) && isObject(value)) {
      result[keyword] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, inlineSchema(spec, sub, nextStack)]),
      )
    } else if (SCHEMA_LIST_KEYWORDS.has(keyword) && Array.isArray(value)) {
      result[keyword] = value.map((sub) => inlineSchema(spec, sub, nextStack))
    } else if (SCHEMA_KEYWORDS.has(keyword)) {
      result[keyword] = Array.isArray(value)
        ? value.map((sub) => inlineSchema(spec, sub, nextStack))
        : inlineSchema(spec, value, nextStack)
    } else {
      // enum, const, default and the like are data: copied as they are, never searched for refs.
      result[keyword] = structuredClone(value)
    }
  }
  return result
}

/** A non-schema object of the spec (parameter, request body, path item) with its own `$ref` followed. */
export function deref(spec: OpenApiSpec, node: unknown, what: string): Record<string, unknown> {
  if (!isObject(node)) throw new SpecError(`${what} is not an object`)
  const [target] = follow(spec, node, [])
  if (!isObject(target)) throw new SpecError(`${what} is not an object`)
  return target
}

export interface FoundOperation {
  path: string
  method: HttpMethod
  operation: Record<string, unknown>
  pathItem: Record<string, unknown>
}

export function* eachOperation(spec: OpenApiSpec): Generator<FoundOperation> {
  for (const [path, rawItem] of Object.entries(spec.paths ?? {})) {
    const pathItem = deref(spec, rawItem, `path ${path}`)
    for (const method of METHODS) {
      const operation = pathItem[method]
      if (operation === undefined) continue
      if (!isObject(operation)) throw new SpecError(`${method.toUpperCase()} ${path} is not an object`)
      yield { path, method: method.toUpperCase() as HttpMethod, operation, pathItem }
    }
  }
}

/** Every operation of the spec, in document order. */
export function operations(spec: OpenApiSpec): OperationSummary[] {
  const result: OperationSummary[] = []
  for (const { path, method, operation } of eachOperation(spec)) {
    const operationId = operation['operationId']
    if (typeof operationId !== 'string') throw new SpecError(`${method} ${path} has no operationId`)
    result.push({ operationId, method, path, planned: operation['x-status'] === 'planned' })
  }
  return result
}

interface Parameter {
  name: string
  in: string
  required: boolean
  schema: JsonSchema
}

/** Path-level parameters apply unless the operation redefines the same name and location. */
function parametersOf(spec: OpenApiSpec, found: FoundOperation): Parameter[] {
  const byKey = new Map<string, Parameter>()
  const where = `${found.method} ${found.path}`
  for (const list of [found.pathItem['parameters'], found.operation['parameters']]) {
    if (list === undefined) continue
    if (!Array.isArray(list)) throw new SpecError(`${where}: parameters is not a list`)
    for (const raw of list) {
      const parameter = deref(spec, raw, `a parameter of ${where}`)
      const { name, in: location, required, schema } = parameter
      if (typeof name !== 'string' || typeof location !== 'string') {
        throw new SpecError(`${where}: a parameter lacks name or in`)
      }
      if (schema === undefined) throw new SpecError(`${where}: parameter ${name} has no schema`)
      byKey.set(`${location}:${name}`, {
        name,
        in: location,
        required: required === true,
        schema: inlineSchema(spec, schema),
      })
    }
  }
  return [...byKey.values()]
}

function objectSchema(parameters: Parameter[], additionalProperties: boolean, lowerCase = false): JsonSchema {
  const name = (parameter: Parameter) => (lowerCase ? parameter.name.toLowerCase() : parameter.name)
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((parameter) => [name(parameter), parameter.schema])),
    required: parameters.filter((parameter) => parameter.required).map(name),
    additionalProperties,
  }
}

function bodySchema(spec: OpenApiSpec, found: FoundOperation): JsonSchema | undefined {
  if (found.operation['requestBody'] === undefined) return undefined
  const requestBody = deref(spec, found.operation['requestBody'], `the request body of ${found.method} ${found.path}`)
  const content = requestBody['content']
  const json = isObject(content) ? content['application/json'] : undefined
  if (!isObject(json) || json['schema'] === undefined) return undefined
  const schema = inlineSchema(spec, json['schema'])
  if (requestBody['required'] === true) return schema
  // Fastify validates a missing body as null, which an optional body must accept. Not `anyOf`: a sent body's
  // errors would then start with "must be null" rather than name the field at fault.
  return { if: { type: 'null' }, else: schema }
}

/** The Fastify route (method, URL and validation schemas) of one operation. */
export function routeSchema(spec: OpenApiSpec, operationId: string): RouteDefinition {
  let found: FoundOperation | undefined
  for (const candidate of eachOperation(spec)) {
    if (candidate.operation['operationId'] === operationId) {
      found = candidate
      break
    }
  }
  if (!found) throw new SpecError(`no operation ${operationId} in the spec`)

  const parameters = parametersOf(spec, found)
  const inPath = parameters.filter((parameter) => parameter.in === 'path')
  const inQuery = parameters.filter((parameter) => parameter.in === 'query')
  const inHeader = parameters.filter((parameter) => parameter.in === 'header')

  const templateNames = [...found.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!)
  const declared = inPath.map((parameter) => parameter.name)
  if (templateNames.length !== declared.length || templateNames.some((name) => !declared.includes(name))) {
    throw new SpecError(
      `${operationId}: path ${found.path} and its path parameters (${declared.join(', ')}) do not match`,
    )
  }
  // A path parameter is always required, whatever the spec says; an optional one would match nothing.
  for (const parameter of inPath) parameter.required = true

  const schema: RouteSchema = {}
  const body = bodySchema(spec, found)
  if (body !== undefined) schema.body = body
  if (inPath.length > 0) schema.params = objectSchema(inPath, false)
  // Even without declared query parameters: a filter the server does not know must fail, not be ignored.
  schema.querystring = objectSchema(inQuery, false)
  // Requests always carry headers nobody declares (Host, Authorization, ...); only the declared are checked.
  if (inHeader.length > 0) schema.headers = objectSchema(inHeader, true, true)

  return {
    method: found.method,
    url: found.path.replace(/\{([^}]+)\}/g, ':$1'),
    schema,
    head: found.method === 'GET' && found.operation['x-no-head'] !== true,
  }
}

/** An OpenAPI path template as a matcher of concrete paths; a parameter is one non-empty segment. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('[^/]+')}$`)
}

export interface PathMatch {
  /** The OpenAPI path template, e.g. `/v1/grants/{id}`. */
  template: string
  /** The methods the spec defines there, upper case. */
  methods: HttpMethod[]
}

/**
 * Finds the spec's path template for a concrete request path (without query), or undefined. A template with
 * fewer parameters wins, so a literal segment is never taken for a parameter.
 */
export function pathMatcher(spec: OpenApiSpec): (path: string) => PathMatch | undefined {
  const byTemplate = new Map<string, HttpMethod[]>()
  for (const { path, method } of eachOperation(spec)) byTemplate.set(path, [...(byTemplate.get(path) ?? []), method])
  const candidates = [...byTemplate]
    .map(([template, methods]) => ({ template, methods, pattern: templatePattern(template) }))
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length)
  return (path) => {
    const found = candidates.find((candidate) => candidate.pattern.test(path))
    return found && { template: found.template, methods: found.methods }
  }
}
