import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import t from 'tap'
import { type JsonSchema, loadSpec, operations, routeSchema } from '../../src/http/openapi.js'
import { GATEWAY_SPEC } from '../../src/paths.js'
import { MAIN_GRANT, openGrant, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/**
 * Bad input generated from the spec itself: for every operation, every constraint of its body, query, path
 * and header parameters (`required`, `type`, `enum`, `pattern`, `format`, `minLength`/`maxLength`,
 * `minimum`/`maximum`, `minItems`/`maxItems`/`uniqueItems`, `minProperties`, `additionalProperties: false`)
 * is broken once, on a request that is valid otherwise. Each must be 400 problem+json naming the field, and
 * none may change anything: the log, the grants and the adapters are the same afterwards.
 */

type Schema = Record<string, unknown>
type Part = 'body' | 'query' | 'params' | 'headers'

interface Mutation {
  part: Part
  field: string
  constraint: string
  value: unknown
}

/** Strings that break a pattern, tried in order; the first the pattern refuses is used. */
const PATTERN_BREAKERS = ['!', '..', 'a b', '-1', 'x', '']

function patternBreaker(pattern: string): string {
  const regex = new RegExp(pattern, 'u')
  const breaker = PATTERN_BREAKERS.find((candidate) => !regex.test(candidate))
  if (breaker === undefined) throw new Error(`no breaker for pattern ${pattern}`)
  return breaker
}

/** A value of another JSON type than `type`; in a query, path or header every value is text. */
function wrongType(type: string, text: boolean): unknown {
  if (text) return type === 'integer' || type === 'number' ? 'abc' : undefined
  return type === 'string' ? 123 : type === 'array' ? 'main' : type === 'object' ? ['x'] : '30'
}

const asText = (value: unknown, text: boolean) => (text && typeof value === 'number' ? String(value) : value)

/** One bad value per constraint of a scalar or array schema. */
function badValues(schema: Schema, text: boolean, valid: unknown): Array<{ constraint: string; value: unknown }> {
  const bad: Array<{ constraint: string; value: unknown }> = []
  const add = (constraint: string, value: unknown) => {
    if (value !== undefined) bad.push({ constraint, value: asText(value, text) })
  }
  if (typeof schema['type'] === 'string') add(`type ${schema['type']}`, wrongType(schema['type'], text))
  if (Array.isArray(schema['enum'])) add('enum', 'not-in-the-enum')
  if (typeof schema['pattern'] === 'string') add('pattern', patternBreaker(schema['pattern']))
  if (schema['format'] === 'uri') add('format uri', 'not a uri')
  if (schema['format'] === 'date-time') add('format date-time', 'yesterday')
  if (typeof schema['minLength'] === 'number' && schema['minLength'] > 0) add('minLength', '')
  if (typeof schema['maxLength'] === 'number') {
    const prefix = typeof valid === 'string' ? valid : 'x'
    add('maxLength', prefix + 'x'.repeat(schema['maxLength'] - prefix.length + 1))
  }
  if (typeof schema['minimum'] === 'number') add('minimum', schema['minimum'] - 1)
  if (typeof schema['maximum'] === 'number') add('maximum', schema['maximum'] + 1)
  if (schema['type'] === 'array') {
    const items = (schema['items'] ?? {}) as Schema
    const item = Array.isArray(valid) && valid.length > 0 ? valid[0] : sample(items)
    if (typeof schema['minItems'] === 'number' && schema['minItems'] > 0) add('minItems', [])
    if (typeof schema['maxItems'] === 'number') {
      const many = Array.from({ length: schema['maxItems'] + 1 }, (_, i) =>
        Array.isArray(items['enum']) ? items['enum'][i % items['enum'].length] : `${String(item)}${i}`,
      )
      add('maxItems', many)
    }
    if (schema['uniqueItems'] === true) add('uniqueItems', [item, item])
    for (const { constraint, value } of badValues(items, false, item)) add(`items ${constraint}`, [value])
  }
  return bad
}

/** A valid value of a simple schema, for array items and fields the baseline leaves out. */
function sample(schema: Schema): unknown {
  if (Array.isArray(schema['enum'])) return schema['enum'][0]
  if (schema['type'] === 'integer') return schema['minimum'] ?? 1
  return 'sample'
}

/** Every mutation of the object `valid` that breaks one constraint of `schema`. */
function mutations(part: Part, schema: Schema, valid: Record<string, unknown>): Mutation[] {
  const text = part !== 'body'
  const result: Mutation[] = []
  for (const field of (schema['required'] ?? []) as string[]) {
    const { [field]: _dropped, ...rest } = valid
    result.push({ part, field, constraint: 'required', value: rest })
  }
  if (schema['additionalProperties'] === false) {
    result.push({ part, field: 'zzUnknown', constraint: 'additionalProperties', value: { ...valid, zzUnknown: '1' } })
  }
  if (typeof schema['minProperties'] === 'number' && schema['minProperties'] > 0) {
    result.push({ part, field: 'body', constraint: 'minProperties', value: {} })
  }
  for (const [field, property] of Object.entries((schema['properties'] ?? {}) as Record<string, Schema>)) {
    for (const { constraint, value } of badValues(property, text, valid[field])) {
      result.push({ part, field, constraint, value: { ...valid, [field]: value } })
    }
  }
  return result
}

/** An optional body is `if null, else schema` for Fastify; the object is what a client sends. */
function objectSchema(schema: JsonSchema | undefined): Schema | undefined {
  if (schema === undefined || typeof schema === 'boolean') return undefined
  return (schema['else'] as Schema | undefined) ?? schema
}

t.test('every constraint of every operation, broken once, is a 400 naming the field and changes nothing', async (t) => {
  const h = await startGateway(t, { limits: { requestsPerMinute: 100_000, organisationRequestsPerMinute: 100_000 } })
  const court = await startAdapter(t, h.url)
  const adapterId = await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  const spec = loadSpec(GATEWAY_SPEC)

  // A request each operation accepts by the spec; only its mutants are sent.
  const valid: Record<string, Partial<Record<Part, Record<string, unknown>>>> = {
    createGrant: { body: { ...MAIN_GRANT, members: ['li.na'], days: 30 } },
    listGrants: { query: { status: 'active', limit: '10' } },
    getGrant: { params: { id: grant.id } },
    approveGrant: { params: { id: grant.id }, body: { note: 'ok' } },
    rejectGrant: { params: { id: grant.id }, body: { reason: 'no' } },
    revokeGrant: { params: { id: grant.id }, body: { reason: 'done' } },
    renewGrant: { params: { id: grant.id }, body: { days: 30 } },
    getGrantCase: { params: { id: grant.id } },
    getGrantVolumes: { params: { id: grant.id } },
    getGrantDocument: { params: { id: grant.id, documentId: 'doc-1.pdf' }, headers: { range: 'bytes=0-1' } },
    createAdapter: {
      body: {
        court: '黑01',
        baseUrl: court.url,
        covers: ['黑0103'],
        stores: ['trial'],
        description: 'd',
        probeCase: 'p',
      },
    },
    getAdapter: { params: { id: adapterId } },
    updateAdapter: { params: { id: adapterId }, body: { description: 'new', stores: ['trial'] } },
    activateAdapter: { params: { id: adapterId } },
    suspendAdapter: { params: { id: adapterId } },
    getAdapterHealth: { params: { id: adapterId } },
    getAuditEntry: { params: { index: '0' } },
    getAuditEntryReceipt: { params: { index: '0' } },
    getInclusionProof: { query: { index: '0', size: '1' } },
    getConsistencyProof: { query: { from: '1', to: '1' } },
    exportAudit: { query: { from: '0', to: '1' } },
    listAuditEntries: { query: { actor: 'a', court: '黑01', action: 'document.read', decision: 'allow', limit: '5' } },
  }
  const text = new Ajv({ strict: false, coerceTypes: 'array' })
  const json = new Ajv({ strict: false })
  addFormats.default(text)
  addFormats.default(json)

  const snapshot = async () => ({
    size: h.gateway.log.size(),
    grants: (await h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') })).json,
    adapters: (await h.call('GET', '/v1/adapters', { token: tokenOf(h, 'operator') })).json,
  })
  const before = await snapshot()

  let sent = 0
  const kinds = new Set<string>()
  for (const operation of operations(spec)) {
    const route = routeSchema(spec, operation.operationId)
    const base = valid[operation.operationId] ?? {}
    const schemas: Array<[Part, Schema | undefined]> = [
      ['body', objectSchema(route.schema.body)],
      ['query', route.schema.querystring as Schema],
      ['params', route.schema.params as Schema | undefined],
      ['headers', route.schema.headers as Schema | undefined],
    ]
    const all: Mutation[] = []
    for (const [part, schema] of schemas) {
      if (!schema) continue
      const validValue = base[part] ?? {}
      t.ok(
        (part === 'body' ? json : text).validate(schema, structuredClone(validValue)),
        `${operation.operationId}: the baseline ${part} is valid`,
      )
      // A path parameter is one segment: its absence or a second one would be another route, not bad input.
      const candidates = mutations(part, schema, validValue).filter(
        (m) => part !== 'params' || (m.constraint !== 'required' && m.constraint !== 'additionalProperties'),
      )
      all.push(...candidates)
    }
    for (const mutation of all) {
      kinds.add(mutation.constraint)
      const parts = { ...base, [mutation.part]: mutation.value } as Partial<Record<Part, Record<string, unknown>>>
      let path = operation.path
      for (const [name, value] of Object.entries(parts.params ?? {}))
        path = path.replace(`{${name}}`, encodeURIComponent(String(value)))
      const query = new URLSearchParams(
        Object.entries(parts.query ?? {}).map(([k, v]): [string, string] => [k, String(v)]),
      ).toString()
      const what = `${operation.operationId} ${mutation.part}.${mutation.field} breaks ${mutation.constraint}`
      // Validation comes before any decision, so one person's token serves for every operation.
      const response = await h.call(operation.method, `${path}${query ? `?${query}` : ''}`, {
        token: tokenOf(h, 'prosecutor'),
        ...(parts.body !== undefined ? { body: parts.body } : {}),
        headers: Object.fromEntries(Object.entries(parts.headers ?? {}).map(([k, v]) => [k, String(v)])),
      })
      sent++
      t.equal(response.status, 400, `${what}: 400`)
      t.match(response.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`)
      t.equal(response.json?.code, 'VALIDATION_FAILED', `${what}: VALIDATION_FAILED`)
      t.ok(
        JSON.stringify([response.json?.detail, response.json?.errors]).includes(mutation.field),
        `${what}: the problem names ${mutation.field}`,
      )
    }
  }
  t.ok(sent > 150, `${sent} bad requests sent`)
  for (const kind of [
    'required',
    'type',
    'enum',
    'pattern',
    'maxLength',
    'minimum',
    'maximum',
    'additionalProperties',
  ]) {
    t.ok(
      [...kinds].some((constraint) => constraint.split(' ').includes(kind)),
      `the spec's ${kind} constraints were broken`,
    )
  }
  t.same(await snapshot(), before, 'nothing changed: the same log size, grants and adapters')
})
