import type { ValidateFunction } from 'ajv'
import { deref, eachOperation, inlineSchema, type OpenApiSpec, pathMatcher } from './openapi.js'
import { compileSchema, type SchemaKind } from './schema-compiler.js'

/**
 * Checks an answer of the gateway against openapi/gateway.yaml: the status is one the operation lists, the
 * media type one its response lists, the headers it marks required are there and every documented header
 * fits its schema, and a JSON or text body fits the response's schema. Problems must carry the status they
 * are sent with. Answers decided before routing (`x-protocol-responses`) may come to any request; a request
 * that matches no operation (unknown path, method not allowed) gets one of `x-unrouted-responses`. Used by
 * the tests on every response they receive, by the gateway itself behind `server.validateResponses` (for
 * staging), and with openapi/adapter.yaml on the answers of courts.
 */

export interface ObservedResponse {
  method: string
  /** The request path, without the query string. */
  path: string
  status: number
  headers: Record<string, string | string[] | number | undefined>
  /** The body as received; undefined when it is not at hand (a stream), and then not checked. */
  body: Buffer | string | undefined
}

export interface ResponseConformance {
  /** Every way the response departs from the spec; empty when it conforms. */
  check(response: ObservedResponse): string[]
  /**
   * The same check for the answers of one operation (by operationId) whose body is not at hand, for a caller
   * that knows which operation it called: no path matching, and the violations say only what is wrong. On
   * the read path, the court's document answers are checked this way.
   */
  forOperation(operationId: string): (status: number, headers: ObservedResponse['headers']) => string[]
}

interface CompiledHeader {
  required: boolean
  validate: ValidateFunction | undefined
}

interface CompiledResponse {
  /** Media type (or range like `*` + `/*`) to its body validator; undefined for bodies not checked here. */
  content: Map<string, ValidateFunction | undefined>
  headers: Map<string, CompiledHeader>
}

type Responses = Map<string, CompiledResponse>

/**
 * The API reference's scripts and styles (served by @fastify/swagger-ui) and the console's hashed assets
 * (src/http/console-routes.ts), which no spec describes.
 */
const PATHS_OUTSIDE_THE_CONTRACT = /^\/(docs|console\/assets)\//

const cache = new WeakMap<OpenApiSpec, ResponseConformance>()

/** Compiles every response of the spec once per spec object. */
export function responseConformance(spec: OpenApiSpec): ResponseConformance {
  const cached = cache.get(spec)
  if (cached) return cached
  // Most responses share a few schemas (Problem above all): compileSchema keeps one validator per schema text.
  const compile = (kind: SchemaKind, raw: unknown): ValidateFunction =>
    compileSchema(kind, inlineSchema(spec, raw) as object)
  const compileResponse = (raw: unknown, what: string): CompiledResponse => {
    const response = deref(spec, raw, what)
    const content = new Map<string, ValidateFunction | undefined>()
    for (const [mediaType, rawMedia] of Object.entries((response['content'] ?? {}) as Record<string, unknown>)) {
      const media = deref(spec, rawMedia, `${what} ${mediaType}`)
      const checked = isJson(mediaType) || mediaType.startsWith('text/')
      content.set(
        mediaType,
        checked && media['schema'] !== undefined ? compile('response-body', media['schema']) : undefined,
      )
    }
    const headers = new Map<string, CompiledHeader>()
    for (const [name, rawHeader] of Object.entries((response['headers'] ?? {}) as Record<string, unknown>)) {
      const header = deref(spec, rawHeader, `${what} header ${name}`)
      headers.set(name.toLowerCase(), {
        required: header['required'] === true,
        validate: header['schema'] === undefined ? undefined : compile('response-header', header['schema']),
      })
    }
    return { content, headers }
  }
  const compileAll = (raw: unknown, what: string): Responses =>
    new Map(
      Object.entries((raw ?? {}) as Record<string, unknown>).map(([status, response]) => [
        status,
        compileResponse(response, `${what} ${status}`),
      ]),
    )

  const byOperation = new Map<string, Responses>()
  const byOperationId = new Map<string, Responses>()
  const withoutHead = new Set<string>()
  for (const { path, method, operation } of eachOperation(spec)) {
    const responses = compileAll(operation['responses'], `${method} ${path}`)
    byOperation.set(`${method} ${path}`, responses)
    if (typeof operation['operationId'] === 'string') byOperationId.set(operation['operationId'], responses)
    if (operation['x-no-head'] === true) withoutHead.add(path)
  }
  const protocol = compileAll(spec['x-protocol-responses'], 'x-protocol-responses')
  const unrouted = compileAll(spec['x-unrouted-responses'], 'x-unrouted-responses')
  const match = pathMatcher(spec)

  const conformance: ResponseConformance = {
    check(response) {
      if (PATHS_OUTSIDE_THE_CONTRACT.test(response.path)) return []
      const found = match(response.path)
      // HEAD is served wherever GET is, with GET's status and headers and no body, unless the GET operation
      // says `x-no-head` (then a HEAD is a request no operation takes).
      const head = response.method === 'HEAD' && found?.methods.includes('GET') && !withoutHead.has(found.template)
      const method = head ? 'GET' : response.method
      const responses = found && byOperation.get(`${method} ${found.template}`)
      const where = `${response.method} ${response.path} → ${response.status}`
      const status = String(response.status)
      const declared = responses ? declaredFor(responses, status) : (unrouted.get(status) ?? protocol.get(status))
      if (!declared) {
        return [
          `${where}: status ${status} is not listed for ${found ? `${method} ${found.template}` : 'this request'}`,
        ]
      }
      return checkResponse(declared, response, response.method === 'HEAD').map((violation) => `${where}: ${violation}`)
    },
    forOperation(operationId) {
      const responses = byOperationId.get(operationId)
      if (!responses) throw new Error(`no operation ${operationId} in the spec`)
      return (status, headers) => {
        const declared = declaredFor(responses, String(status))
        if (!declared) return [`status ${status} is not listed for ${operationId}`]
        return checkResponse(declared, { method: 'GET', path: '', status, headers, body: undefined }, false)
      }
    },
  }
  /** An operation's response for a status: its own, its range's (`2XX`), its default, or a protocol one. */
  const declaredFor = (responses: Responses, status: string) =>
    responses.get(status) ?? responses.get(`${status[0]}XX`) ?? responses.get('default') ?? protocol.get(status)
  cache.set(spec, conformance)
  return conformance
}

function isJson(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json')
}

function headerValue(headers: ObservedResponse['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()]
  if (value === undefined) return undefined
  return Array.isArray(value) ? value.join(', ') : String(value)
}

function ajvMessage(validate: ValidateFunction): string {
  const first = validate.errors?.[0]
  const detail = first?.params && Object.keys(first.params).length > 0 ? ` ${JSON.stringify(first.params)}` : ''
  return `${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}${detail}`
}

function checkResponse(declared: CompiledResponse, response: ObservedResponse, head: boolean): string[] {
  const violations: string[] = []
  for (const [name, header] of declared.headers) {
    const value = headerValue(response.headers, name)
    if (value === undefined) {
      if (header.required) violations.push(`required header ${name} is missing`)
    } else if (header.validate && !header.validate(value)) {
      violations.push(`header ${name}: ${ajvMessage(header.validate)}`)
    }
  }

  const body = response.body
  const length = body === undefined ? undefined : typeof body === 'string' ? Buffer.byteLength(body) : body.length
  const contentType = headerValue(response.headers, 'content-type')
  if (declared.content.size === 0) {
    if (length !== undefined && length > 0) violations.push(`a body (${length} bytes) where the spec has none`)
    return violations
  }
  if (contentType === undefined) {
    violations.push('no content-type')
    return violations
  }
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase()
  const range = `${mediaType.split('/', 1)[0]}/*`
  const key = [mediaType, range, '*/*'].find((candidate) => declared.content.has(candidate))
  if (key === undefined) {
    violations.push(`content-type ${mediaType} is not one of ${[...declared.content.keys()].join(', ')}`)
    return violations
  }
  const validate = declared.content.get(key)
  if (!validate || body === undefined || head) return violations
  const text = typeof body === 'string' ? body : body.toString('utf8')
  let value: unknown = text
  if (isJson(key)) {
    try {
      value = JSON.parse(text)
    } catch {
      violations.push(`the ${mediaType} body is not JSON`)
      return violations
    }
  }
  if (!validate(value)) violations.push(`body ${ajvMessage(validate)}`)
  if (mediaType === 'application/problem+json' && (value as { status?: unknown })?.status !== response.status) {
    violations.push(`the problem's status ${(value as { status?: unknown })?.status} is not the HTTP status`)
  }
  return violations
}
