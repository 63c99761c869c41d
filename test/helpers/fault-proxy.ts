import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { request } from 'undici'

export type FaultMode = 'pass' | 'hang' | 'garbage' | 'cut' | 'flip' | 'status500' | 'drip'

/**
 * A real HTTP server between the gateway and a real adapter that misbehaves on demand: it never answers,
 * answers nonsense, cuts a document mid-way or flips one of its bytes. Faults apply to case routes only,
 * so health checks keep passing the way a half-broken court system would.
 */
export async function startFaultProxy(t: { teardown: (fn: () => unknown) => void }, upstream: string) {
  let mode: FaultMode = 'pass'
  let caseRequests = 0
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res)
  })
  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.url?.startsWith('/v1/cases/')) caseRequests++
    const faulty = mode !== 'pass' && req.url?.startsWith('/v1/cases/')
    if (faulty && mode === 'hang') return // never answers; the gateway's timeout must fire
    if (faulty && mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>')
      return
    }
    if (faulty && mode === 'status500') {
      res.writeHead(500).end()
      return
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value
    delete headers.host
    const response = await request(`${upstream}${req.url}`, { method: 'GET', headers })
    const body = Buffer.from(await response.body.arrayBuffer())
    const isDocument = req.url?.includes('/documents/') && response.statusCode < 300
    const out: Record<string, string> = {}
    for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') out[name] = value
    res.writeHead(response.statusCode, out)
    if (faulty && isDocument && mode === 'cut') {
      res.write(body.subarray(0, Math.floor(body.length / 2)))
      setTimeout(() => res.destroy(), 20)
      return
    }
    if (faulty && isDocument && mode === 'drip') {
      res.write(body.subarray(0, 100))
      setTimeout(() => res.end(body.subarray(100)), 400)
      return
    }
    if (faulty && isDocument && mode === 'flip') {
      const copy = Buffer.from(body)
      copy[copy.length - 10] = copy[copy.length - 10]! ^ 0xff
      res.end(copy)
      return
    }
    res.end(body)
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise((resolve) => server.close(resolve))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    /** How many case requests reached the proxy (health checks not counted). */
    caseRequests: () => caseRequests,
    set(next: FaultMode) {
      mode = next
    },
    async stop() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
