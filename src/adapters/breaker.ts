export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerSnapshot {
  state: BreakerState
  consecutiveFailures: number
  openedAt?: string
}

/**
 * A circuit breaker per adapter (docs/architecture.md#adapters-and-routing): opens after `failures` consecutive failed requests, stays open
 * for `cooldownMs`, then lets exactly one half-open probe through, whose result closes or re-opens it. Only
 * real requests move it: a passing active health check does not close an open breaker (as in Envoy's
 * outlier ejection), so a court that answers /health but fails reads stays ejected. Pure: the clock is given.
 */
export class CircuitBreaker {
  readonly #failures: number
  readonly #cooldownMs: number
  readonly #now: () => number
  #state: BreakerState = 'closed'
  #consecutiveFailures = 0
  #openedAt: number | undefined
  #probeInFlight = false

  constructor(options: { failures: number; cooldownMs: number; now?: () => number }) {
    this.#failures = options.failures
    this.#cooldownMs = options.cooldownMs
    this.#now = options.now ?? Date.now
  }

  /** Whether a request may go out now; in half-open, true once (the probe) until its result is reported. */
  tryAcquire(): boolean {
    this.#refresh()
    if (this.#state === 'closed') return true
    if (this.#state === 'half-open' && !this.#probeInFlight) {
      this.#probeInFlight = true
      return true
    }
    return false
  }

  /** Milliseconds until an open breaker lets a probe through (0 when not open). */
  retryAfterMs(): number {
    return this.#state === 'open' ? Math.max(0, this.#cooldownMs - (this.#now() - this.#openedAt!)) : 0
  }

  success(): void {
    this.#state = 'closed'
    this.#consecutiveFailures = 0
    this.#openedAt = undefined
    this.#probeInFlight = false
  }

  /** A request given up by the gateway itself (not the court's doing): frees the probe, changes nothing else. */
  release(): void {
    this.#probeInFlight = false
  }

  failure(): void {
    this.#consecutiveFailures++
    if (this.#state === 'half-open' || this.#consecutiveFailures >= this.#failures) {
      this.#state = 'open'
      this.#openedAt = this.#now()
      this.#probeInFlight = false
    }
  }

  snapshot(): BreakerSnapshot {
    this.#refresh()
    return {
      state: this.#state,
      consecutiveFailures: this.#consecutiveFailures,
      ...(this.#openedAt === undefined ? {} : { openedAt: new Date(this.#openedAt).toISOString() }),
    }
  }

  /** An open breaker whose cooldown has passed is half-open: the next request is the probe. */
  #refresh(): void {
    if (this.#state === 'open' && this.#now() - this.#openedAt! >= this.#cooldownMs) {
      this.#state = 'half-open'
      this.#probeInFlight = false
    }
  }
}
