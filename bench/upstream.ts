/**
 * The plain upstream of `npm run bench`: a bare node:http server that answers the court-adapter contract for
 * one case with fixed bytes, so that every path of the benchmark (direct, nginx, bare proxy, gateway) reads
 * the very same bytes from the very same server.
 *
 *   node --import tsx bench/upstream.ts <stream-bytes> <parallel-bytes>
 *
 * Prints one JSON line `{ port, caseNo, catalogue }` once it listens. It does not verify the gateway's
 * signature (nginx and the bare proxy sign nothing, so none of the rows pays for it); it refuses a request
 * without a bearer token or with a token whose header names no `kid`, which is enough for the gateway's
 * conformance checks (they send no token, and a token signed with a fresh key and no `kid`). Tokens the
 * gateway signs (`iss` court-file-gateway) must also be for 黑01, unexpired and live at most 60 s, and
 * documents answer ranges and If-None-Match as the contract says, since the activation checks those too.
 * The activation refuses documents over 256 MiB: `POST /bench/probing` hides the stream document from the
 * catalogue until `POST /bench/serving` (bench/gateway-server.ts calls them around each activation).
 */
import { createHash } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import { decideRange, etagMatches } from '../examples/court-adapter/app.js'

export const CASE_NO = '（2023）黑01民终1234号'
const SMALL_BYTES = 20 * 1024
const BLOCK_BYTES = 1024 * 1024

const streamBytes = Number(process.argv[2] ?? 1024 * 1024 * 1024)
const parallelBytes = Number(process.argv[3] ?? 64 * 1024 * 1024)

/** Deterministic, incompressible-looking bytes: a counter hashed into each 32-byte cell. */
function block(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size)
  for (let offset = 0, i = 0; offset < size; offset += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, offset)
  }
  return out
}

const small = block(SMALL_BYTES, 'small')
const bigBlock = block(BLOCK_BYTES, 'big')

function sha256OfRepeated(unit: Buffer, total: number): string {
  const hash = createHash('sha256')
  let left = total
  while (left > 0) {
    const n = Math.min(left, unit.length)
    hash.update(n === unit.length ? unit : unit.subarray(0, n))
    left -= n
  }
  return hash.digest('hex')
}

const documents = {
  'bench-20k': { size: SMALL_BYTES, sha256: createHash('sha256').update(small).digest('hex') },
  'bench-stream': { size: streamBytes, sha256: sha256OfRepeated(bigBlock, streamBytes) },
  'bench-parallel': { size: parallelBytes, sha256: sha256OfRepeated(bigBlock, parallelBytes) },
}

const catalogueOf = (probing: boolean) =>
  JSON.stringify({
    caseNo: CASE_NO,
    volumes: [
      {
        id: 'main',
        kind: 'main',
        title: '正卷',
        documents: Object.entries(documents)
          .filter(([id]) => !probing || id !== 'bench-stream')
          .map(([id, d]) => ({
            id,
            title: id,
            mediaType: 'application/pdf',
            size: d.size,
            sha256: d.sha256,
          })),
      },
    ],
  })
/** Each catalogue variant carries its own ETag, so the gateway's catalogue cache revalidates with If-None-Match as it does against the reference adapter. */
const catalogues = new Map(
  [false, true].map((probing) => {
    const body = catalogueOf(probing)
    return [probing, { body, etag: `"${createHash('sha256').update(body).digest('hex')}"` }] as const
  }),
)
const summary = JSON.stringify({
  caseNo: CASE_NO,
  court: '黑01',
  caseType: '民终',
  title: '基准测试案件',
  status: 'closed',
  filedOn: '2023-03-01',
  closedOn: '2023-09-01',
})

const casePrefix = `/v1/cases/${encodeURIComponent(CASE_NO)}`

function problem(res: ServerResponse, status: number, code: string): void {
  const body = JSON.stringify({ type: 'about:blank', title: code, status, code })
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function json(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function signedLooking(header: string | undefined): boolean {
  const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1]
  if (token === undefined) return false
  try {
    const [head, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))
    if (typeof head.kid !== 'string') return false
    if (payload.iss !== 'court-file-gateway') return true
    const now = Date.now() / 1000
    return payload.aud === '黑01' && payload.exp > now && payload.exp - payload.iat <= 60
  } catch {
    return false
  }
}

let probing = false

function documentHeaders(size: number, sha256: string): Record<string, string | number> {
  return {
    'content-type': 'application/pdf',
    'content-length': size,
    etag: `"${sha256}"`,
    'repr-digest': `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`,
    'accept-ranges': 'bytes',
    'volume-kind': 'main',
  }
}

/** Sends bytes [first, last] of a document that is `unit` repeated, with backpressure. */
function sendRepeated(res: ServerResponse, unit: Buffer, first: number, last: number): void {
  let at = first
  const pump = () => {
    while (at <= last) {
      const offset = at % unit.length
      const n = Math.min(last + 1 - at, unit.length - offset)
      at += n
      const more = res.write(n === unit.length ? unit : unit.subarray(offset, offset + n))
      if (!more) return void res.once('drain', pump)
    }
    res.end()
  }
  res.on('close', () => {
    at = last + 1
  })
  pump()
}

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  if (url === '/v1/health') return json(res, '{"status":"ok"}')
  if (req.method === 'POST' && (url === '/bench/probing' || url === '/bench/serving')) {
    probing = url === '/bench/probing'
    return json(res, '{}')
  }
  if (!url.startsWith(casePrefix)) return problem(res, 404, 'NOT_FOUND')
  // nginx and the bare proxy forward the client's header; only the gateway signs.
  if (req.headers.authorization === undefined || !signedLooking(req.headers.authorization)) {
    return problem(res, 401, 'UNAUTHENTICATED')
  }
  const rest = url.slice(casePrefix.length)
  if (rest === '') return json(res, summary)
  if (rest === '/volumes') {
    const catalogue = catalogues.get(probing)!
    if (req.headers['if-none-match'] === catalogue.etag) return void res.writeHead(304, { etag: catalogue.etag }).end()
    res.setHeader('etag', catalogue.etag)
    return json(res, catalogue.body)
  }
  const id = rest.startsWith('/documents/') ? rest.slice('/documents/'.length) : ''
  if (!(id === 'bench-20k' || id === 'bench-stream' || id === 'bench-parallel')) return problem(res, 404, 'NOT_FOUND')
  const { size, sha256 } = documents[id]
  const headers = documentHeaders(size, sha256)
  const ifNoneMatch = req.headers['if-none-match']
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, String(headers.etag))) {
    res.writeHead(304, { etag: String(headers.etag) })
    return res.end()
  }
  const range = decideRange(req.headers.range, size)
  if (range.kind === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${size}`)
    return problem(res, 416, 'RANGE_NOT_SATISFIABLE')
  }
  const [first, last] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1]
  res.writeHead(range.kind === 'partial' ? 206 : 200, {
    ...headers,
    'content-length': last - first + 1,
    ...(range.kind === 'partial' ? { 'content-range': `bytes ${first}-${last}/${size}` } : {}),
  })
  return sendRepeated(res, id === 'bench-20k' ? small : bigBlock, first, last)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  process.stdout.write(`${JSON.stringify({ port, caseNo: CASE_NO, documents })}\n`)
})
process.on('SIGTERM', () => process.exit(0))
