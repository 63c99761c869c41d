import { createCipheriv, createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose'
import { decideRange, etagMatches } from '../../examples/court-adapter/app.js'
import { GATEWAY_ISSUER } from '../../src/server.js'

/**
 * What the court does when asked for a document; the document's id is the behaviour's name, so one
 * catalogue holds them all. `honest` serves the bytes as the contract says (ranges and If-None-Match too).
 */
export const DOCUMENT_BEHAVIOURS = [
  'honest',
  /** Correct bytes, a Repr-Digest of other bytes. */
  'wrong-digest',
  /** Same length, one byte changed, announced with the catalogue's digest. */
  'wrong-bytes',
  /** The document and then more, chunked (no Content-Length, which the contract requires). */
  'too-long',
  /** Half the document, chunked, ended cleanly as if it were all. */
  'too-short',
  /** A Content-Length larger than the catalogue's size, and that many bytes. */
  'wrong-length',
  /** Bytes without end, as fast as the gateway takes them. */
  'endless',
  /** 206 with the first 100 bytes, to a request without Range. */
  'unrequested-206',
  /** 206 for bytes 10-19, whatever range was asked for. */
  'wrong-range',
  /** 304 to a request without If-None-Match. */
  'unrequested-304',
  /** The right bytes served as text/html. */
  'html-content-type',
  /** One byte every 40 ms: never idle long enough for the idle timeout. */
  'drip',
  /** Never answers. */
  'hang-before-headers',
  /** Headers and half the body, then silence. */
  'hang-after-headers',
  /** Headers and half the body, then a TCP reset. */
  'reset',
  /** 302 to another server. */
  'redirect',
  /**
   * Catalogued and announced as VAST_SIZE bytes (3 GiB), then sent without end as fast as the gateway takes
   * them: a large document, for deadlines that must not overflow.
   */
  'vast',
  /** 1000 bytes, then one byte every 50 ms until the gateway hangs up (for client aborts and revocations). */
  'slow',
  /**
   * Listed only with `largeBytes`: that many bytes (a 1 MiB block repeated), sent as fast as the gateway
   * takes them and no faster (the court respects backpressure).
   */
  'large',
  /** As `large` with its very last byte changed, announced with the catalogue's digest and length. */
  'large-wrong-bytes',
] as const
export type DocumentBehaviour = (typeof DOCUMENT_BEHAVIOURS)[number]

/** How the court answers the case summary and the catalogue. */
export type JsonBehaviour = 'honest' | 'invalid-json' | 'contract-violation' | 'redirect'

/**
 * How the court tags its catalogue (docs/courts.md#catalogue-cache): `none` sends no ETag (the default),
 * `etag` a tag of the catalogue's JSON and honours If-None-Match, `garbage-etag` an ETag that is no entity
 * tag, `always-304` answers 304 to every catalogue request, asked conditionally or not.
 */
export type CatalogueTagging = 'none' | 'etag' | 'garbage-etag' | 'always-304'

/** The size the catalogue gives the `vast` document. */
export const VAST_SIZE = 3 * 2 ** 30

export const HOSTILE_CASE = '（2023）黑01民终1234号'
/** A document the catalogue lists as text/html: the gateway must refuse it without asking for its bytes. */
export const HTML_DOCUMENT = 'catalogued-html'

const SMALL = new Set<string>(['drip'])
const LARGE = new Set<string>(['large', 'large-wrong-bytes'])
const LARGE_BLOCK = 1024 * 1024

/**
 * Deterministic bytes that start like a PDF file: the AES-128-CTR keystream of a key derived from `id` (one native
 * call for the whole document, where a hash per 32 bytes took a noticeable part of a second for each court).
 */
function documentBytes(id: string, size: number): Buffer {
  const key = createHash('sha256').update(id).digest()
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16))
  const bytes = Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()])
  bytes.write('%PDF-1.7\n', 0, 'latin1')
  return bytes
}

export interface ServedDocument {
  id: string
  mediaType: string
  bytes: Buffer
  sha256: string
  etag: string
  /** The document's size when `bytes` is only a block repeated to make it (never held whole). */
  repeated?: number
}

/** One document request as the court saw it: whether the gateway closed the connection, bytes written. */
export interface DocumentRequest {
  id: string
  /** The access-log index of the read's intent, from the gateway's signed token (`log`). */
  intent: number
  range: string | undefined
  closed: boolean
  sent: number
}

/**
 * A real HTTP court adapter that misbehaves in every way the gateway must survive. It verifies the gateway's
 * tokens against the JWKS it is given (so the gateway's conformance checks pass and it can be activated),
 * serves one case, and answers documents by their id's behaviour. `redirectTarget` is a second listener that
 * a court's redirect points at: the gateway must never connect to it.
 */
export async function startHostileCourt(
  t: { teardown: (fn: () => unknown) => void },
  jwks: JSONWebKeySet,
  options: { largeBytes?: number; probeLarge?: number } = {},
) {
  const keys = createLocalJWKSet(jwks)
  const documents = new Map<string, ServedDocument>()
  const largeBytes = options.largeBytes ?? 0
  // The large document is never held whole: one block, repeated, and its digest computed over the repeats.
  const block = documentBytes('large', LARGE_BLOCK)
  if (largeBytes > 0) {
    const hash = createHash('sha256')
    for (let at = 0; at < largeBytes; at += LARGE_BLOCK)
      hash.update(block.subarray(0, Math.min(LARGE_BLOCK, largeBytes - at)))
    const sha256 = hash.digest('hex')
    // Listed first, so the activation's range checks are made on a large document.
    for (let i = 1; i <= (options.probeLarge ?? 0); i++) {
      const id = `probe-large-${i}`
      const etag = `"${sha256.slice(0, 16)}-${i}"`
      documents.set(id, { id, mediaType: 'application/pdf', bytes: block, sha256, etag, repeated: largeBytes })
    }
    for (const id of LARGE) {
      documents.set(id, { id, mediaType: 'application/pdf', bytes: block, sha256, etag: `"${sha256.slice(0, 16)}"` })
    }
  }
  for (const id of [...DOCUMENT_BEHAVIOURS, HTML_DOCUMENT]) {
    if (LARGE.has(id)) continue
    const bytes = documentBytes(id, SMALL.has(id) ? 256 : 64 * 1024)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const mediaType = id === HTML_DOCUMENT ? 'text/html' : 'application/pdf'
    documents.set(id, { id, mediaType, bytes, sha256, etag: `"${sha256.slice(0, 16)}"` })
  }
  let json: JsonBehaviour = 'honest'
  // Until misbehave(), the court keeps the whole contract for the activation's conformance checks, listing only
  // its honest document (and `probeLarge` documents of `largeBytes`); then it lists and serves every behaviour.
  let probing = true
  let beforeCatalogue: (() => Promise<unknown>) | undefined
  let editCatalogue: ((honest: ReturnType<typeof catalogue>) => unknown) | undefined
  let editCaseSummary: ((honest: ReturnType<typeof caseSummary>) => unknown) | undefined
  const requests: DocumentRequest[] = []
  /** Every catalogue request after misbehave(), with its If-None-Match. */
  const catalogueRequests: Array<{ ifNoneMatch: string | undefined; status: number }> = []
  let tagging: CatalogueTagging = 'none'
  let volumeKind: string | undefined
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()

  const redirectTarget = createServer((_req, res) => res.end())
  let redirectConnections = 0
  redirectTarget.on('connection', () => redirectConnections++)
  await listen(redirectTarget)
  const elsewhere = `http://127.0.0.1:${(redirectTarget.address() as { port: number }).port}`

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy())
  })
  // Idle keep-alive connections close soon, so a test can tell leaked sockets from pooled ones.
  server.keepAliveTimeout = 100
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://court')
    if (url.pathname === '/v1/health') return send(res, 200, { status: 'ok' })
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    let intent: number
    try {
      const { payload } = await jwtVerify(token ?? '', keys, { issuer: GATEWAY_ISSUER, audience: '黑01' })
      intent = payload.log as number
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > 60) throw new Error('the token lives too long')
    } catch {
      return send(res, 401, { title: 'unauthenticated' })
    }
    const match = /^\/v1\/cases\/([^/]+)(\/volumes|\/documents\/([^/]+))?$/.exec(url.pathname)
    if (!match || decodeURIComponent(match[1]!) !== HOSTILE_CASE) return send(res, 404, { title: 'no such case' })
    if (!match[2]) return answerJson(res, editCaseSummary ? editCaseSummary(caseSummary()) : caseSummary())
    if (match[2] === '/volumes') {
      const hook = beforeCatalogue
      beforeCatalogue = undefined
      await hook?.()
      const body = editCatalogue ? editCatalogue(catalogue()) : catalogue()
      const ifNoneMatch = req.headers['if-none-match']
      const tag = `"${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32)}"`
      const answer = (status: number) => {
        if (!probing) catalogueRequests.push({ ifNoneMatch, status })
      }
      if (tagging === 'always-304' || (tagging === 'etag' && ifNoneMatch === tag)) {
        answer(304)
        return void res.writeHead(304, tagging === 'etag' ? { etag: tag } : {}).end()
      }
      answer(200)
      if (tagging === 'etag') res.setHeader('etag', tag)
      if (tagging === 'garbage-etag') res.setHeader('etag', 'version 7, probably')
      return answerJson(res, body)
    }
    const document = documents.get(decodeURIComponent(match[3]!))
    if (!document) return send(res, 404, { title: 'no such document' })
    const seen: DocumentRequest = { id: document.id, intent, range: req.headers.range, closed: false, sent: 0 }
    requests.push(seen)
    res.on('close', () => {
      seen.closed = true
    })
    const write = (chunk: Buffer) => {
      seen.sent += chunk.length
      return res.write(chunk)
    }
    serveDocument(req, res, document, write)
  }

  function answerJson(res: ServerResponse, honest: unknown) {
    if (json === 'invalid-json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"caseNo": "（2023）黑01民终1234号", ')
    } else if (json === 'contract-violation') {
      send(res, 200, { caseNo: 1234, court: ['黑01'], volumes: 'all of them' })
    } else if (json === 'redirect') {
      res.writeHead(302, { location: `${elsewhere}/v1/cases/x` }).end()
    } else {
      send(res, 200, honest)
    }
  }

  function serveDocument(
    req: IncomingMessage,
    res: ServerResponse,
    document: ServedDocument,
    write: (chunk: Buffer) => boolean,
  ) {
    if (probing || document.repeated !== undefined) return serveToProbe(req, res, document, write)
    const { bytes } = document
    const digest = `sha-256=:${Buffer.from(document.sha256, 'hex').toString('base64')}:`
    const headers = {
      'content-type': 'application/pdf',
      etag: document.etag,
      'repr-digest': digest,
      'accept-ranges': 'bytes',
      ...(volumeKind === undefined ? {} : { 'volume-kind': volumeKind }),
    }
    const half = bytes.subarray(0, bytes.length / 2)
    const later = (ms: number, fn: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        fn()
      }, ms)
      timers.add(timer)
    }
    switch (document.id as DocumentBehaviour) {
      case 'honest': {
        if (req.headers['if-none-match'] === document.etag)
          return void res.writeHead(304, { etag: document.etag }).end()
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
        if (range) {
          const [first, last] = [Number(range[1]), Math.min(Number(range[2]), bytes.length - 1)]
          res.writeHead(206, {
            ...headers,
            'content-range': `bytes ${first}-${last}/${bytes.length}`,
            'content-length': last - first + 1,
          })
          write(bytes.subarray(first, last + 1))
          return void res.end()
        }
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        write(bytes)
        return void res.end()
      }
      case 'wrong-digest':
        res.writeHead(200, {
          ...headers,
          'repr-digest': `sha-256=:${createHash('sha256').update('other').digest('base64')}:`,
        })
        write(bytes)
        return void res.end()
      case 'wrong-bytes': {
        const copy = Buffer.from(bytes)
        copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        write(copy)
        return void res.end()
      }
      case 'too-long':
        res.writeHead(200, headers)
        write(bytes)
        write(Buffer.alloc(1000, 0x41))
        return void res.end()
      case 'too-short':
        res.writeHead(200, headers)
        write(half)
        return void res.end()
      case 'wrong-length':
        res.writeHead(200, { ...headers, 'content-length': bytes.length + 10 })
        write(Buffer.concat([bytes, Buffer.alloc(10)]))
        return void res.end()
      case 'vast':
      case 'endless': {
        res.writeHead(200, document.id === 'vast' ? { ...headers, 'content-length': VAST_SIZE } : headers)
        const chunk = Buffer.alloc(16 * 1024, 0x25)
        const pump = () => {
          while (!res.destroyed && write(chunk)) {}
          if (!res.destroyed) res.once('drain', pump)
        }
        return pump()
      }
      case 'unrequested-206':
        res.writeHead(206, { ...headers, 'content-range': `bytes 0-99/${bytes.length}`, 'content-length': 100 })
        write(bytes.subarray(0, 100))
        return void res.end()
      case 'wrong-range':
        res.writeHead(206, { ...headers, 'content-range': `bytes 10-19/${bytes.length}`, 'content-length': 10 })
        write(bytes.subarray(10, 20))
        return void res.end()
      case 'unrequested-304':
        return void res.writeHead(304, { etag: document.etag }).end()
      case 'html-content-type':
        res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': bytes.length })
        write(bytes)
        return void res.end()
      case 'drip': {
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        let at = 0
        const next = () => {
          if (res.destroyed) return
          write(bytes.subarray(at, at + 1))
          at++
          if (at < bytes.length) later(40, next)
          else res.end()
        }
        return next()
      }
      case 'hang-before-headers':
        return
      case 'hang-after-headers':
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        write(half)
        return
      case 'reset':
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        write(half)
        return later(20, () => res.socket?.resetAndDestroy())
      case 'redirect':
        return void res.writeHead(302, { location: `${elsewhere}/document.pdf` }).end()
      case 'large':
      case 'large-wrong-bytes': {
        res.writeHead(200, { ...headers, 'content-length': largeBytes })
        let at = 0
        const pump = () => {
          while (!res.destroyed && at < largeBytes) {
            let chunk = block.subarray(0, Math.min(LARGE_BLOCK, largeBytes - at))
            at += chunk.length
            if (at === largeBytes && document.id === 'large-wrong-bytes') {
              chunk = Buffer.from(chunk)
              chunk[chunk.length - 1] = chunk[chunk.length - 1]! ^ 0xff
            }
            if (!write(chunk)) return void res.once('drain', pump)
          }
          if (!res.destroyed) res.end()
        }
        return pump()
      }
      case 'slow': {
        res.writeHead(200, { ...headers, 'content-length': bytes.length })
        write(bytes.subarray(0, 1000))
        let at = 1000
        const next = () => {
          if (res.destroyed || at >= bytes.length) return
          write(bytes.subarray(at, at + 1))
          at++
          later(50, next)
        }
        return later(50, next)
      }
    }
  }

  function caseSummary() {
    return {
      caseNo: HOSTILE_CASE,
      court: '黑01',
      caseType: '民终',
      title: '上诉人王某某与被上诉人某公司合同纠纷二审案',
      status: 'closed',
      filedOn: '2023-04-10',
      closedOn: '2023-08-22',
    }
  }

  function catalogue() {
    return {
      caseNo: HOSTILE_CASE,
      volumes: [
        {
          id: 'main',
          kind: 'main',
          title: '正卷',
          documents: [...documents.values()]
            .filter((d) => !probing || d.id === 'honest' || d.repeated !== undefined)
            .map((d) => ({
              id: d.id,
              title: d.id,
              mediaType: d.mediaType,
              size: d.id === 'vast' ? VAST_SIZE : LARGE.has(d.id) ? largeBytes : (d.repeated ?? d.bytes.length),
              sha256: d.sha256,
            })),
        },
      ],
    }
  }

  await listen(server)
  t.teardown(async () => {
    for (const timer of timers) clearTimeout(timer)
    server.closeAllConnections()
    redirectTarget.closeAllConnections()
    await Promise.all([close(server), close(redirectTarget)])
  })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    documents,
    /** Every document request so far, in order. */
    requests,
    catalogueRequests,
    setCatalogueTagging(next: CatalogueTagging) {
      tagging = next
    },
    /** The Volume-Kind the court names on every document answer from now (undefined: none). */
    setVolumeKind(kind: string | undefined) {
      volumeKind = kind
    },
    /** Open TCP connections to the court (the gateway's, pooled or not). */
    openConnections: () => sockets.size,
    /** Connections the redirect target received. */
    redirectConnections: () => redirectConnections,
    setJson(next: JsonBehaviour) {
      json = next
    },
    /** Answers every case summary request from now with `edit` applied to the honest one (undefined: honest). */
    setCaseSummary(edit: ((honest: ReturnType<typeof caseSummary>) => unknown) | undefined) {
      editCaseSummary = edit
    },
    /** Answers every catalogue request from now with `edit` applied to the honest one (undefined: honest). */
    setCatalogue(edit: ((honest: ReturnType<typeof catalogue>) => unknown) | undefined) {
      editCatalogue = edit
    },
    /** Runs `hook` before the court answers its next catalogue request (once). */
    /** Ends the conformant behaviour of the activation: from now on every document behaves as its id says. */
    misbehave() {
      probing = false
      requests.length = 0
      catalogueRequests.length = 0
    },
    beforeNextCatalogue(hook: () => Promise<unknown>) {
      beforeCatalogue = hook
    },
  }
}

function send(res: ServerResponse, status: number, body: unknown) {
  if (status < 400) return void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  const code = status === 401 ? 'UNAUTHENTICATED' : status === 416 ? 'RANGE_NOT_SATISFIABLE' : 'NOT_FOUND'
  res
    .writeHead(status, { 'content-type': 'application/problem+json' })
    .end(JSON.stringify({ ...(body as object), status, code }))
}

/** A document served by the contract (ranges of every form, 416, If-None-Match), as the reference adapter does. */
function serveToProbe(
  req: IncomingMessage,
  res: ServerResponse,
  document: ServedDocument,
  write: (chunk: Buffer) => boolean,
) {
  const { bytes } = document
  const size = document.repeated ?? bytes.length
  const headers = {
    'content-type': document.mediaType,
    etag: document.etag,
    'repr-digest': `sha-256=:${Buffer.from(document.sha256, 'hex').toString('base64')}:`,
    'accept-ranges': 'bytes',
  }
  const ifNoneMatch = req.headers['if-none-match']
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, document.etag)) {
    return void res.writeHead(304, { etag: document.etag }).end()
  }
  const range = decideRange(req.headers.range, size)
  if (range.kind === 'unsatisfiable') {
    res.setHeader('content-range', `bytes */${size}`)
    return send(res, 416, { title: 'range not satisfiable' })
  }
  const [first, last] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1]
  res.writeHead(range.kind === 'partial' ? 206 : 200, {
    ...headers,
    'content-length': last - first + 1,
    ...(range.kind === 'partial' ? { 'content-range': `bytes ${first}-${last}/${size}` } : {}),
  })
  if (document.repeated === undefined) {
    write(bytes.subarray(first, last + 1))
    return void res.end()
  }
  // The block repeated, as fast as the reader takes it and no faster.
  let at = first
  const pump = () => {
    while (!res.destroyed && at <= last) {
      const offset = at % bytes.length
      const chunk = bytes.subarray(offset, Math.min(bytes.length, offset + last - at + 1))
      at += chunk.length
      if (!write(chunk)) return void res.once('drain', pump)
    }
    if (!res.destroyed) res.end()
  }
  pump()
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
