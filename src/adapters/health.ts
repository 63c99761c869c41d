import type { BreakerSnapshot } from './breaker.js'
import { type AdapterClient, readJson } from './client.js'
import type { AdapterStore } from './store.js'
import type { Adapter } from './types.js'

export interface HealthCheck {
  at: string
  ok: boolean
  latencyMs: number
}

/**
 * Active health checks: every `intervalMs`, `GET /v1/health` on each active adapter. The result is shown to
 * operators beside the breaker; it never moves the breaker (docs/architecture.md#adapters-and-routing), which only real requests do.
 */
export class HealthMonitor {
  readonly #client: AdapterClient
  readonly #adapters: AdapterStore
  readonly #last = new Map<string, HealthCheck>()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(client: AdapterClient, adapters: AdapterStore) {
    this.#client = client
    this.#adapters = adapters
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      // A round whose adapters cannot be listed (the database down) is skipped: the next one tries again.
      this.#running ??= this.checkAll()
        .catch(() => {})
        .finally(() => {
          this.#running = undefined
        })
    }, intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#running
  }

  async checkAll(): Promise<void> {
    const active = (await this.#adapters.list()).filter((adapter) => adapter.status === 'active')
    await Promise.all(active.map((adapter) => this.check(adapter)))
  }

  async check(adapter: Adapter): Promise<HealthCheck> {
    const started = performance.now()
    let ok = false
    try {
      const response = await this.#client.get(adapter, '/v1/health', undefined, {}, { healthCheck: true })
      const body = (await readJson(response, adapter)) as { status?: unknown } | undefined
      ok = body?.status === 'ok'
    } catch {
      ok = false
    }
    const result = { at: new Date().toISOString(), ok, latencyMs: Math.round(performance.now() - started) }
    this.#last.set(adapter.id, result)
    return result
  }

  last(adapterId: string): HealthCheck | undefined {
    return this.#last.get(adapterId)
  }

  /** `up` (closed, last check passed), `degraded` (half-open), `down` (open, or last check failed), `unknown`. */
  status(adapter: Adapter): {
    status: 'up' | 'degraded' | 'down' | 'unknown'
    breaker: BreakerSnapshot
    lastHealthCheck?: HealthCheck
  } {
    const breaker = this.#client.breaker(adapter).snapshot()
    const last = this.#last.get(adapter.id)
    const status =
      breaker.state === 'open'
        ? 'down'
        : breaker.state === 'half-open'
          ? 'degraded'
          : last === undefined
            ? 'unknown'
            : last.ok
              ? 'up'
              : 'down'
    return { status, breaker, ...(last ? { lastHealthCheck: last } : {}) }
  }
}
