import { Agent, request } from 'undici'
import type { Config } from './config/types.js'

export interface HealthcheckTarget {
  /** `server.host` of the configuration: where the gateway listens. */
  host: string
  port: number
  /** Whether the gateway serves TLS itself. */
  tls: boolean
}

/** Listening on every address means loopback answers too; a named address must be asked directly. */
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])

/** The URL of the gateway's liveness route, reached from the machine (or container) it runs in. */
export function healthUrl(target: HealthcheckTarget): string {
  const host = WILDCARDS.has(target.host) ? '127.0.0.1' : target.host
  const authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `${target.tls ? 'https' : 'http'}://${authority}:${target.port}/healthz`
}

/**
 * One liveness probe, as a container HEALTHCHECK runs it: GET /healthz within `timeoutMs`. Resolves to the
 * problem in words, or undefined when the gateway answered 200. The certificate is not verified: it names
 * the public host, not loopback, and this probe asks whether the process answers, not who it is.
 */
export async function probeHealth(target: HealthcheckTarget, timeoutMs = 2_000): Promise<string | undefined> {
  const url = healthUrl(target)
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, connections: 1 })
  try {
    const response = await request(url, { dispatcher, signal: AbortSignal.timeout(timeoutMs) })
    await response.body.dump()
    return response.statusCode === 200 ? undefined : `${url} answered ${response.statusCode}`
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return `${url}: no answer within ${timeoutMs} ms`
    const cause = (error as { cause?: { code?: string } }).cause
    return `${url}: ${(error as { code?: string }).code ?? cause?.code ?? (error as Error).message}`
  } finally {
    await dispatcher.close()
  }
}

/**
 * `court-file-gateway healthcheck`, the container's HEALTHCHECK: probes the port of the same configuration
 * (and GATEWAY_PORT) that `serve` listens on. Resolves to the exit code; says why on stderr when unhealthy.
 */
export async function healthcheck(config: Config, report: (line: string) => void = console.error): Promise<number> {
  const { server } = config
  // `server.tls` (certificate files) makes the gateway serve https; configurations without it serve http.
  const tls = (server as { tls?: unknown }).tls !== undefined
  const problem = await probeHealth({ host: server.host, port: server.port, tls })
  if (problem === undefined) return 0
  report(`unhealthy: ${problem}`)
  return 1
}
