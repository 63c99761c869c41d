import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { STATE_CHANNEL } from './postgres-changes.js'
import type { ChangeFeed, ChangeListener } from './state-cache.js'
import type { StateKey } from './state-change.js'

export interface PostgresChangeFeedOptions {
  /**
   * The bound: a change another replica committed is in force here at most this long after its commit (in
   * practice, as soon as its notification arrives: milliseconds). Past it without proof of having heard
   * everything, this replica reads grants and adapters from the database instead of memory.
   */
  stalenessMs: number
  /** A lost or replaced listening connection, for the server log. */
  onError?: (error: unknown) => void
}

/** Connection attempts while the database cannot be reached: at most one per this many ms. */
const RECONNECT_MS = 1000

/**
 * Tells a replica's StateCache of the changes the other replicas make, and vouches for how current it is.
 *
 * One connection of its own LISTENs on STATE_CHANNEL, on which each change transaction announces the record it
 * changed (postgresSteps); each notification drops that record from memory. PostgreSQL delivers
 * notifications only after the transaction commits, to each listener in the order of the notification queue,
 * and a transaction enters that queue before it commits. So, to know how current it is, the feed sends a
 * notification of its own (a ping) on the same channel every quarter of `stalenessMs`: when the ping comes back,
 * every change committed before the ping was sent has been heard of, and dropped. The feed is `fresh` while
 * its latest returned ping was sent less than `stalenessMs` ago (by this process's monotonic clock; no
 * comparison with another host's clock). While it is not — the connection lost, the database slow, this
 * process stalled — the cache is bypassed and every read goes to the database.
 *
 * Hence the bound: a change (a revocation, a suspension) acknowledged by another replica at time T serves no
 * read here that begins after T + `stalenessMs`, whatever happens to the connection or the notifications.
 * After a new connection starts listening, everything in memory is dropped, since a change committed while no
 * connection listened was never announced to this process.
 */
export class PostgresChangeFeed implements ChangeFeed {
  readonly #url: string
  readonly #stalenessMs: number
  readonly #pingMs: number
  readonly #onError: ((error: unknown) => void) | undefined
  /** Tells this process's pings from those of the other replicas, which share the channel. */
  readonly #instance = randomBytes(6).toString('hex')
  #listener: ChangeListener | undefined
  #client: pg.Client | undefined
  #connecting = false
  #lastAttempt = Number.NEGATIVE_INFINITY
  /** Pings sent on the current connection and not yet back: sequence number → time sent. */
  readonly #pings = new Map<number, number>()
  #nextPing = 0
  /** When the latest ping that came back was sent; undefined on a connection no ping has come back on. */
  #confirmedAt: number | undefined
  /** When a ping last came back (or the connection started listening). */
  #lastEcho = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(url: string, options: PostgresChangeFeedOptions) {
    this.#url = url
    this.#stalenessMs = options.stalenessMs
    this.#pingMs = Math.max(10, Math.floor(options.stalenessMs / 4))
    this.#onError = options.onError
  }

  attach(listener: ChangeListener): void {
    this.#listener = listener
  }

  fresh(): boolean {
    return this.#confirmedAt !== undefined && performance.now() - this.#confirmedAt < this.#stalenessMs
  }

  /** Connects and listens in the background (reads bypass the cache until the first ping is back). */
  start(): void {
    this.#timer = setInterval(() => this.#tick(), this.#pingMs)
    this.#timer.unref()
    this.#tick()
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    const client = this.#client
    this.#client = undefined
    this.#confirmedAt = undefined
    await client?.end().catch(() => {})
  }

  #tick(): void {
    if (this.#closed) return
    const client = this.#client
    if (!client) {
      if (!this.#connecting && performance.now() - this.#lastAttempt >= RECONNECT_MS) void this.#connect()
      return
    }
    // Notifications may be stuck behind a connection that no longer echoes: a new one starts afresh.
    if (performance.now() - this.#lastEcho > 2 * this.#stalenessMs + RECONNECT_MS) {
      this.#lose(client, new Error(`no ping came back for ${2 * this.#stalenessMs + RECONNECT_MS} ms`))
      return
    }
    this.#ping(client)
  }

  async #connect(): Promise<void> {
    this.#connecting = true
    this.#lastAttempt = performance.now()
    const client = new pg.Client({ connectionString: this.#url, keepAlive: true })
    client.on('error', (error) => this.#lose(client, error))
    client.on('end', () => this.#lose(client, new Error('the listening connection ended')))
    client.on('notification', (message) => this.#notified(client, message.payload ?? ''))
    try {
      await client.connect()
      await client.query(`LISTEN ${STATE_CHANNEL}`)
    } catch (error) {
      this.#connecting = false
      this.#lose(client, error)
      return
    }
    this.#connecting = false
    if (this.#closed) {
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#lastEcho = performance.now()
    // Changes committed while nothing listened were never announced here: what memory holds may predate them.
    this.#listener?.missed()
    this.#ping(client)
  }

  #ping(client: pg.Client): void {
    const sequence = this.#nextPing++
    this.#pings.set(sequence, performance.now())
    client
      .query('SELECT pg_notify($1, $2)', [STATE_CHANNEL, `ping:${this.#instance}:${sequence}`])
      .catch((error: unknown) => this.#lose(client, error))
  }

  #notified(client: pg.Client, payload: string): void {
    if (payload.startsWith('ping:')) {
      const [, instance, sequence] = payload.split(':')
      if (instance !== this.#instance || client !== this.#client) return
      const sent = this.#pings.get(Number(sequence))
      if (sent === undefined) return
      for (const earlier of this.#pings.keys()) if (earlier <= Number(sequence)) this.#pings.delete(earlier)
      this.#confirmedAt = Math.max(this.#confirmedAt ?? sent, sent)
      this.#lastEcho = performance.now()
      return
    }
    // Also from a connection being replaced: a change it reports is a change all the same.
    if (payload.startsWith('grant:') || payload.startsWith('adapter:')) this.#listener?.changed(payload as StateKey)
    else this.#listener?.missed()
  }

  #lose(client: pg.Client, error: unknown): void {
    if (client === this.#client) {
      this.#client = undefined
      this.#confirmedAt = undefined
      this.#pings.clear()
      this.#onError?.(error)
    }
    void client.end().catch(() => {})
  }
}
