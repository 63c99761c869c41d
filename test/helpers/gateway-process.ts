import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'undici'
import { PROJECT_ROOT } from '../../src/paths.js'
import { type Running, startBuilt } from './children.js'
import { waitFor } from './wait.js'

/** A loopback port free right now (for a child that must be told its port before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Waits until the gateway at `url` answers `/readyz` with 200; fails at once if its process ended. */
export async function waitReady(url: string, running: Running, deadlineMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      if (running.child.exitCode !== null) throw new Error(`the gateway exited: ${running.output()}`)
      try {
        const response = await request(`${url}/readyz`)
        await response.body.dump()
        return response.statusCode === 200 ? true : undefined
      } catch {
        return undefined // not listening yet
      }
    },
    { deadlineMs, what: `a ready gateway at ${url}` },
  )
}

/**
 * Writes the configuration of a gateway process on the PostgreSQL database `databaseUrl`, with its keys in
 * `dir` (shared by every process given the same `dir`: they sign one log and requests to one court), the
 * development issuer on and limits out of the way; `accessLog`, `adapters` and `storage` settings are merged in.
 */
export function writeGatewayConfig(
  dir: string,
  name: string,
  options: {
    port: number
    databaseUrl: string
    origin: string
    accessLog?: Record<string, unknown>
    adapters?: Record<string, unknown>
    /** PostgreSQL settings besides the URL (e.g. `stateStalenessMs`). */
    storage?: Record<string, unknown>
  },
): string {
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: options.port },
      storage: { kind: 'postgres', url: options.databaseUrl, ...options.storage },
      identity: { audience: 'court-file-gateway', issuers: [] },
      directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
      accessLog: {
        origin: options.origin,
        signingKeyFile: join(dir, 'log.pem'),
        checkpointIntervalMs: 100,
        ...options.accessLog,
      },
      adapters: {
        allowHttp: true,
        allowedNetworks: ['127.0.0.0/8'],
        timeoutMs: 5000,
        signingKeyFile: join(dir, 'adapter.pem'),
        ...options.adapters,
      },
      limits: { requestsPerMinute: 1_000_000, documentsPerDay: 1_000_000 },
      dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
    }),
  )
  return file
}

/**
 * Config files of one gateway process per name, each on a free port of its own, all on one database with
 * one set of keys (see writeGatewayConfig); with the URL each will listen on.
 */
export async function replicaConfigs(
  dir: string,
  names: string[],
  options: Omit<Parameters<typeof writeGatewayConfig>[2], 'port'>,
): Promise<{ urls: string[]; configs: string[] }> {
  const urls: string[] = []
  const configs: string[] = []
  for (const name of names) {
    const port = await freePort()
    urls.push(`http://127.0.0.1:${port}`)
    configs.push(writeGatewayConfig(dir, name, { ...options, port }))
  }
  return { urls, configs }
}

/** `court-file-gateway serve --config FILE` as a child process, killed at teardown. */
export function serveGateway(t: { teardown(fn: () => unknown): void }, configFile: string): Running {
  return startBuilt(t, 'src/cli.js', ['serve', '--config', configFile], { env: { LOG_LEVEL: 'warn' } })
}
