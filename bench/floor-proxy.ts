/**
 * "bare proxy + the log's promise", for `npm run bench`: the floor under the gateway's cost per read. It does
 * only the work no gateway keeping the access log's promise can leave out, with the gateway's own components
 * from the tree's dist/: a durable intent entry (TransparencyLog on SQLite, group commit, fsync) before the
 * upstream is asked, an Ed25519-signed request token naming that entry (RequestSigner, on its signing thread), the
 * SHA-256 of the bytes as they pass, and a durable outcome entry after. No JWT verification, policy, quota,
 * catalogue, contract checks, limits or metrics. Where the gateway's rate stands between this row and the bare
 * proxy's shows how much of its cost is the promise and how much everything else.
 *
 *   node bench/floor-proxy.ts <source-root> <work-dir> <upstream-origin>
 */
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { Pool } from 'undici'

const [root, dir, origin] = process.argv.slice(2)
if (root === undefined || dir === undefined || origin === undefined) {
  throw new Error('usage: floor-proxy.ts <source-root> <work-dir> <upstream-origin>')
}
const load = (path: string) => import(pathToFileURL(join(root, 'dist/src', path)).href)
const { openSqliteStorage } = await load('storage/sqlite.js')
const { TransparencyLog } = await load('accesslog/access-log.js')
const { RequestSigner } = await load('adapters/signing.js')

const storage = openSqliteStorage(join(dir, 'floor.db'))
const logKey = generateKeyPairSync('ed25519').privateKey
const log = await TransparencyLog.open({
  store: storage.log,
  origin: 'bench.floor/log',
  signingKey: logKey,
  publicKey: createPublicKey(logKey),
  checkpointIntervalMs: 1000,
})
const signer = await RequestSigner.create('bench-floor', generateKeyPairSync('ed25519').privateKey)
// As the gateway signs: on the signer's own thread.
signer.startThread()
const pool = new Pool(origin, { connections: 256, pipelining: 1 })

let requests = 0
const app = Fastify({ logger: false })
app.get('/*', async (request, reply) => {
  reply.hijack()
  const response = reply.raw
  const started = Date.now()
  const resource = { court: '黑01', caseNo: '（2023）黑01民终1234号', grant: 'g-bench', document: request.url ?? '' }
  const base = { requestId: `r${++requests}`, action: 'document.read', resource, decision: 'allow' as const }
  try {
    const intent: number = await log.append({ ...base, phase: 'intent' })
    const token: string = await signer.signAsync({
      court: '黑01',
      sub: 'zhang.wei',
      org: '230100',
      grant: 'g-bench',
      purpose: 'bench',
      log: intent,
    })
    const upstream = await pool.request({
      path: request.url ?? '/',
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: '*/*' },
    })
    const headers: Record<string, string> = {}
    for (const name of ['content-type', 'content-length', 'etag']) {
      const value = upstream.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    response.writeHead(upstream.statusCode, headers)
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of upstream.body) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
      if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve))
    }
    response.end()
    const outcome = { result: 'completed' as const, status: upstream.statusCode, bytes, sha256: hash.digest('hex') }
    await log.append({ ...base, phase: 'outcome', intent, outcome: { ...outcome, durationMs: Date.now() - started } })
  } catch (error) {
    if (!response.headersSent) response.writeHead(502)
    response.end(String(error))
  }
})
const address = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`${JSON.stringify({ url: address })}\n`)
process.on('SIGTERM', () => process.exit(0))
