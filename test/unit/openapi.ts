import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import t from 'tap'
import { ERRORS } from '../../src/http/errors.js'
import { inlineSchema, loadSpec, type OpenApiSpec, operations, routeSchema, SpecError } from '../../src/http/openapi.js'
import problemPlugin from '../../src/http/problem-plugin.js'
import { specValidatorCompiler } from '../../src/http/validator-compiler.js'

const root = resolve(import.meta.dirname, '..', '..')
const gatewaySpec = join(root, 'openapi/gateway.yaml')

interface GeneratorModule {
  SPECS: Array<{ spec: string; out: string }>
  generate(specPath: string): Promise<string>
}

const OPERATION_IDS = [
  'createGrant',
  'listGrants',
  'getGrant',
  'approveGrant',
  'rejectGrant',
  'revokeGrant',
  'renewGrant',
  'getGrantCase',
  'getGrantVolumes',
  'getGrantDocument',
  'listCourts',
  'createAdapter',
  'listAdapters',
  'getAdapter',
  'updateAdapter',
  'activateAdapter',
  'suspendAdapter',
  'getAdapterHealth',
  'getJwks',
  'listAuditEntries',
  'getAuditEntry',
  'getAuditEntryReceipt',
  'getCheckpoint',
  'getVerifierKey',
  'getPatternThresholds',
  'getInclusionProof',
  'getConsistencyProof',
  'exportAudit',
  'healthz',
  'readyz',
  'getConsole',
  'getConsoleSignIn',
]
const PLANNED: string[] = []
const UNAUTHENTICATED = [
  'healthz',
  'readyz',
  'getJwks',
  'getOpenApiDocument',
  'getDocs',
  'getConsole',
  'getConsoleSignIn',
]

t.test('the committed generated types match the specs', async (t) => {
  // A variable specifier keeps tsc from demanding declarations for the plain-JavaScript script.
  const scriptUrl = pathToFileURL(join(root, 'scripts/generate-types.mjs')).href
  const { SPECS, generate } = (await import(scriptUrl)) as GeneratorModule
  t.ok(SPECS.some(({ spec }) => spec === 'openapi/gateway.yaml'))
  t.ok(SPECS.some(({ spec }) => spec === 'openapi/adapter.yaml'))
  for (const { spec, out } of SPECS) {
    const outFile = join(root, out)
    if (!existsSync(join(root, spec))) {
      t.notOk(existsSync(outFile), `${out} exists but ${spec} does not: run npm run generate`)
      continue
    }
    t.ok(existsSync(outFile), `${out} is missing: run npm run generate`)
    if (!existsSync(outFile)) continue
    const fresh = await generate(spec)
    t.ok(fresh.startsWith(`/**\n * Generated from ${spec} by scripts/generate-types.mjs — do not edit.`))
    t.ok(readFileSync(outFile, 'utf8') === fresh, `${out} is stale against ${spec}: run npm run generate`)
  }
})

t.test('the gateway spec', async (t) => {
  const spec = loadSpec(gatewaySpec)
  t.equal(loadSpec(gatewaySpec), spec, 'parsed once, then cached')
  t.match(spec.openapi, /^3\.1\./)

  const ops = operations(spec)
  const ids = ops.map((op) => op.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  for (const id of OPERATION_IDS) t.ok(ids.includes(id), `operation ${id} exists`)
  t.same(
    ops
      .filter((op) => op.planned)
      .map((op) => op.operationId)
      .sort(),
    [...PLANNED].sort(),
    'no operation is left planned: every one is served',
  )
  const paths = spec.paths as Record<string, Record<string, Record<string, unknown>>>
  for (const op of ops) {
    const operation = paths[op.path]![op.method.toLowerCase()]!
    if (op.planned) t.match(operation['description'], /Planned:/, `${op.operationId} says it is planned`)
    if (UNAUTHENTICATED.includes(op.operationId)) t.same(operation['security'], [], `${op.operationId} is public`)
    else t.equal(operation['security'], undefined, `${op.operationId} uses the global bearer security`)
  }
  t.same(spec['security'], [{ bearerAuth: [] }])
  t.same(
    ops.find((op) => op.operationId === 'getGrant'),
    { operationId: 'getGrant', method: 'GET', path: '/v1/grants/{id}', planned: false },
  )

  const problem = inlineSchema(spec, { $ref: '#/components/schemas/Problem' }) as {
    properties: { code: { enum: string[] } }
  }
  t.same(
    [...problem.properties.code.enum].sort(),
    Object.keys(ERRORS).sort(),
    'the Problem code enum lists every code of src/http/errors.ts',
  )
})

t.test('routeSchema', async (t) => {
  const spec = loadSpec(gatewaySpec)

  const create = routeSchema(spec, 'createGrant')
  t.equal(create.method, 'POST')
  t.equal(create.url, '/v1/grants')
  const body = create.schema.body as Record<string, unknown>
  t.equal(body['type'], 'object')
  t.equal(body['additionalProperties'], false)
  t.same(body['required'], ['court', 'caseNo', 'supervisionCase', 'volumes', 'reason'])
  t.same(Object.keys(body['properties'] as object), [
    'court',
    'caseNo',
    'supervisionCase',
    'volumes',
    'reason',
    'members',
    'days',
  ])
  t.match(body['properties'], {
    court: { type: 'string', minLength: 1, maxLength: 16 },
    volumes: { items: { enum: ['main', 'sub'] }, minItems: 1, maxItems: 2, uniqueItems: true },
    days: { type: 'integer', minimum: 1, maximum: 180 },
  })
  t.notMatch(JSON.stringify(create.schema), /\$ref|"examples?"|x-status/, 'refs inlined, OpenAPI-only keywords gone')
  t.same(create.schema.querystring, { type: 'object', properties: {}, required: [], additionalProperties: false })

  const document = routeSchema(spec, 'getGrantDocument')
  t.equal(document.url, '/v1/grants/:id/documents/:documentId')
  t.match(document.schema.params, { required: ['id', 'documentId'], additionalProperties: false })
  t.match(document.schema.headers, {
    properties: { range: { type: 'string' }, 'if-none-match': { type: 'string' } },
    required: [],
    additionalProperties: true,
  })

  const approve = routeSchema(spec, 'approveGrant')
  t.match(approve.schema.body, {
    if: { type: 'null' },
    else: { type: 'object', additionalProperties: false },
  })
  t.equal(routeSchema(spec, 'updateAdapter').method, 'PATCH')
  t.match(routeSchema(spec, 'getInclusionProof').schema.querystring, {
    required: ['index', 'size'],
    properties: { index: { pattern: '^[0-9]{1,16}$' } },
  })
  t.equal(routeSchema(spec, 'getJwks').url, '/.well-known/jwks.json')
  t.throws(() => routeSchema(spec, 'noSuchOperation'), SpecError)
})

function miniSpec(schemas: Record<string, unknown>, body: unknown, extra: Record<string, unknown> = {}): OpenApiSpec {
  return {
    openapi: '3.1.0',
    info: { title: 'test', version: '0' },
    paths: {
      '/things/{id}': {
        post: {
          operationId: 'makeThing',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: body } } },
          ...extra,
        },
      },
    },
    components: { schemas },
  }
}

t.test('ref resolution', async (t) => {
  const cyclic = miniSpec(
    {
      A: { type: 'object', properties: { b: { $ref: '#/components/schemas/B' } } },
      B: { type: 'array', items: { $ref: '#/components/schemas/A' } },
    },
    { $ref: '#/components/schemas/A' },
  )
  t.throws(() => routeSchema(cyclic, 'makeThing'), {
    name: 'SpecError',
    message: /cyclic \$ref: #\/components\/schemas\/A -> #\/components\/schemas\/B -> #\/components\/schemas\/A/,
  })
  const selfCycle = miniSpec({ A: { $ref: '#/components/schemas/A' } }, { $ref: '#/components/schemas/A' })
  t.throws(() => routeSchema(selfCycle, 'makeThing'), { message: /cyclic/ })

  const shared = miniSpec(
    {
      Name: { type: 'string', maxLength: 5, example: 'abc', 'x-internal': true },
      Pair: {
        type: 'object',
        additionalProperties: false,
        required: ['first', 'examples'],
        properties: {
          first: { $ref: '#/components/schemas/Name' },
          examples: { $ref: '#/components/schemas/Name', description: 'a property, not the keyword' },
        },
        examples: [{ first: 'a', examples: 'b' }],
        discriminator: { propertyName: 'first' },
      },
    },
    { $ref: '#/components/schemas/Pair' },
  )
  t.same(routeSchema(shared, 'makeThing').schema.body, {
    type: 'object',
    additionalProperties: false,
    required: ['first', 'examples'],
    properties: { first: { type: 'string', maxLength: 5 }, examples: { type: 'string', maxLength: 5 } },
  })

  const sibling = miniSpec({ S: { type: 'string' } }, { $ref: '#/components/schemas/S', maxLength: 3 })
  t.throws(() => routeSchema(sibling, 'makeThing'), { message: /sibling/ })
  const dangling = miniSpec({}, { $ref: '#/components/schemas/Missing' })
  t.throws(() => routeSchema(dangling, 'makeThing'), { message: /unresolvable/ })
  const remote = miniSpec({}, { $ref: 'other.yaml#/components/schemas/X' })
  t.throws(() => routeSchema(remote, 'makeThing'), { message: /only local/ })
  const mismatch = miniSpec({}, { type: 'object' }, { parameters: [] })
  t.throws(() => routeSchema(mismatch, 'makeThing'), { message: /do not match/ })
})

t.test('loadSpec refuses a file that is not an OpenAPI document', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'not-a-spec.yaml')
  writeFileSync(file, 'hello: world\n')
  t.throws(() => loadSpec(file), SpecError)
})

t.test('Fastify enforces the spec', async (t) => {
  const spec = loadSpec(gatewaySpec)
  const app = Fastify()
  app.setValidatorCompiler(specValidatorCompiler())
  t.teardown(() => app.close())
  await app.register(problemPlugin)
  // Every operation must compile under Fastify's Ajv, planned ones included, so none fails at startup later.
  for (const { operationId } of operations(spec)) {
    const route = routeSchema(spec, operationId)
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      handler: async (request) => ({ operationId, body: request.body ?? null, query: request.query }),
    })
  }
  await app.ready()

  const grant = {
    court: '黑01',
    caseNo: '（2023）黑01民终123号',
    supervisionCase: '哈检民监〔2024〕12号',
    volumes: ['main'],
    reason: '审查',
  }
  const ok = await app.inject({ method: 'POST', url: '/v1/grants', payload: grant })
  t.equal(ok.statusCode, 200)
  t.same(ok.json().body, grant)

  const refused = [
    { method: 'POST', url: '/v1/grants', payload: { ...grant, admin: true } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, reason: undefined } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, volumes: ['main', 'main'] } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, volumes: ['appendix'] } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, days: 181 } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, days: '30' } },
    { method: 'POST', url: '/v1/grants', payload: { ...grant, volumes: 'main' } },
    { method: 'GET', url: '/v1/grants?sort=newest' },
    { method: 'GET', url: '/v1/grants/abc%2Fdef' },
    { method: 'GET', url: '/v1/grants/g1/documents/a..b' },
    { method: 'GET', url: '/v1/grants/g1/documents/.' },
    { method: 'GET', url: '/v1/audit/entries/-1' },
    { method: 'GET', url: '/v1/audit/entries?limit=0' },
    { method: 'GET', url: '/v1/audit/entries?since=yesterday' },
    { method: 'GET', url: '/v1/audit/proofs/inclusion?index=1' },
    { method: 'POST', url: '/v1/grants/g1/approve', payload: { note: 'ok', extra: 1 } },
    { method: 'POST', url: '/v1/grants/g1/renew', payload: {} },
    { method: 'POST', url: '/v1/adapters', payload: { court: '黑01', baseUrl: 'not a url' } },
    { method: 'PATCH', url: '/v1/adapters/a1', payload: {} },
  ] as const
  for (const request of refused) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 400, `${request.method} ${request.url} ${JSON.stringify(request)} is refused`)
    t.equal(response.json().code, 'VALIDATION_FAILED')
  }

  // The URL parser of inject folds an encoded `..` away, so no route matches and no handler runs.
  const traversal = await app.inject({ method: 'GET', url: '/v1/grants/g1/documents/%2E%2E' })
  t.equal(traversal.statusCode, 404, 'an encoded .. never reaches a handler')
  t.notOk(traversal.json().operationId)

  const accepted = [
    { method: 'POST', url: '/v1/grants/g1/approve' },
    { method: 'POST', url: '/v1/grants/g1/approve', payload: { note: '同意' } },
    { method: 'GET', url: '/v1/grants/g1/documents/doc-1.pdf' },
    { method: 'GET', url: '/v1/audit/entries?limit=50&decision=deny&action=document.read' },
    { method: 'GET', url: `/v1/audit/entries?caseNo=${encodeURIComponent('（2023）黑01民终123号')}` },
    { method: 'GET', url: '/v1/audit/proofs/consistency?from=1&to=2' },
    { method: 'GET', url: '/.well-known/jwks.json' },
    { method: 'PATCH', url: '/v1/adapters/a1', payload: { description: '新系统' } },
  ] as const
  for (const request of accepted) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 200, `${request.method} ${request.url} is accepted`)
  }
  const limited = await app.inject({ method: 'GET', url: '/v1/audit/entries?limit=50' })
  t.same(limited.json().query, { limit: 50 }, 'limit is coerced to an integer')
})
