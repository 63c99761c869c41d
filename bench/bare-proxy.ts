/**
 * "bare Fastify + undici proxy": the floor a Fastify proxy pays per request, for `npm run bench`. One route
 * that forwards the path and the Authorization header to the upstream through an undici Pool and pipes the
 * answer back, status, length and type included; no checks of any kind.
 *
 *   node --import tsx bench/bare-proxy.ts <upstream-origin>
 *
 * (@fastify/reply-from is the usual way to write this; it is not a dependency of the project, and this does
 * the same work with undici's `stream`.)
 */
import Fastify from 'fastify'
import { Pool } from 'undici'

const origin = process.argv[2]
if (origin === undefined) throw new Error('usage: bare-proxy.ts <upstream-origin>')
const pool = new Pool(origin, { connections: 256, pipelining: 1 })
const PASSED = ['content-type', 'content-length', 'etag', 'repr-digest', 'accept-ranges']

const app = Fastify({ logger: false })
app.get('/*', (request, reply) => {
  reply.hijack()
  const raw = reply.raw
  const headers: Record<string, string> = {}
  if (request.headers.authorization !== undefined) headers.authorization = request.headers.authorization
  pool
    .stream({ path: request.url, method: 'GET', headers }, ({ statusCode, headers: upstream }) => {
      const out: Record<string, string> = {}
      for (const name of PASSED) {
        const value = upstream[name]
        if (typeof value === 'string') out[name] = value
      }
      raw.writeHead(statusCode, out)
      return raw
    })
    .catch(() => {
      if (!raw.headersSent) raw.writeHead(502)
      raw.destroy()
    })
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)
process.on('SIGTERM', () => process.exit(0))
