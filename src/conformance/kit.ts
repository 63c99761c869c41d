import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { OpenApiSpec } from '../http/openapi.js'
import type { ResponseValidators } from '../adapters/responses.js'
import { REQUEST_TOKEN_TTL_SECONDS, type SigningAlgorithm } from '../adapters/signing.js'
import type { Adapter } from '../adapters/types.js'
import { ENTITY_TAG } from '../files/entity-tag.js'
import { type BodyRead, bodyOf, KEPT_BODY_BYTES, type ReadOptions } from './read-answer.js'

/**
 * What came back for one request; a transport that gets no usable answer throws an Error naming why. Of the body
 * only the first KEPT_BODY_BYTES are kept (`body`); every byte counts in `length` and `sha256`.
 */
export interface Exchange extends BodyRead {
  status: number
  headers: Record<string, string | string[] | undefined>
}

/**
 * One GET to the adapter under test. Implementations bound every request by a deadline, never follow a
 * redirect (a 3xx is an answer like any other, and a failure here), cap the body they read and never hold more
 * of it than its first KEPT_BODY_BYTES (src/conformance/read-answer.ts reads a body so).
 */
export type Transport = (path: string, headers: Record<string, string>, options?: ReadOptions) => Promise<Exchange>

/** Signs exactly the claims given with the key the adapter trusts (the gateway's, or the kit's own). */
export interface TokenSigner {
  readonly issuer: string
  readonly algorithm: SigningAlgorithm
  signPayload(payload: JWTPayload): string | Promise<string>
}

export interface CheckResult {
  name: string
  /** Every required check must pass; a check the contract does not ask for is reported, not required. */
  required: boolean
  outcome: 'pass' | 'fail' | 'skip'
  /** outcome === 'pass' */
  ok: boolean
  sent: string
  received: string
  detail?: string
}

export interface ConformanceRun {
  adapter: Adapter
  caseNo: string
  transport: Transport
  signer: TokenSigner
  validators: ResponseValidators
  adapterSpec: OpenApiSpec
  /** Who the tokens name as reader (`sub`, `org`) and which log entry (`log`); the kit itself by default. */
  reader?: { sub: string; org: string; log: number }
  now?: () => number
}

/** A check's failure: its message is the check's detail. */
class CheckFailed extends Error {}

const fail = (message: string): never => {
  throw new CheckFailed(message)
}

const header = (exchange: Exchange, name: string): string | undefined => {
  const value = exchange.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

function describe(exchange: Exchange): string {
  const shown = ['content-type', 'content-length', 'content-range', 'etag', 'repr-digest', 'location']
    .map((name) => [name, header(exchange, name)] as const)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}: ${value}`)
  // The cut may split a UTF-8 sequence: its remains at the end are dropped, not taken for binary.
  const text = exchange.body
    .subarray(0, 240)
    .toString('utf8')
    .replace(/\ufffd{1,3}$/u, '')
  const printable = /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/u.test(text) && !text.includes('\ufffd')
  const body = exchange.length === 0 ? '' : printable ? ` ${JSON.stringify(text)}` : ` <${exchange.length} bytes>`
  return `HTTP ${exchange.status}${shown.length > 0 ? ` (${shown.join('; ')})` : ''}${body}`
}

function expectStatus(exchange: Exchange, status: number): void {
  if (exchange.status === status) return
  if (exchange.status >= 300 && exchange.status < 400) {
    fail(`answered a redirect (HTTP ${exchange.status}) instead of HTTP ${status}: adapters must not redirect`)
  }
  fail(`expected HTTP ${status}, got HTTP ${exchange.status}`)
}

function parseJson(exchange: Exchange): unknown {
  // Never parsed from its first bytes: the gateway itself reads no larger JSON from a court.
  if (exchange.length > exchange.body.length || exchange.length > KEPT_BODY_BYTES) {
    fail(
      `the body is larger than ${KEPT_BODY_BYTES / 1024 / 1024} MiB (${exchange.length} bytes), too large to be read as JSON`,
    )
  }
  try {
    return JSON.parse(exchange.body.toString('utf8'))
  } catch {
    return fail('the body is not JSON')
  }
}

function expectProblem(exchange: Exchange, status: number): void {
  expectStatus(exchange, status)
  const type = header(exchange, 'content-type') ?? ''
  if (!type.toLowerCase().startsWith('application/problem+json')) {
    fail(`expected application/problem+json, got ${type || 'no Content-Type'}`)
  }
  const body = parseJson(exchange) as { status?: unknown; code?: unknown } | null
  if (typeof body?.code !== 'string') fail('the problem has no "code"')
  if (body?.status !== undefined && body.status !== status) fail(`the problem says status ${String(body?.status)}`)
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest()

/** `alg: none`: an unsigned token any adapter must refuse whatever its claims. */
function unsignedToken(payload: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`
}

function freshKey(algorithm: SigningAlgorithm): KeyObject {
  return algorithm === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    : generateKeyPairSync('ed25519').privateKey
}

/** Whether openapi/adapter.yaml makes adapters refuse a token seen before (it would require a `jti`). */
export function contractForbidsReplay(adapterSpec: OpenApiSpec): boolean {
  const schemas = (adapterSpec.components?.schemas ?? {}) as Record<string, { required?: unknown } | undefined>
  const required = schemas.GatewayTokenClaims?.required
  return Array.isArray(required) && required.includes('jti')
}

/**
 * The whole adapter contract (openapi/adapter.yaml), checked from the gateway's side: health, the case and its
 * catalogue against the contract's schemas, every document's bytes against its size, SHA-256 and Repr-Digest,
 * ranges, conditional requests, 404s, and the refusal of every kind of bad token. Never throws: whatever the
 * adapter does, each check ends as a named result.
 */
export async function runContractChecks(run: ConformanceRun): Promise<CheckResult[]> {
  const { adapter, transport, signer, validators } = run
  const now = run.now ?? Date.now
  const court = adapter.court
  const results: CheckResult[] = []
  const caseNo = run.caseNo.trim().replaceAll('(', '（').replaceAll(')', '）')
  const casePath = `/v1/cases/${encodeURIComponent(caseNo)}`

  const claims = (overrides: JWTPayload = {}): JWTPayload => {
    const iat = Math.floor(now() / 1000)
    return {
      iss: signer.issuer,
      aud: court,
      sub: run.reader?.sub ?? 'conformance-kit',
      org: run.reader?.org ?? 'conformance-kit',
      grant: 'conformance-check',
      purpose: 'conformance-check',
      log: run.reader?.log ?? 0,
      iat,
      exp: iat + REQUEST_TOKEN_TTL_SECONDS,
      ...overrides,
    }
  }
  const bearer = async (overrides: JWTPayload = {}) => `Bearer ${await signer.signPayload(claims(overrides))}`

  async function check(
    name: string,
    path: string,
    headers: () => Promise<Record<string, string>>,
    judge: (exchange: Exchange) => void,
    required = true,
    read: ReadOptions = {},
  ): Promise<Exchange | undefined> {
    let sent = `GET ${path}`
    let received = 'nothing'
    try {
      const sentHeaders = await headers()
      const shown = Object.entries(sentHeaders).map(([key, value]) =>
        key === 'authorization' ? `${key}: Bearer <token>` : `${key}: ${value}`,
      )
      if (shown.length > 0) sent += ` (${shown.join('; ')})`
      const exchange = await transport(path, sentHeaders, read)
      received = describe(exchange)
      judge(exchange)
      results.push({ name, required, outcome: 'pass', ok: true, sent, received })
      return exchange
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      results.push({ name, required, outcome: 'fail', ok: false, sent, received, detail: message })
      return undefined
    }
  }
  const skip = (name: string, detail: string, required = true) =>
    results.push({ name, required, outcome: 'skip', ok: false, sent: 'nothing', received: 'nothing', detail })
  const signed = async (extra: Record<string, string> = {}) => ({ authorization: await bearer(), ...extra })

  await check(
    'health',
    '/v1/health',
    async () => ({}),
    (exchange) => {
      expectStatus(exchange, 200)
      if ((parseJson(exchange) as { status?: unknown } | null)?.status !== 'ok') fail('the body is not {"status":"ok"}')
    },
  )

  await check('case', casePath, signed, (exchange) => {
    expectStatus(exchange, 200)
    const summary = validators.caseSummary(parseJson(exchange), adapter)
    if (summary.caseNo !== caseNo) fail(`the case answered is ${summary.caseNo}, not ${caseNo}`)
    if (summary.court !== court) fail(`the case's court is ${summary.court}, not ${court}`)
  })

  let documents: { id: string; size: number; sha256: string; kind: string }[] | undefined
  let catalogueEtag: string | undefined
  await check('volumes', `${casePath}/volumes`, signed, (exchange) => {
    expectStatus(exchange, 200)
    const catalogue = validators.volumes(parseJson(exchange), adapter)
    if (catalogue.caseNo !== caseNo) fail(`the catalogue is of ${catalogue.caseNo}, not ${caseNo}`)
    const all = catalogue.volumes.flatMap((volume) => volume.documents.map((d) => ({ ...d, kind: volume.kind })))
    const ids = new Set(all.map((document) => document.id))
    if (ids.size !== all.length) fail('a document id appears twice in the catalogue')
    documents = all
    catalogueEtag = header(exchange, 'etag')
  })
  // Optional for a court (docs/courts.md#catalogue-cache); once it sends an ETag, the gateway relies on it.
  if (catalogueEtag === undefined) {
    skip('catalogue if-none-match', 'the catalogue carries no ETag: the gateway fetches it whole again', false)
  } else {
    const tag = catalogueEtag
    await check(
      'catalogue if-none-match',
      `${casePath}/volumes`,
      () => signed({ 'if-none-match': tag }),
      (exchange) => {
        if (!ENTITY_TAG.test(tag)) fail(`the catalogue's ETag ${tag} is not an entity tag`)
        expectStatus(exchange, 304)
        if (exchange.length > 0) fail('a 304 carries a body')
        const repeated = header(exchange, 'etag')
        if (repeated !== undefined && repeated !== tag) fail('the 304 names another ETag')
      },
    )
  }

  // Every document in full: its bytes are what the catalogue promised, under the headers the contract names. They
  // are hashed as they arrive, never held: of the document the range checks use (the first of at least 2 bytes
  // read correctly) only its first and last byte and the SHA-256 of its bytes from the second on are kept.
  let ranged:
    | { id: string; size: number; first: number; last: number; tail: Buffer; etag: string; reprDigest: string }
    | undefined
  for (const document of documents ?? []) {
    const path = `${casePath}/documents/${encodeURIComponent(document.id)}`
    const read = { tail: ranged === undefined && document.size >= 2 }
    const judge = (exchange: Exchange) => {
      expectStatus(exchange, 200)
      validators.documentHeaders(exchange.status, exchange.headers, adapter)
      if (exchange.length !== document.size) {
        fail(`${exchange.length} bytes, the catalogue says ${document.size}`)
      }
      const digest = exchange.sha256
      if (digest.toString('hex') !== document.sha256) fail('the bytes do not have the SHA-256 the catalogue lists')
      const reprDigest = header(exchange, 'repr-digest') ?? ''
      if (reprDigest !== `sha-256=:${digest.toString('base64')}:`) fail('Repr-Digest is not the SHA-256 of the bytes')
      const etag = header(exchange, 'etag') ?? ''
      if (etag.startsWith('W/')) fail('the ETag is weak; the contract asks for a strong one')
      const kind = header(exchange, 'volume-kind')
      if (kind !== undefined && kind !== document.kind)
        fail(`Volume-Kind is ${kind}, the catalogue says ${document.kind}`)
      // A transport that ignores `tail` still serves when it kept the whole (small) body.
      const tail =
        exchange.tail ??
        (read.tail && exchange.body.length === exchange.length ? bodyOf(exchange.body, read).tail : undefined)
      const [first, last] = [exchange.body[0], tail?.last]
      if (ranged === undefined && exchange.length >= 2 && tail && first !== undefined && last !== undefined) {
        ranged = { id: document.id, size: exchange.length, first, last, tail: tail.sha256, etag, reprDigest }
      }
    }
    await check(`document ${document.id}`, path, signed, judge, true, read)
  }

  const rangeChecks = ['range single', 'range open-ended', 'range suffix', 'range unsatisfiable', 'if-none-match']
  if (ranged === undefined) {
    for (const name of rangeChecks) skip(name, 'no document of at least 2 bytes was read correctly to try it on')
  } else {
    const whole = ranged
    const path = `${casePath}/documents/${encodeURIComponent(whole.id)}`
    const size = whole.size
    const partial = (first: number, last: number, digest: Buffer) => (exchange: Exchange) => {
      expectStatus(exchange, 206)
      validators.documentHeaders(exchange.status, exchange.headers, adapter)
      const expected = `bytes ${first}-${last}/${size}`
      if (header(exchange, 'content-range') !== expected) fail(`Content-Range is not ${expected}`)
      if (exchange.length !== last - first + 1 || !exchange.sha256.equals(digest)) {
        fail('the bytes are not those of the range')
      }
      if (header(exchange, 'repr-digest') !== whole.reprDigest) fail('Repr-Digest is not that of the whole document')
    }
    const byte = (value: number) => sha256(Buffer.of(value))
    await check('range single', path, () => signed({ range: 'bytes=0-0' }), partial(0, 0, byte(whole.first)))
    await check('range open-ended', path, () => signed({ range: 'bytes=1-' }), partial(1, size - 1, whole.tail))
    await check(
      'range suffix',
      path,
      () => signed({ range: 'bytes=-1' }),
      partial(size - 1, size - 1, byte(whole.last)),
    )
    await check(
      'range unsatisfiable',
      path,
      () => signed({ range: `bytes=${size}-` }),
      (exchange) => {
        expectProblem(exchange, 416)
        if (header(exchange, 'content-range') !== `bytes */${size}`) fail(`Content-Range is not bytes */${size}`)
      },
    )
    await check(
      'if-none-match',
      path,
      () => signed({ 'if-none-match': whole.etag }),
      (exchange) => {
        expectStatus(exchange, 304)
        if (exchange.length > 0) fail('a 304 carries a body')
        if (header(exchange, 'etag') !== whole.etag) fail('the 304 does not repeat the ETag')
      },
    )
  }

  const unknownCase = `（1999）${court}民初99999号`
  await check('unknown case', `/v1/cases/${encodeURIComponent(unknownCase)}`, signed, (exchange) =>
    expectProblem(exchange, 404),
  )
  await check('unknown document', `${casePath}/documents/conformance-no-such-document`, signed, (exchange) =>
    expectProblem(exchange, 404),
  )

  // Each bad token is otherwise perfect, so an adapter passes only by refusing for the one thing wrong with it.
  const refused = (exchange: Exchange) => expectProblem(exchange, 401)
  const refuses = (name: string, authorization: () => Promise<string>) =>
    check(name, casePath, async () => ({ authorization: await authorization() }), refused)
  await check('refuses no token', casePath, async () => ({}), refused)
  const nowSeconds = () => Math.floor(now() / 1000)
  await refuses('refuses expired token', () => bearer({ iat: nowSeconds() - 600, exp: nowSeconds() - 540 }))
  await refuses('refuses token for another court', () => bearer({ aud: `${court}-not-this-court` }))
  await refuses('refuses alg none', async () => `Bearer ${unsignedToken(claims())}`)
  await refuses('refuses wrong key', async () => {
    // Loaded here, the only use: jose takes a tenth of a second to load, at every start of the gateway otherwise.
    const { SignJWT } = await import('jose')
    const forged = new SignJWT(claims()).setProtectedHeader({ alg: signer.algorithm, typ: 'JWT' })
    return `Bearer ${await forged.sign(freshKey(signer.algorithm))}`
  })
  await refuses('refuses over-long lifetime', () => bearer({ exp: nowSeconds() + REQUEST_TOKEN_TTL_SECONDS * 60 }))

  if (contractForbidsReplay(run.adapterSpec)) {
    const token = await bearer({ jti: `conformance-${now()}` })
    await check(
      'replay accepted once',
      casePath,
      async () => ({ authorization: token }),
      (e) => expectStatus(e, 200),
    )
    await check('refuses replayed token', casePath, async () => ({ authorization: token }), refused)
  } else {
    skip(
      'refuses replayed token',
      'openapi/adapter.yaml does not forbid replay (no jti; tokens live at most 60 s), so it is not checked',
      false,
    )
  }
  return results
}

/** Every required check passed (a skipped required check is not a pass). */
export function passed(results: CheckResult[]): boolean {
  return results.every((result) => !result.required || result.outcome === 'pass')
}
