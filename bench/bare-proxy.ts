/**
 * "bare Fastify + @fastify/reply-from": the floor a Fastify proxy pays per request, for `npm run bench`. One
 * route that forwards the request (path and headers, the Authorization header included) to the upstream with
 * @fastify/reply-from, the usual way to write a proxy on Fastify, and streams the answer back; no checks of
 * any kind.
 *
 *   node --import tsx bench/bare-proxy.ts <upstream-origin>
 */
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'

const origin = process.argv[2]
if (origin === undefined) throw new Error('usage: bare-proxy.ts <upstream-origin>')

const app = Fastify({ logger: false })
// The same connection budget as the gateway's pool towards a court; plain HTTP, so no TLS setting applies.
await app.register(replyFrom, { base: origin, undici: { connections: 256, pipelining: 1 } })
app.get('/*', (request, reply) => reply.from(request.url))
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)
process.on('SIGTERM', () => process.exit(0))
