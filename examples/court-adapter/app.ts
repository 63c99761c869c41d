/**
 * The reference court adapter (docs/courts.md, openapi/adapter.yaml): serves a folder of case files to the gateway,
 * and to nobody else. A court adapts it by replacing `loadCatalogue` and `openDocument` with calls into its own
 * file system; the HTTP surface and the token checks are the contract and should stay as they are.
 */
import { createHash } from 'node:crypto'
import { createReadStream, type Dirent, readFileSync, statSync } from 'node:fs'
import { open, readdir, readFile, realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'

export type AdapterAlgorithm = 'EdDSA' | 'ES256'

export interface CourtAdapterOptions {
  casesDir: string
  /** Court codes this adapter serves; a token's `aud` must be one of them. */
  courts: string[]
  gatewayIssuer: string
  /**
   * The gateway's `/.well-known/jwks.json`; a key set given directly (tests); or a pinned JWKS file, for networks
   * where the court cannot call the gateway (read again whenever it changes, so a new key needs no restart).
   */
  jwks: URL | JSONWebKeySet | { file: string }
  algorithms?: AdapterAlgorithm[]
  logger?: boolean
}

export type VolumeKind = 'main' | 'sub'
export type CaseStatus = 'open' | 'suspended' | 'closed'

export interface CaseSummary {
  caseNo: string
  court: string
  caseType: string
  title: string
  status: CaseStatus
  filedOn: string
  closedOn?: string
}

export interface DocumentInfo {
  id: string
  title: string
  mediaType: string
  size: number
  sha256: string
  pages?: number
}

export interface VolumeInfo {
  id: string
  kind: VolumeKind
  title: string
  documents: DocumentInfo[]
}

interface StoredDocument {
  info: DocumentInfo
  volume: VolumeInfo
  file: string
  mtimeMs: number
  etag: string
  reprDigest: string
}

export interface StoredCase {
  summary: CaseSummary
  volumes: VolumeInfo[]
  documents: Map<string, StoredDocument>
  /**
   * The catalogue's entity tag: the SHA-256 of its JSON, so that any change to it (a document added, moved
   * to another volume, with other bytes) changes the tag, and the gateway's If-None-Match no longer matches.
   */
  catalogueEtag: string
}

/** The gateway's claims about one read (docs/courts.md#request-tokens); logged with every read, as the court's own audit trail. */
export interface Reader {
  aud: string
  sub: string
  org: string
  grant: string
  purpose: string
  log: number
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
const MAX_TOKEN_LIFETIME_SECONDS = 60
const CLOCK_TOLERANCE_SECONDS = 5
const ALGORITHMS: readonly AdapterAlgorithm[] = ['EdDSA', 'ES256']
const CASE_STATUSES: readonly CaseStatus[] = ['open', 'suspended', 'closed']
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/

const MEDIA_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  // OFD (GB/T 33190) is the Chinese fixed-layout format many court systems archive in.
  '.ofd': 'application/ofd',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id) && !id.includes('..')
}

/** Half-width parentheses are common in practice; the catalogue and the gateway use the full-width form. */
export function normaliseCaseNo(caseNo: string): string {
  return caseNo.trim().replaceAll('(', '（').replaceAll(')', '）')
}

class AdapterError extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Record<string, string>
  constructor(status: number, code: string, detail: string, headers: Record<string, string> = {}) {
    super(detail)
    this.status = status
    this.code = code
    this.headers = headers
  }
}

const TITLES: Record<string, string> = {
  VALIDATION_FAILED: 'Request validation failed',
  UNAUTHENTICATED: 'Authentication required',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  RANGE_NOT_SATISFIABLE: 'Range not satisfiable',
  INTERNAL: 'Internal server error',
}

function unauthenticated(detail: string, tokenPresent = true): AdapterError {
  // RFC 6750 §3: tell the client which scheme is expected, and whether the token it sent was the problem.
  const challenge = tokenPresent
    ? 'Bearer realm="court-adapter", error="invalid_token"'
    : 'Bearer realm="court-adapter"'
  return new AdapterError(401, 'UNAUTHENTICATED', detail, { 'www-authenticate': challenge })
}

function notFound(detail: string): AdapterError {
  return new AdapterError(404, 'NOT_FOUND', detail)
}

function clientError(error: FastifyError): AdapterError {
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400
  const code = status === 404 ? 'NOT_FOUND' : status === 405 ? 'METHOD_NOT_ALLOWED' : 'VALIDATION_FAILED'
  return new AdapterError(status, code, error.message)
}

function sendProblem(reply: FastifyReply, error: AdapterError): FastifyReply {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/problem+json; charset=utf-8')
    .send({
      type: `urn:court-file-gateway:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: TITLES[error.code] ?? error.code,
      status: error.status,
      code: error.code,
      detail: error.message,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Catalogue: read once at start-up, so a request never builds a file path from its URL.

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message}`)
}

function requireString(file: string, value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(file, `"${field}" must be a non-empty string`)
  return value
}

function requireId(file: string, value: unknown, field: string): string {
  const id = requireString(file, value, field)
  if (!isValidId(id)) fail(file, `"${field}" must match ${ID_PATTERN} without "..", got ${JSON.stringify(id)}`)
  return id
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child)
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
}

async function digestFile(file: string): Promise<{ size: number; sha256: Buffer }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest() }
}

async function loadCase(court: string, caseDir: string): Promise<StoredCase> {
  const file = path.join(caseDir, 'case.json')
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    fail(file, `cannot read: ${(error as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'must hold a JSON object')
  const json = raw as Record<string, unknown>

  const caseNo = normaliseCaseNo(requireString(file, json.caseNo, 'caseNo'))
  const caseCourt = requireString(file, json.court, 'court')
  if (caseCourt !== court) fail(file, `"court" is ${caseCourt} but the case lies in the folder of court ${court}`)
  const caseType = requireString(file, json.caseType, 'caseType')
  const numbered = /^（\d{4}）(.+)号$/.exec(caseNo)
  const rest = numbered?.[1]
  if (rest === undefined || !rest.startsWith(court) || /^\d/.test(rest.slice(court.length))) {
    fail(file, `"caseNo" ${caseNo} is not a case number of court ${court}`)
  }
  if (!rest.slice(court.length).includes(caseType)) fail(file, `"caseType" ${caseType} does not occur in ${caseNo}`)
  const status = json.status as CaseStatus
  if (!CASE_STATUSES.includes(status)) fail(file, `"status" must be one of ${CASE_STATUSES.join(', ')}`)
  const filedOn = requireString(file, json.filedOn, 'filedOn')
  if (!DATE_PATTERN.test(filedOn)) fail(file, '"filedOn" must be a date YYYY-MM-DD')
  const summary: CaseSummary = {
    caseNo,
    court,
    caseType,
    title: requireString(file, json.title, 'title'),
    status,
    filedOn,
  }
  if (json.closedOn !== undefined) {
    const closedOn = requireString(file, json.closedOn, 'closedOn')
    if (!DATE_PATTERN.test(closedOn)) fail(file, '"closedOn" must be a date YYYY-MM-DD')
    summary.closedOn = closedOn
  }

  if (!Array.isArray(json.volumes)) fail(file, '"volumes" must be an array')
  const realCaseDir = await realpath(caseDir)
  const volumes: VolumeInfo[] = []
  const documents = new Map<string, StoredDocument>()
  const volumeIds = new Set<string>()
  for (const [v, rawVolume] of (json.volumes as unknown[]).entries()) {
    const at = `volumes[${v}]`
    if (typeof rawVolume !== 'object' || rawVolume === null) fail(file, `${at} must be an object`)
    const vol = rawVolume as Record<string, unknown>
    const id = requireId(file, vol.id, `${at}.id`)
    if (volumeIds.has(id)) fail(file, `${at}.id ${id} is used twice`)
    volumeIds.add(id)
    if (vol.kind !== 'main' && vol.kind !== 'sub') fail(file, `${at}.kind must be "main" or "sub"`)
    if (!Array.isArray(vol.documents)) fail(file, `${at}.documents must be an array`)
    const volume: VolumeInfo = {
      id,
      kind: vol.kind,
      title: requireString(file, vol.title, `${at}.title`),
      documents: [],
    }
    for (const [d, rawDoc] of (vol.documents as unknown[]).entries()) {
      const dat = `${at}.documents[${d}]`
      if (typeof rawDoc !== 'object' || rawDoc === null) fail(file, `${dat} must be an object`)
      const doc = rawDoc as Record<string, unknown>
      const docId = requireId(file, doc.id, `${dat}.id`)
      // Ids are unique per case, not per volume: the document URL names no volume.
      if (documents.has(docId)) fail(file, `${dat}.id ${docId} is used twice in the case`)
      const relative = requireString(file, doc.file, `${dat}.file`)
      const docPath = path.resolve(caseDir, relative)
      if (!isInside(caseDir, docPath)) fail(file, `${dat}.file must lie inside the case folder`)
      let realDocPath: string
      try {
        realDocPath = await realpath(docPath)
      } catch {
        fail(file, `${dat}.file ${relative} does not exist`)
      }
      // A symlink could otherwise publish a file from outside the case folder.
      if (!isInside(realCaseDir, realDocPath)) fail(file, `${dat}.file must lie inside the case folder`)
      const st = await stat(realDocPath)
      if (!st.isFile()) fail(file, `${dat}.file ${relative} is not a regular file`)
      const mediaType =
        doc.mediaType === undefined
          ? (MEDIA_TYPES[path.extname(relative).toLowerCase()] ?? 'application/octet-stream')
          : requireString(file, doc.mediaType, `${dat}.mediaType`)
      const { size, sha256 } = await digestFile(realDocPath)
      const info: DocumentInfo = {
        id: docId,
        title: requireString(file, doc.title, `${dat}.title`),
        mediaType,
        size,
        sha256: sha256.toString('hex'),
      }
      if (doc.pages !== undefined) {
        if (!Number.isSafeInteger(doc.pages) || (doc.pages as number) < 1) fail(file, `${dat}.pages must be >= 1`)
        info.pages = doc.pages as number
      }
      volume.documents.push(info)
      documents.set(docId, {
        info,
        volume,
        file: realDocPath,
        mtimeMs: st.mtimeMs,
        etag: `"${info.sha256}"`,
        reprDigest: `sha-256=:${sha256.toString('base64')}:`,
      })
    }
    volumes.push(volume)
  }
  const catalogueEtag = `"${createHash('sha256').update(JSON.stringify({ caseNo, volumes })).digest('hex')}"`
  return { summary, volumes, documents, catalogueEtag }
}

/** Every case of the served courts, by normalised case number. Fails loudly on any inconsistency. */
export async function loadCatalogue(casesDir: string, courts: readonly string[]): Promise<Map<string, StoredCase>> {
  const catalogue = new Map<string, StoredCase>()
  const folders = new Map<string, string>()
  for (const court of courts) {
    const courtDir = path.join(casesDir, court)
    let entries: Dirent[]
    try {
      entries = await readdir(courtDir, { withFileTypes: true })
    } catch (error) {
      // A served court may have no files here yet; anything other than absence is a real fault.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw error
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue
      const caseDir = path.join(courtDir, entry.name)
      const stored = await loadCase(court, caseDir)
      const other = folders.get(stored.summary.caseNo)
      if (other !== undefined) throw new Error(`${stored.summary.caseNo} is in both ${other} and ${caseDir}`)
      folders.set(stored.summary.caseNo, caseDir)
      catalogue.set(stored.summary.caseNo, stored)
    }
  }
  return catalogue
}

// ---------------------------------------------------------------------------------------------------------------
// Gateway tokens

/** jose error codes that blame the token; anything else (a key set that cannot be fetched) blames the set-up. */
const TOKEN_FAULTS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
])

function describeTokenError(error: unknown): string {
  const code = (error as { code?: unknown }).code
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired'
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as { claim?: string; reason?: string }
      if (reason === 'missing') return `the token has no "${claim}" claim`
      if (claim === 'iss') return 'the token was not issued by the gateway'
      if (claim === 'aud') return 'the token is not meant for a court this adapter serves'
      return `the token's "${claim}" claim is invalid`
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return `the token's algorithm is not allowed (${ALGORITHMS.join(' or ')} only)`
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'the token is not signed by a key of the gateway'
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'the token is malformed'
    default:
      // Fetch failures of a remote key set land here too: without the keys nothing can be verified.
      return 'the token could not be verified'
  }
}

function checkClaims(payload: JWTPayload): Reader {
  const { iat, exp, aud } = payload
  if (typeof iat !== 'number' || typeof exp !== 'number') throw unauthenticated('the token needs "iat" and "exp"')
  // A short lifetime bounds what a stolen token can read: the gateway signs one token per upstream request.
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) {
    throw unauthenticated(`the token lives longer than ${MAX_TOKEN_LIFETIME_SECONDS} seconds`)
  }
  if (exp <= iat) throw unauthenticated('the token expires before it was issued')
  if (iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) throw unauthenticated('the token was issued in the future')
  // One court per token: a list of courts would let one token read the files of several.
  const audience = Array.isArray(aud) && aud.length === 1 ? aud[0] : aud
  if (typeof audience !== 'string') throw unauthenticated('the token must name exactly one court in "aud"')
  const text = (name: string): string => {
    const value = payload[name]
    if (typeof value !== 'string' || value === '') throw unauthenticated(`the token's "${name}" claim is invalid`)
    return value
  }
  const log = payload.log
  if (typeof log !== 'number' || !Number.isSafeInteger(log) || log < 0) {
    throw unauthenticated('the token\'s "log" claim must be an access-log index')
  }
  return { aud: audience, sub: text('sub'), org: text('org'), grant: text('grant'), purpose: text('purpose'), log }
}

// ---------------------------------------------------------------------------------------------------------------
// Conditional and range requests (RFC 9110 §13, §14)

export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true
  // If-None-Match uses the weak comparison, so W/ is stripped before comparing.
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

/**
 * One `bytes` range at most. Multiple ranges, other units and malformed values are ignored (RFC 9110 §14.2
 * allows that), so the client gets the whole document rather than a multipart body the gateway cannot check.
 */
export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' }
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim())
  if (match === null) return { kind: 'full' }
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  const end = last === '' ? size - 1 : Number(last)
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}

/**
 * A JWKS file copied from the gateway (`GET /.well-known/jwks.json`) by the court's operators. It is read at
 * start and again whenever its modification time or size changes, so adding the gateway's next key (docs/courts.md,
 * key rotation) takes effect without a restart. A file that cannot be read or parsed refuses every token.
 */
export function pinnedKeySet(file: string): JWTVerifyGetKey {
  let loaded: { version: string; keys: JWTVerifyGetKey } | undefined
  const load = (): JWTVerifyGetKey => {
    const { mtimeMs, size } = statSync(file)
    const version = `${mtimeMs}/${size}`
    if (loaded?.version !== version) {
      loaded = { version, keys: createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet) }
    }
    return loaded.keys
  }
  load()
  return (header, token) => load()(header, token)
}

// ---------------------------------------------------------------------------------------------------------------

export async function buildCourtAdapter(options: CourtAdapterOptions): Promise<FastifyInstance> {
  const courts = [...new Set(options.courts)]
  if (courts.length === 0) throw new Error('the adapter must serve at least one court')
  const algorithms = options.algorithms ?? [...ALGORITHMS]
  for (const alg of algorithms) {
    if (!ALGORITHMS.includes(alg)) throw new Error(`algorithm ${alg} is not allowed; use ${ALGORITHMS.join(' or ')}`)
  }
  if (algorithms.length === 0) throw new Error('at least one algorithm is required')
  if (options.gatewayIssuer === '') throw new Error('gatewayIssuer is required')

  const catalogue = await loadCatalogue(options.casesDir, courts)
  const courtsWithCases = new Set([...catalogue.values()].map((c) => c.summary.court))
  const keys: JWTVerifyGetKey =
    options.jwks instanceof URL
      ? createRemoteJWKSet(options.jwks)
      : 'file' in options.jwks
        ? pinnedKeySet(options.jwks.file)
        : createLocalJWKSet(options.jwks)

  const app = Fastify({
    logger: options.logger === true ? { level: 'info' } : false,
    // Percent-encoded case numbers are long: every Chinese character takes nine characters.
    routerOptions: { maxParamLength: 512 },
    // Malformed URLs are refused by the router before any error handler runs; keep them problem+json too.
    frameworkErrors: (error, _request, reply) => sendProblem(reply, clientError(error)),
  })

  async function authenticate(request: FastifyRequest): Promise<Reader> {
    const header = request.headers.authorization
    if (header === undefined || header.trim() === '') throw unauthenticated('a Bearer token is required', false)
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim())
    if (match?.[1] === undefined) throw unauthenticated('the Authorization header must be "Bearer <JWT>"', false)
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(match[1], keys, {
        issuer: options.gatewayIssuer,
        audience: courts,
        algorithms,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'sub', 'org', 'grant', 'purpose', 'log'],
      }))
    } catch (error) {
      const detail = describeTokenError(error)
      const reason = (error as { code?: unknown }).code
      // The reason goes to the log, the token never does.
      if (typeof reason === 'string' && TOKEN_FAULTS.has(reason)) {
        request.log.warn({ reason }, `token refused: ${detail}`)
      } else {
        request.log.error({ err: error }, "token refused: the gateway's keys could not be used")
      }
      throw unauthenticated(detail)
    }
    try {
      return checkClaims(payload)
    } catch (error) {
      request.log.warn(`token refused: ${(error as Error).message}`)
      throw error
    }
  }

  function findCase(rawCaseNo: string, reader: Reader): StoredCase {
    const stored = catalogue.get(normaliseCaseNo(rawCaseNo))
    if (stored === undefined) throw notFound('no such case')
    // A token for one court must not read the files of another court served by the same adapter.
    if (stored.summary.court !== reader.aud) throw unauthenticated("the token's audience is not the case's court")
    return stored
  }

  function logRead(request: FastifyRequest, reader: Reader, what: string, fields: Record<string, unknown>) {
    request.log.info(
      {
        sub: reader.sub,
        org: reader.org,
        grant: reader.grant,
        purpose: reader.purpose,
        logIndex: reader.log,
        court: reader.aud,
        ...fields,
      },
      what,
    )
  }

  app.setErrorHandler((error: FastifyError | AdapterError, request, reply) => {
    if (error instanceof AdapterError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed')
      return sendProblem(reply, error)
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, clientError(error))
    }
    request.log.error({ err: error }, 'request failed')
    return sendProblem(reply, new AdapterError(500, 'INTERNAL', 'the adapter failed to answer'))
  })
  app.setNotFoundHandler((_request, reply) => sendProblem(reply, notFound('no such resource')))

  for (const court of courts) {
    // Most likely a typo in --courts; the adapter still starts, as a court may have no files yet.
    if (!courtsWithCases.has(court)) app.log.warn(`no cases for court ${court} under ${options.casesDir}`)
  }

  app.get('/v1/health', async () => ({ status: 'ok' }))

  app.get<{ Params: { caseNo: string } }>('/v1/cases/:caseNo', async (request) => {
    const reader = await authenticate(request)
    const stored = findCase(request.params.caseNo, reader)
    logRead(request, reader, 'case read', { caseNo: stored.summary.caseNo })
    return stored.summary
  })

  app.get<{ Params: { caseNo: string } }>('/v1/cases/:caseNo/volumes', async (request, reply) => {
    const reader = await authenticate(request)
    const stored = findCase(request.params.caseNo, reader)
    reply.header('etag', stored.catalogueEtag)
    // The gateway revalidates the catalogue it keeps (docs/courts.md#catalogue-cache): unchanged, no body.
    const ifNoneMatch = request.headers['if-none-match']
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, stored.catalogueEtag)) {
      logRead(request, reader, 'volumes not modified', { caseNo: stored.summary.caseNo, status: 304 })
      return reply.code(304).send()
    }
    logRead(request, reader, 'volumes read', { caseNo: stored.summary.caseNo })
    return { caseNo: stored.summary.caseNo, volumes: stored.volumes }
  })

  app.get<{ Params: { caseNo: string; documentId: string } }>(
    '/v1/cases/:caseNo/documents/:documentId',
    async (request, reply) => {
      const reader = await authenticate(request)
      const { documentId } = request.params
      if (!isValidId(documentId)) throw new AdapterError(400, 'VALIDATION_FAILED', 'invalid document id')
      const stored = findCase(request.params.caseNo, reader)
      const doc = stored.documents.get(documentId)
      if (doc === undefined) throw notFound('no such document in this case')
      const { info } = doc

      reply.headers({
        etag: doc.etag,
        // Lets the gateway read from a catalogue it kept: it checks that the document is still where that said.
        'volume-kind': doc.volume.kind,
        'accept-ranges': 'bytes',
        // Court files are confidential: no shared or private cache should keep a copy.
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      })
      const read = { caseNo: stored.summary.caseNo, document: info.id, volume: doc.volume.kind }

      // RFC 9110 §13.2.2: If-None-Match is evaluated before Range.
      const ifNoneMatch = request.headers['if-none-match']
      if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, doc.etag)) {
        logRead(request, reader, 'document not modified', { ...read, status: 304 })
        return reply.code(304).send()
      }

      let range = decideRange(request.headers.range, info.size)
      const ifRange = request.headers['if-range']
      // If-Range needs a strong match; we send no Last-Modified, so a date never matches.
      if (ifRange !== undefined && String(ifRange).trim() !== doc.etag) range = { kind: 'full' }
      if (range.kind === 'unsatisfiable') {
        logRead(request, reader, 'document range refused', { ...read, status: 416, range: request.headers.range })
        throw new AdapterError(416, 'RANGE_NOT_SATISFIABLE', `the document has ${info.size} bytes`, {
          'content-range': `bytes */${info.size}`,
          'accept-ranges': 'bytes',
        })
      }

      const handle = await open(doc.file, 'r')
      const now = await handle.stat().catch(async (error: unknown) => {
        await handle.close()
        throw error
      })
      // Size and digest were announced from the start-up scan; serving a changed file would fail the
      // gateway's digest check after the bytes had already left.
      if (now.size !== info.size || now.mtimeMs !== doc.mtimeMs) {
        await handle.close()
        throw new AdapterError(500, 'INTERNAL', 'the document changed on disk since the adapter started')
      }
      const start = range.kind === 'partial' ? range.start : 0
      const end = range.kind === 'partial' ? range.end : info.size - 1
      const length = info.size === 0 ? 0 : end - start + 1
      reply.headers({
        'content-type': info.mediaType,
        'content-length': String(length),
        'repr-digest': doc.reprDigest,
      })
      if (range.kind === 'partial') {
        reply.code(206).header('content-range', `bytes ${start}-${end}/${info.size}`)
      }
      logRead(request, reader, 'document read', {
        ...read,
        status: range.kind === 'partial' ? 206 : 200,
        bytes: length,
        ...(range.kind === 'partial' ? { range: `${start}-${end}` } : {}),
      })
      if (length === 0) {
        await handle.close()
        return reply.send(Buffer.alloc(0))
      }
      return reply.send(handle.createReadStream({ start, end }))
    },
  )

  return app
}
