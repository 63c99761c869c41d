import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, SignJWT } from 'jose'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { buildCourtAdapter, decideRange, normaliseCaseNo } from '../examples/court-adapter/app.js'
import { writeCases } from '../examples/court-adapter/make-cases.js'
import { loadSpec } from '../src/http/openapi.js'
import { responseConformance } from '../src/http/response-conformance.js'
import { ADAPTER_SPEC } from '../src/paths.js'
import { startBuilt } from './helpers/children.js'
import { waitFor } from './helpers/wait.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CASES_DIR = path.join(ROOT, 'examples', 'court-adapter', 'cases')
const ISSUER = 'court-file-gateway'
const CASE_01 = '（2023）黑01民终1234号'
const CASE_01_FOLDER = path.join(CASES_DIR, '黑01', '2023-min-zhong-1234')
const CASE_0103 = '（2023）黑0103民初4567号'

interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

let port = 0
const adapterContract = responseConformance(loadSpec(ADAPTER_SPEC))

/** node:http rather than fetch: fetch normalises `..` and `%2e%2e` away, and those must reach the server. */
function send(rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }
        // Every answer of the reference adapter is held to openapi/adapter.yaml, whatever the test asked.
        const violations = adapterContract.check({ method, path: rawPath.split('?', 1)[0]!, ...answer })
        if (violations.length > 0) reject(new Error(`the adapter answered off its contract:\n${violations.join('\n')}`))
        else resolve(answer)
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

const enc = encodeURIComponent
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest()
const json = (res: Response) => JSON.parse(res.body.toString('utf8'))

const gatewayKeys = await generateKeyPair('EdDSA')
const gatewayEcKeys = await generateKeyPair('ES256')
const strangerKeys = await generateKeyPair('EdDSA')
const jwks: JSONWebKeySet = {
  keys: [
    { ...(await exportJWK(gatewayKeys.publicKey)), kid: 'gw-ed', alg: 'EdDSA', use: 'sig' } as JWK,
    { ...(await exportJWK(gatewayEcKeys.publicKey)), kid: 'gw-ec', alg: 'ES256', use: 'sig' } as JWK,
  ],
}

interface TokenOptions {
  claims?: Record<string, unknown>
  omit?: string[]
  alg?: string
  kid?: string
  key?: Parameters<SignJWT['sign']>[0]
}

async function token(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: '黑01',
    sub: 'prosecutor-1001',
    org: '230100',
    grant: 'g-7f3a',
    purpose: '哈检民监〔2024〕12号',
    log: 42,
    iat: now,
    exp: now + 30,
    ...options.claims,
  }
  for (const name of options.omit ?? []) delete payload[name]
  const alg = options.alg ?? 'EdDSA'
  return new SignJWT(payload)
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === 'ES256' ? 'gw-ec' : 'gw-ed') })
    .sign(options.key ?? (alg === 'ES256' ? gatewayEcKeys.privateKey : gatewayKeys.privateKey))
}

const bearer = async (options: TokenOptions = {}) => ({ authorization: `Bearer ${await token(options)}` })

interface CaseJson {
  caseNo: string
  court: string
  volumes: Array<{ id: string; kind: string; title: string; documents: Array<{ id: string; file: string }> }>
  [key: string]: unknown
}
const case01 = JSON.parse(await readFile(path.join(CASE_01_FOLDER, 'case.json'), 'utf8')) as CaseJson

const app = await buildCourtAdapter({ casesDir: CASES_DIR, courts: ['黑01', '黑0103'], gatewayIssuer: ISSUER, jwks })
await app.listen({ host: '127.0.0.1', port: 0 })
port = (app.server.address() as AddressInfo).port
t.teardown(() => app.close())

const docPath = (caseNo: string, id: string) => `/v1/cases/${enc(caseNo)}/documents/${id}`

interface SchemaNode {
  $ref?: string
  type?: string
  required?: string[]
  properties?: Record<string, SchemaNode>
  additionalProperties?: boolean
  items?: SchemaNode
  enum?: unknown[]
  pattern?: string
  minimum?: number
}
const spec = parseYaml(await readFile(path.join(ROOT, 'openapi', 'adapter.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, { operationId?: string }>>
  components: { schemas: Record<string, SchemaNode> }
}

/** Enough of JSON Schema for the keywords openapi/adapter.yaml uses, so responses are held to the contract. */
function violations(value: unknown, schema: SchemaNode, at = '$'): string[] {
  if (schema.$ref !== undefined) {
    const target = spec.components.schemas[schema.$ref.replace('#/components/schemas/', '')]
    return target === undefined ? [`${at}: unresolved ${schema.$ref}`] : violations(value, target, at)
  }
  const out: string[] = []
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: not an object`]
    const record = value as Record<string, unknown>
    for (const name of schema.required ?? []) if (!(name in record)) out.push(`${at}.${name}: missing`)
    for (const [name, item] of Object.entries(record)) {
      const property = schema.properties?.[name]
      if (property === undefined) {
        if (schema.additionalProperties === false) out.push(`${at}.${name}: not allowed`)
      } else out.push(...violations(item, property, `${at}.${name}`))
    }
  } else if (schema.type === 'array') {
    if (!Array.isArray(value)) return [`${at}: not an array`]
    value.forEach((item, i) => {
      if (schema.items) out.push(...violations(item, schema.items, `${at}[${i}]`))
    })
  } else if (schema.type === 'string') {
    if (typeof value !== 'string') return [`${at}: not a string`]
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) out.push(`${at}: pattern`)
  } else if (schema.type === 'integer') {
    if (!Number.isInteger(value)) return [`${at}: not an integer`]
    if (schema.minimum !== undefined && (value as number) < schema.minimum) out.push(`${at}: below minimum`)
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) out.push(`${at}: not in enum`)
  return out
}

t.test('the spec names every operation', async (t) => {
  const ids = Object.values(spec.paths).map((item) => item.get?.operationId)
  t.same(ids, ['getHealth', 'getCase', 'getVolumes', 'getDocument'])
  for (const name of ['Case', 'Volumes', 'Volume', 'Document', 'Problem']) t.ok(spec.components.schemas[name], name)
  t.notMatch(await readFile(path.join(ROOT, 'openapi', 'adapter.yaml'), 'utf8'), /nullable/)
  const { volumes: _volumes, ...summary } = case01
  t.not(violations({ ...summary, extra: 1 }, { $ref: '#/components/schemas/Case' }).length, 0, 'the checker bites')
  t.not(violations({ ...summary, caseNo: '(2023)黑01民终1234号' }, { $ref: '#/components/schemas/Case' }).length, 0)
})

t.test('health needs no token', async (t) => {
  const res = await send('/v1/health')
  t.equal(res.status, 200)
  t.same(json(res), { status: 'ok' })
  t.same(violations(json(res), { $ref: '#/components/schemas/Health' }), [])
})

t.test('case summary, with half-width parentheses accepted', async (t) => {
  const { volumes: _volumes, ...summary } = case01
  for (const caseNo of [CASE_01, '(2023)黑01民终1234号']) {
    const res = await send(`/v1/cases/${enc(caseNo)}`, await bearer())
    t.equal(res.status, 200, caseNo)
    t.match(res.headers['content-type'], /^application\/json/)
    t.strictSame(json(res), summary)
    t.same(violations(json(res), { $ref: '#/components/schemas/Case' }), [])
  }
  t.equal(normaliseCaseNo('(2024)黑01执恢56号'), '（2024）黑01执恢56号')
  const other = await send(`/v1/cases/${enc(CASE_0103)}`, await bearer({ claims: { aud: '黑0103' } }))
  t.equal(other.status, 200)
  t.equal(json(other).court, '黑0103')
})

t.test('volumes list documents with the sizes and digests of the files', async (t) => {
  const res = await send(`/v1/cases/${enc(CASE_01)}/volumes`, await bearer())
  t.equal(res.status, 200)
  const body = json(res)
  t.same(violations(body, { $ref: '#/components/schemas/Volumes' }), [])
  t.equal(body.caseNo, CASE_01)
  t.same(
    body.volumes.map((v: { kind: string; title: string }) => [v.kind, v.title]),
    [
      ['main', '正卷'],
      ['sub', '副卷'],
    ],
  )
  let count = 0
  for (const [v, volume] of case01.volumes.entries()) {
    for (const [d, doc] of volume.documents.entries()) {
      const bytes = await readFile(path.join(CASE_01_FOLDER, doc.file))
      const listed = body.volumes[v].documents[d]
      t.equal(listed.id, doc.id)
      t.equal(listed.size, bytes.length, `${doc.id} size`)
      t.equal(listed.sha256, sha256(bytes).toString('hex'), `${doc.id} sha256`)
      t.equal(listed.mediaType, 'application/pdf')
      t.equal(listed.pages, 1)
      t.notOk('file' in listed, 'file paths stay private')
      count++
    }
  }
  t.ok(count >= 8)
})

t.test('document bytes, headers and digest', async (t) => {
  const id = 'main-05-judgment'
  const onDisk = await readFile(path.join(CASE_01_FOLDER, `${id}.pdf`))
  const res = await send(docPath(CASE_01, id), await bearer())
  t.equal(res.status, 200)
  t.ok(res.body.equals(onDisk))
  t.equal(res.headers['content-type'], 'application/pdf')
  t.equal(res.headers['content-length'], String(onDisk.length))
  t.equal(res.headers['accept-ranges'], 'bytes')
  t.equal(res.headers.etag, `"${sha256(onDisk).toString('hex')}"`)
  t.equal(res.headers['repr-digest'], `sha-256=:${sha256(res.body).toString('base64')}:`)
  t.equal(res.headers['cache-control'], 'no-store')

  const head = await send(docPath(CASE_01, id), await bearer(), 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], String(onDisk.length))
  t.equal(head.body.length, 0)

  const es256 = await send(docPath(CASE_01, 'sub-02-deliberation'), await bearer({ alg: 'ES256' }))
  t.equal(es256.status, 200, 'ES256 tokens are accepted too')
})

t.test('ranges', async (t) => {
  const id = 'main-01-appeal'
  const onDisk = await readFile(path.join(CASE_01_FOLDER, `${id}.pdf`))
  const size = onDisk.length
  const headers = await bearer()
  const digest = `sha-256=:${sha256(onDisk).toString('base64')}:`

  const first = await send(docPath(CASE_01, id), { ...headers, range: 'bytes=0-4' })
  t.equal(first.status, 206)
  t.equal(first.body.toString('latin1'), '%PDF-')
  t.equal(first.headers['content-range'], `bytes 0-4/${size}`)
  t.equal(first.headers['content-length'], '5')
  t.equal(first.headers['repr-digest'], digest, 'Repr-Digest stays the digest of the whole document')

  const suffix = await send(docPath(CASE_01, id), { ...headers, range: 'bytes=-5' })
  t.equal(suffix.status, 206)
  t.equal(suffix.body.toString('latin1'), '%%EOF')
  t.equal(suffix.headers['content-range'], `bytes ${size - 5}-${size - 1}/${size}`)

  const open = await send(docPath(CASE_01, id), { ...headers, range: 'bytes=100-' })
  t.equal(open.status, 206)
  t.ok(open.body.equals(onDisk.subarray(100)))

  const clamped = await send(docPath(CASE_01, id), { ...headers, range: `bytes=10-${size + 1000}` })
  t.equal(clamped.status, 206)
  t.equal(clamped.headers['content-range'], `bytes 10-${size - 1}/${size}`)

  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
    const res = await send(docPath(CASE_01, id), { ...headers, range })
    t.equal(res.status, 416, range)
    t.equal(res.headers['content-range'], `bytes */${size}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(json(res).code, 'RANGE_NOT_SATISFIABLE')
  }

  for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3', 'bytes=abc']) {
    const res = await send(docPath(CASE_01, id), { ...headers, range })
    t.equal(res.status, 200, `${range} is ignored`)
    t.equal(res.body.length, size)
  }

  const etag = `"${sha256(onDisk).toString('hex')}"`
  const ifRange = await send(docPath(CASE_01, id), { ...headers, range: 'bytes=0-4', 'if-range': etag })
  t.equal(ifRange.status, 206)
  const stale = await send(docPath(CASE_01, id), { ...headers, range: 'bytes=0-4', 'if-range': '"stale"' })
  t.equal(stale.status, 200)
  t.equal(stale.body.length, size)

  t.same(decideRange(undefined, 10), { kind: 'full' })
  t.same(decideRange('bytes=0-0', 0), { kind: 'unsatisfiable' })
  t.same(decideRange('bytes=-20', 10), { kind: 'partial', start: 0, end: 9 })
})

t.test('If-None-Match', async (t) => {
  const id = 'main-02-answer'
  const onDisk = await readFile(path.join(CASE_01_FOLDER, `${id}.pdf`))
  const etag = `"${sha256(onDisk).toString('hex')}"`
  const headers = await bearer()
  for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const res = await send(docPath(CASE_01, id), { ...headers, 'if-none-match': ifNoneMatch })
    t.equal(res.status, 304, ifNoneMatch)
    t.equal(res.body.length, 0)
    t.equal(res.headers.etag, etag)
  }
  const changed = await send(docPath(CASE_01, id), { ...headers, 'if-none-match': '"other"' })
  t.equal(changed.status, 200)
  t.ok(changed.body.equals(onDisk))
})

t.test('tokens the adapter refuses', async (t) => {
  const now = Math.floor(Date.now() / 1000)
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: '黑01', sub: 'x', org: 'y', grant: 'g', purpose: 'p', log: 1, iat: now, exp: now + 30 })}.`
  const publicJwk = await exportJWK(gatewayKeys.publicKey)
  type Case = [name: string, headers: () => Promise<Record<string, string>>, detail: RegExp]
  const cases: Case[] = [
    ['no Authorization header', async () => ({}), /Bearer token is required/],
    ['a Basic header', async () => ({ authorization: 'Basic dXNlcjpwYXNz' }), /must be "Bearer <JWT>"/],
    ['garbage', async () => ({ authorization: 'Bearer not-a-jwt' }), /malformed/],
    ['wrong issuer', () => bearer({ claims: { iss: 'https://evil.example' } }), /not issued by the gateway/],
    ['wrong aud', () => bearer({ claims: { aud: 'court-file-gateway' } }), /not meant for a court/],
    ['aud of a court not served', () => bearer({ claims: { aud: '黑02' } }), /not meant for a court/],
    ['aud of another served court', () => bearer({ claims: { aud: '黑0103' } }), /not the case's court/],
    ['aud naming two courts', () => bearer({ claims: { aud: ['黑01', '黑0103'] } }), /exactly one court/],
    ['expired', () => bearer({ claims: { iat: now - 120, exp: now - 60 } }), /expired/],
    ['exp - iat > 60', () => bearer({ claims: { iat: now, exp: now + 61 } }), /longer than 60 seconds/],
    ['issued in the future', () => bearer({ claims: { iat: now + 600, exp: now + 630 } }), /future/],
    ['no exp', () => bearer({ omit: ['exp'] }), /"exp"/],
    ['no iat', () => bearer({ omit: ['iat'] }), /"iat"/],
    ...['sub', 'org', 'grant', 'purpose', 'log'].map(
      (claim): Case => [`no ${claim}`, () => bearer({ omit: [claim] }), new RegExp(`"${claim}"`)],
    ),
    ['empty sub', () => bearer({ claims: { sub: '' } }), /"sub"/],
    ['log not an index', () => bearer({ claims: { log: '42' } }), /"log"/],
    ['negative log', () => bearer({ claims: { log: -1 } }), /"log"/],
    [
      'HS256',
      () => bearer({ alg: 'HS256', key: new TextEncoder().encode('a-shared-secret-of-32-bytes-long!') }),
      /algorithm/,
    ],
    [
      'HS256 keyed with the public key',
      () => bearer({ alg: 'HS256', key: Buffer.from(publicJwk.x ?? '', 'base64url') }),
      /algorithm/,
    ],
    ['alg none', async () => ({ authorization: `Bearer ${unsigned}` }), /algorithm/],
    ['signed by another key', () => bearer({ key: strangerKeys.privateKey }), /not signed by a key of the gateway/],
    [
      'signed by another key, unknown kid',
      () => bearer({ key: strangerKeys.privateKey, kid: 'unknown' }),
      /not signed by a key of the gateway/,
    ],
  ]
  for (const [name, headers, detail] of cases) {
    for (const target of [`/v1/cases/${enc(CASE_01)}`, docPath(CASE_01, 'main-01-appeal')]) {
      const res = await send(target, await headers())
      t.equal(res.status, 401, `${name}: ${target}`)
      t.match(res.headers['content-type'], /^application\/problem\+json/)
      t.match(res.headers['www-authenticate'], /^Bearer/)
      const body = json(res)
      t.match(body, { status: 401, code: 'UNAUTHENTICATED', title: String, type: String, detail }, name)
      t.same(violations(body, { $ref: '#/components/schemas/Problem' }), [])
    }
  }
  // A tampered payload keeps the signature of the original.
  const good = await token()
  const [header, , signature] = good.split('.')
  const forged = `${header}.${b64({ iss: ISSUER, aud: '黑01', sub: 'x', org: 'y', grant: 'g', purpose: 'p', log: 1, iat: now, exp: now + 30 })}.${signature}`
  t.equal((await send(`/v1/cases/${enc(CASE_01)}`, { authorization: `Bearer ${forged}` })).status, 401)
})

t.test('unknown case or document is 404 problem+json', async (t) => {
  const headers = await bearer()
  const targets = [
    `/v1/cases/${enc('（2023）黑01民终9999号')}`,
    `/v1/cases/${enc('（2023）黑01民终9999号')}/volumes`,
    docPath('（2023）黑01民终9999号', 'main-01-appeal'),
    docPath(CASE_01, 'main-99-missing'),
    // A file beside the documents is not a document.
    docPath(CASE_01, 'case.json'),
    '/v1/nothing-here',
  ]
  for (const target of targets) {
    const res = await send(target, headers)
    t.equal(res.status, 404, target)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.equal(json(res).code, 'NOT_FOUND')
    t.same(violations(json(res), { $ref: '#/components/schemas/Problem' }), [])
  }
})

t.test('path traversal never leaves the catalogue', async (t) => {
  const headers = await bearer()
  const base = `/v1/cases/${enc(CASE_01)}/documents`
  const targets = [
    `${base}/..`,
    `${base}/%2e%2e`,
    `${base}/%2E%2E`,
    `${base}/..%2Fcase.json`,
    `${base}/%2e%2e%2fcase.json`,
    `${base}/..%2F..%2F..%2F..%2Fetc%2Fpasswd`,
    `${base}/../../../../etc/passwd`,
    `${base}/main-01-appeal%2F..%2Fcase.json`,
    `${base}/a..b`,
    `/v1/cases/..%2F..%2Fetc/volumes`,
    `/v1/cases/%2e%2e/documents/main-01-appeal`,
    `/v1/cases/${enc(CASE_01)}%2F..%2F..%2F/documents/main-01-appeal`,
    `/v1/cases/${enc(CASE_01)}/documents/%ZZ`,
  ]
  for (const target of targets) {
    const res = await send(target, headers)
    t.ok(res.status >= 400 && res.status < 500, `${target} → ${res.status}`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, target)
    t.notMatch(res.body.toString('utf8'), /root:|"volumes"/)
  }
})

t.test('every shipped PDF is a well-formed PDF', async (t) => {
  let count = 0
  for (const court of await readdir(CASES_DIR)) {
    for (const folder of await readdir(path.join(CASES_DIR, court))) {
      const caseDir = path.join(CASES_DIR, court, folder)
      const caseJson = JSON.parse(await readFile(path.join(caseDir, 'case.json'), 'utf8')) as CaseJson
      t.equal(caseJson.court, court)
      t.match(folder, /^[A-Za-z0-9._-]+$/, 'case folders are ASCII')
      t.same(new Set(caseJson.volumes.map((v) => v.kind)), new Set(['main', 'sub']), `${folder} has both volumes`)
      for (const volume of caseJson.volumes) {
        for (const doc of volume.documents) {
          const pdf = await readFile(path.join(caseDir, doc.file))
          const text = pdf.toString('latin1')
          t.ok(text.startsWith('%PDF-'), `${doc.file} starts with %PDF-`)
          t.ok(text.endsWith('%%EOF'), `${doc.file} ends with %%EOF`)
          t.ok(pdf.length > 200 && pdf.length < 8192, `${doc.file} is small`)
          const startxref = Number(/startxref\n(\d+)\n%%EOF$/.exec(text)?.[1])
          t.equal(text.slice(startxref, startxref + 4), 'xref', `${doc.file} startxref`)
          const entries = [...text.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]))
          t.ok(entries.length >= 5)
          for (const [i, offset] of entries.entries()) {
            t.ok(text.startsWith(`${i + 1} 0 obj`, offset), `${doc.file} object ${i + 1} offset`)
          }
          const stream = /<< \/Length (\d+) >>\nstream\n/.exec(text)
          t.ok(stream)
          if (stream) {
            const at = stream.index + stream[0].length + Number(stream[1])
            t.equal(text.slice(at, at + 10), '\nendstream', `${doc.file} stream length`)
          }
          const title = /\/Title <FEFF([0-9A-F]+)>/.exec(text)?.[1] ?? ''
          t.equal(Buffer.from(title, 'hex').swap16().toString('utf16le'), (doc as { title?: string }).title)
          count++
        }
      }
    }
  }
  t.ok(count >= 30, `${count} PDFs`)
})

t.test('make-cases reproduces the shipped files byte for byte', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'court-cases-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const written = await writeCases(dir)
  for (const file of written) {
    const shipped = await readFile(path.join(CASES_DIR, path.relative(dir, file)))
    t.ok(shipped.equals(await readFile(file)), path.relative(dir, file))
  }
})

t.test('the catalogue refuses files outside the case folder and bad ids', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'court-bad-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'secret.txt'), 'secret')
  const caseDir = path.join(dir, '黑01', 'c1')
  await mkdir(caseDir, { recursive: true })
  await writeFile(path.join(caseDir, 'a.pdf'), '%PDF-1.4\n%%EOF')
  await symlink(path.join(dir, 'secret.txt'), path.join(caseDir, 'link.pdf'))
  const write = (documents: unknown[], extra: Record<string, unknown> = {}) =>
    writeFile(
      path.join(caseDir, 'case.json'),
      JSON.stringify({
        caseNo: '（2023）黑01民初1号',
        court: '黑01',
        caseType: '民初',
        title: '测试',
        status: 'open',
        filedOn: '2023-01-01',
        volumes: [{ id: 'main', kind: 'main', title: '正卷', documents }],
        ...extra,
      }),
    )
  const build = () => buildCourtAdapter({ casesDir: dir, courts: ['黑01'], gatewayIssuer: ISSUER, jwks })
  const bad: Array<[string, unknown[], Record<string, unknown>?]> = [
    ['a file above the folder', [{ id: 'x', title: 't', file: '../../secret.txt' }]],
    ['a symlink out of the folder', [{ id: 'x', title: 't', file: 'link.pdf' }]],
    ['an id with ..', [{ id: 'a..b', title: 't', file: 'a.pdf' }]],
    ['an id with a slash', [{ id: 'a/b', title: 't', file: 'a.pdf' }]],
    ['a missing file', [{ id: 'x', title: 't', file: 'nope.pdf' }]],
    [
      'a duplicate id',
      [
        { id: 'x', title: 't', file: 'a.pdf' },
        { id: 'x', title: 't', file: 'a.pdf' },
      ],
    ],
    ['another court', [{ id: 'x', title: 't', file: 'a.pdf' }], { court: '黑0103' }],
    ['a case number of another court', [{ id: 'x', title: 't', file: 'a.pdf' }], { caseNo: '（2023）黑0103民初1号' }],
  ]
  for (const [name, documents, extra] of bad) {
    await write(documents, extra)
    await t.rejects(build(), name)
  }

  await write([{ id: 'x', title: '起诉状', file: 'a.pdf' }], { caseNo: '(2023)黑01民初1号' })
  const ok = await build()
  t.teardown(() => ok.close())
  const headers = await bearer()
  const url = `/v1/cases/${enc('（2023）黑01民初1号')}/documents/x`
  const res = await ok.inject({ url, headers })
  t.equal(res.statusCode, 200)
  t.equal(res.body, '%PDF-1.4\n%%EOF')
  // A file changed behind the adapter's back would fail the gateway's digest check: refuse it up front.
  await writeFile(path.join(caseDir, 'a.pdf'), '%PDF-1.4\nchanged\n%%EOF')
  await utimes(path.join(caseDir, 'a.pdf'), new Date(), new Date(Date.now() + 5000))
  const changed = await ok.inject({ url, headers })
  t.equal(changed.statusCode, 500)
  t.equal(changed.json().code, 'INTERNAL')

  await t.rejects(buildCourtAdapter({ casesDir: dir, courts: [], gatewayIssuer: ISSUER, jwks }))
  await t.rejects(
    buildCourtAdapter({
      casesDir: dir,
      courts: ['黑01'],
      gatewayIssuer: ISSUER,
      jwks,
      algorithms: ['HS256' as 'EdDSA'],
    }),
  )
})

t.test('keys fetched from the gateway JWKS URL', async (t) => {
  const jwksServer = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())))
  const url = new URL(`http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`)
  const remote = await buildCourtAdapter({ casesDir: CASES_DIR, courts: ['黑01'], gatewayIssuer: ISSUER, jwks: url })
  t.teardown(() => remote.close())
  const target = `/v1/cases/${enc(CASE_01)}`
  t.equal((await remote.inject({ url: target, headers: await bearer() })).statusCode, 200)
  t.equal(
    (await remote.inject({ url: target, headers: await bearer({ key: strangerKeys.privateKey }) })).statusCode,
    401,
  )

  // Nothing listens on the discard port: without the gateway's keys every read is refused.
  const offline = await buildCourtAdapter({
    casesDir: CASES_DIR,
    courts: ['黑01'],
    gatewayIssuer: ISSUER,
    jwks: new URL('http://127.0.0.1:9/.well-known/jwks.json'),
  })
  t.teardown(() => offline.close())
  const res = await offline.inject({ url: target, headers: await bearer() })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { code: 'UNAUTHENTICATED', detail: /could not be verified/ })
})

t.test('main.ts starts the adapter and logs reads without the token', async (t) => {
  const jwksServer = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())))
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`
  const running = startBuilt(t, 'examples/court-adapter/main.js', [
    '--port',
    '0',
    '--courts',
    '黑01',
    '--gateway-jwks',
    jwksUrl,
  ])
  const baseUrl = await waitFor(
    () => {
      if (running.child.exitCode !== null) throw new Error(`adapter exited: ${running.output()}`)
      return /listening on (http:\/\/\S+)/.exec(running.output())?.[1]
    },
    { what: 'the adapter listening' },
  )
  const jwt = await token()
  const res = await fetch(`${baseUrl}/v1/cases/${enc(CASE_01)}/documents/main-01-appeal`, {
    headers: { authorization: `Bearer ${jwt}` },
  })
  t.equal(res.status, 200)
  t.equal(
    Buffer.from(await res.arrayBuffer())
      .subarray(0, 5)
      .toString('latin1'),
    '%PDF-',
  )
  running.child.kill('SIGTERM')
  const { code, stdout, stderr } = await running.finished
  t.equal(code, 0, 'stops cleanly on SIGTERM')
  const output = stdout + stderr
  const read = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((entry) => entry.msg === 'document read')
  t.match(read, { sub: 'prosecutor-1001', org: '230100', grant: 'g-7f3a', logIndex: 42, document: 'main-01-appeal' })
  t.notOk(output.includes(jwt.split('.')[2] ?? jwt), 'the token is never logged')
  t.notMatch(output, /authorization/i)
})
