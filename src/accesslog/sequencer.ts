import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import net from 'node:net'
import { hostname } from 'node:os'
import type pg from 'pg'
import { GatewayError } from '../http/errors.js'
import { ChangeConflict, type StateChange } from '../storage/state-change.js'
import type { AccessLog, LoggedEntry, TransparencyLog } from './access-log.js'
import type { EntryInput } from './entry.js'
import type { PostgresLogStore } from './postgres-store.js'
import type { EntryFilter, StoredCheckpoint } from './store.js'

/**
 * One sequencer for the gateway processes sharing a PostgreSQL log (issue 11).
 *
 * Every process can append on its own: the head check in the database (postgres-store.ts) places each batch
 * exactly at the committed size, on the leaf it was built on, so the tree never forks whoever appends. But
 * processes appending side by side take turns at the head lock with small batches, and only one flushes at a
 * time. So one process leads: the holder of a session advisory lock, which names in `log_sequencer` where it
 * listens and a secret for this term. The others forward their entries (and the state changes they carry)
 * to it over a socket; it sequences them with its own in large batches, pipelined, and answers each with its
 * index once it is durable. Leadership is only about speed: correctness rests on the database's checks.
 *
 * - A follower acknowledges an entry only once the leader answered it, which the leader does only once it
 *   is committed (synchronous commit): nothing acknowledged depends on the leader staying alive.
 * - When the leader dies, its session ends and its lock is free: the next process to try takes it (every
 *   `pollMs`), and meanwhile followers append on their own. Entries a follower had sent and not heard back
 *   about are refused to their callers (ACCESS_LOG_UNAVAILABLE: as for a lost COMMIT, they may or may not be
 *   in the log) and looked up once the dead leader's last transactions have long ended (`inDoubtAfterMs`):
 *   an intent found in the log gets an `interrupted` outcome (its read never ran), an outcome whose intent is
 *   still open is appended again (a second one would be refused), so every intent keeps exactly one outcome.
 * - An intent forwarded to the leader is recorded as the follower's (open_intents), under the follower's lease.
 * - A leader that stops answers what it already took, and tells followers to append elsewhere for the rest.
 * - The channel is authenticated both ways with the term's secret (an HMAC of the other side's nonce), so a
 *   process that cannot read `log_sequencer` can neither inject entries nor acknowledge them; it is not
 *   encrypted: run the replicas on a private network, as their database connections are.
 */
export interface SequencerOptions {
  log: TransparencyLog
  store: PostgresLogStore
  pool: pg.Pool
  /** A connection of its own, outside the pool: the session that holds the lock while this process leads. */
  connect: () => Promise<pg.Client>
  /** Where this process listens while it leads (port 0: any free port). */
  listen: { host: string; port: number }
  /**
   * The address followers connect to (host:port); by default the listening address, or this host's name
   * when it listens on every address (0.0.0.0, ::), as in containers that reach each other by name.
   */
  advertise?: string | undefined
  /** How often a process without a leader tries to lead, and a follower checks where the leader is. */
  pollMs?: number
  /** How long an entry whose answer was lost waits before it is looked up (see above). */
  inDoubtAfterMs: number
  /** A forwarded entry unanswered for this long counts as lost, and the connection is dropped. */
  requestTimeoutMs?: number
  now: () => Date
  onWarning: (message: string) => void
}

/** The session advisory lock of the leader: (this key, the schema's hash), so two schemas have two leaders. */
const SEQUENCER_LOCK = 0x63666702
const HANDSHAKE_MS = 2000
/** The version of the messages below: a leader refuses a follower of another one, which then appends on its own. */
const PROTOCOL = 1
/** Longer than any message (an entry is at most 16 KiB, a state change a few records): a peer sending more is cut off. */
const MAX_LINE = 4 * 1024 * 1024

/** A request forwarded to the leader, one JSON line. */
interface Forwarded {
  id: number
  entry: EntryInput
  change?: StateChange
}

/** The leader's answer: the index, a ChangeConflict, a failure, or "not appended: append elsewhere". */
interface Answer {
  id: number
  index?: number
  conflict?: { index: number; message: string }
  error?: string
  moved?: true
}

interface InDoubt {
  entry: EntryInput & { time: string }
  since: number
  /** The log's size before it was sent: it is at or above. */
  from: number
}

export class SequencedLog implements AccessLog {
  readonly #options: Required<Pick<SequencerOptions, 'pollMs' | 'requestTimeoutMs'>> & SequencerOptions
  readonly #log: TransparencyLog
  readonly #store: PostgresLogStore
  #lock: pg.Client | undefined
  #leading = false
  #server: LeaderServer | undefined
  #link: LeaderLink | undefined
  #acked = 0
  #inDoubt: InDoubt[] = []
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> = Promise.resolve()
  #closed = false
  #lastWarning = ''

  private constructor(options: SequencerOptions) {
    this.#options = { pollMs: 500, requestTimeoutMs: 10_000, ...options }
    this.#log = options.log
    this.#store = options.store
  }

  /** Takes the lead or finds the leader before it resolves, then keeps doing so every `pollMs`. */
  static async start(options: SequencerOptions): Promise<SequencedLog> {
    const sequenced = new SequencedLog(options)
    await sequenced.#elect()
    sequenced.#timer = setInterval(() => void sequenced.#elect(), sequenced.#options.pollMs)
    sequenced.#timer.unref()
    return sequenced
  }

  /** Whether this process sequences for the others now. */
  get leading(): boolean {
    return this.#leading
  }

  /** Whether this process forwards its entries to a leader now. */
  get following(): boolean {
    return !this.#leading && this.#link?.ready === true
  }

  append(input: EntryInput, change?: StateChange): Promise<number> {
    if (this.#closed) return Promise.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed'))
    const link = this.#link
    if (this.#leading || !link?.ready) return this.#log.append(input, change)
    const entry = { ...input, time: input.time ?? this.#options.now().toISOString() }
    const from = this.size()
    return link.send(entry, change).then(
      (index) => {
        if (index + 1 > this.#acked) this.#acked = index + 1
        return index
      },
      (error: unknown) => {
        if (error instanceof Moved) return this.#log.append(entry, change)
        if (error instanceof Lost) {
          this.#inDoubt.push({ entry, since: Date.now(), from })
          throw new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log cannot be written', { cause: error })
        }
        throw error
      },
    )
  }

  /** One round: take the lead if it is free, else find the leader; then look up what is in doubt. */
  #elect(): Promise<void> {
    this.#round = this.#round.then(async () => {
      if (this.#closed) return
      try {
        await this.#electOnce()
      } catch (error) {
        this.#warn(`access log sequencer: ${String(error)}`)
        this.#dropLead()
      }
      await this.#resolveInDoubt().catch((error: unknown) =>
        this.#warn(`access log sequencer: entries in doubt not yet resolved: ${String(error)}`),
      )
    })
    return this.#round
  }

  async #electOnce(): Promise<void> {
    if (!this.#lock) {
      const lock = await this.#options.connect()
      // A lost session is a lost lead: another process may hold the lock at once.
      lock.on('error', () => {
        if (this.#lock === lock) this.#dropLead()
      })
      lock.on('end', () => {
        if (this.#lock === lock) this.#dropLead()
      })
      this.#lock = lock
    }
    if (!this.#leading) {
      const { rows } = await this.#lock.query<{ got: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS got',
        [SEQUENCER_LOCK],
      )
      if (rows[0]?.got) await this.#lead(this.#lock)
    }
    if (this.#leading) return
    const { rows } = await this.#options.pool.query<{ instance: string; address: string; secret: string }>(
      'SELECT instance, address, secret FROM log_sequencer',
    )
    const row = rows[0]
    if (!row || row.instance === this.#store.instance) return
    const link = this.#link
    if (link && !link.closed && link.instance === row.instance && link.address === row.address) return
    // What was sent through the old link is still answered (or times out): only new entries go elsewhere.
    link?.retire()
    this.#link = undefined
    const next = new LeaderLink(
      row.instance,
      row.address,
      row.secret,
      this.#store.instance,
      this.#options.requestTimeoutMs,
    )
    try {
      await next.open()
      this.#link = next
    } catch (error) {
      next.close()
      this.#warn(`access log sequencer: cannot reach the leader ${row.instance} at ${row.address}: ${String(error)}`)
    }
  }

  /** Holding the lock: listens, and names this process as the leader with a new secret. */
  async #lead(lock: pg.Client): Promise<void> {
    this.#server ??= await LeaderServer.start(this.#log, this.#options.listen)
    const address = this.#options.advertise ?? this.#server.address(hostname())
    const secret = randomBytes(32).toString('base64')
    this.#server.secret = secret
    await lock.query(
      `INSERT INTO log_sequencer (one, instance, address, secret, since) VALUES (true, $1, $2, $3, now())
        ON CONFLICT (one) DO UPDATE SET instance = EXCLUDED.instance, address = EXCLUDED.address,
          secret = EXCLUDED.secret, since = EXCLUDED.since`,
      [this.#store.instance, address, secret],
    )
    this.#server.accepting = true
    this.#leading = true
    this.#store.sequencing = true
    // Its own entries now go to its own log; what it had forwarded is still answered by the old leader.
    this.#link?.retire()
    this.#link = undefined
  }

  /** The lock's session is gone (or its state unknown): this process no longer leads. */
  #dropLead(): void {
    const lock = this.#lock
    this.#lock = undefined
    this.#leading = false
    this.#store.sequencing = false
    this.#server?.stepDown()
    void lock?.end().catch(() => {})
  }

  /**
   * Entries whose leader was lost before it answered: once no transaction of it can still be running, an
   * intent found in the log is closed as interrupted, an outcome whose intent is still open is sent again.
   */
  async #resolveInDoubt(): Promise<void> {
    const due = Date.now() - this.#options.inDoubtAfterMs
    const ready = this.#inDoubt.filter((item) => item.since <= due)
    if (ready.length === 0) return
    this.#inDoubt = this.#inDoubt.filter((item) => item.since > due)
    for (const item of ready) {
      const { entry } = item
      try {
        if (entry.phase === 'intent') {
          const index = await this.#store.findEntry(entry, item.from)
          if (index === undefined || !(await this.#store.intentOpen(index))) continue
          await this.append({
            action: entry.action,
            ...(entry.actor ? { actor: entry.actor } : {}),
            ...(entry.resource ? { resource: entry.resource } : {}),
            phase: 'outcome',
            decision: entry.decision,
            intent: index,
            outcome: { result: 'interrupted' },
            detail: { instance: this.#store.instance },
          })
        } else if (entry.phase === 'outcome' && entry.intent !== undefined) {
          if (await this.#store.intentOpen(entry.intent)) await this.append(entry)
        }
      } catch (error) {
        if (error instanceof ChangeConflict) continue // closed meanwhile: it has its one outcome
        this.#inDoubt.push(item) // the next round tries again
        throw error
      }
    }
  }

  #warn(message: string): void {
    // Once per distinct message in a row: a leader that stays unreachable is said once, not every poll.
    if (message === this.#lastWarning) return
    this.#lastWarning = message
    this.#options.onWarning(message)
  }

  size(): number {
    return Math.max(this.#log.size(), this.#acked)
  }

  writable(): Promise<boolean> {
    return this.#log.writable()
  }

  get(index: number): Promise<LoggedEntry | undefined> {
    return this.#log.get(index)
  }

  query(filter: EntryFilter, after: number, limit: number): Promise<LoggedEntry[]> {
    return this.#log.query(filter, after, limit)
  }

  leaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }> {
    return this.#log.leaves(from, to)
  }

  latestCheckpoint(): StoredCheckpoint {
    return this.#log.latestCheckpoint()
  }

  verifierKey(): string {
    return this.#log.verifierKey()
  }

  inclusionProof(index: number, size: number): Promise<Buffer[]> {
    return this.#log.inclusionProof(index, size)
  }

  consistencyProof(from: number, to: number): Promise<Buffer[]> {
    return this.#log.consistencyProof(from, to)
  }

  receipt(index: number): Promise<string> {
    return this.#log.receipt(index)
  }

  /**
   * Stops taking forwarded entries (followers append elsewhere), waits for those taken and for this
   * process's own to be answered, closes the log, and only then gives the lead up (ending its session).
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    await this.#round
    await this.#server?.close()
    await this.#link?.drain()
    this.#link?.close()
    await this.#log.close()
    this.#store.sequencing = false
    await this.#lock?.end().catch(() => {})
    this.#lock = undefined
  }
}

/** The leader did not append the entry and says so: it may be appended elsewhere. */
class Moved extends Error {}
/** The leader's answer was lost: the entry may or may not be in the log. */
class Lost extends Error {}

function proof(secret: string, role: 'leader' | 'follower', nonce: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64')).update(`${role}\n${nonce}`).digest('base64')
}

function sameProof(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

/** Newline-delimited JSON over a socket, writes gathered per turn of the event loop. */
class Lines {
  readonly socket: net.Socket
  #buffer = ''
  #out: string[] = []
  #flushing = false

  constructor(socket: net.Socket, onLine: (message: Record<string, unknown>) => void) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 1000)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk
      if (this.#buffer.length > MAX_LINE && !this.#buffer.includes('\n')) {
        socket.destroy(new Error('a line longer than any message'))
        return
      }
      for (let end = this.#buffer.indexOf('\n'); end >= 0; end = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, end)
        this.#buffer = this.#buffer.slice(end + 1)
        let message: unknown
        try {
          message = JSON.parse(line)
        } catch {
          socket.destroy(new Error('a line that is not JSON'))
          return
        }
        if (message === null || typeof message !== 'object') {
          socket.destroy(new Error('a line that is not a JSON object'))
          return
        }
        onLine(message as Record<string, unknown>)
      }
    })
  }

  send(message: object): void {
    this.#out.push(`${JSON.stringify(message)}\n`)
    if (this.#flushing) return
    this.#flushing = true
    setImmediate(() => {
      this.#flushing = false
      const text = this.#out.join('')
      this.#out = []
      if (!this.socket.destroyed) this.socket.write(text)
    })
  }
}

/** The leader's side: authenticated followers' entries appended to this process's log. */
class LeaderServer {
  readonly #server: net.Server
  readonly #log: TransparencyLog
  readonly #connections = new Set<{ socket: net.Socket; lines?: Lines }>()
  secret = ''
  /** False while this process does not lead: new entries are answered `moved`. */
  accepting = false

  private constructor(server: net.Server, log: TransparencyLog) {
    this.#server = server
    this.#log = log
    server.on('connection', (socket) => this.#accept(socket))
  }

  static async start(log: TransparencyLog, listen: { host: string; port: number }): Promise<LeaderServer> {
    const server = net.createServer()
    const leader = new LeaderServer(server, log)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    return leader
  }

  /** Where peers reach it: the address it listens on, or `host` when it listens on every address. */
  address(host: string): string {
    const address = this.#server.address() as net.AddressInfo
    if (address.address === '0.0.0.0' || address.address === '::') return `${host}:${address.port}`
    return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`
  }

  #accept(socket: net.Socket): void {
    const connection: { socket: net.Socket; lines?: Lines } = { socket }
    this.#connections.add(connection)
    socket.on('close', () => this.#connections.delete(connection))
    socket.on('error', () => {})
    const nonce = randomBytes(16).toString('base64')
    let follower: string | undefined
    const handshake = setTimeout(() => socket.destroy(), HANDSHAKE_MS)
    const lines = new Lines(socket, (message) => {
      if (follower === undefined) {
        // 1. the follower's nonce, answered with this leader's proof and its own nonce; 2. the follower's proof.
        if (typeof message.nonce === 'string' && !('proof' in message) && message.protocol === PROTOCOL) {
          lines.send({ nonce, proof: proof(this.secret, 'leader', message.nonce) })
        } else if (
          sameProof(message.proof, proof(this.secret, 'follower', nonce)) &&
          typeof message.instance === 'string'
        ) {
          follower = message.instance
          clearTimeout(handshake)
          connection.lines = lines
          lines.send({ ready: true })
          if (!this.accepting) lines.send({ bye: true })
        } else {
          socket.destroy()
        }
        return
      }
      const { id, entry, change } = message as unknown as Forwarded
      if (typeof id !== 'number' || entry === null || typeof entry !== 'object') {
        socket.destroy(new Error('a message that is not a forwarded entry'))
        return
      }
      if (!this.accepting) {
        lines.send({ id, moved: true } satisfies Answer)
        return
      }
      void this.#log.append(entry, change, follower).then(
        (index) => lines.send({ id, index } satisfies Answer),
        (error: unknown) =>
          lines.send(
            error instanceof ChangeConflict
              ? { id, conflict: { index: error.index, message: error.message } }
              : { id, error: error instanceof Error ? error.message : String(error) },
          ),
      )
    })
  }

  /** Takes no more entries: answers `moved` to what still comes, and tells every follower to go elsewhere. */
  stepDown(): void {
    this.accepting = false
    for (const { lines } of this.#connections) lines?.send({ bye: true })
  }

  /**
   * Answers `moved` from now on and says `bye`: each follower sends nothing more, and closes its connection
   * once it has heard back about everything it sent (the entries taken are answered as they commit). What a
   * follower has not closed after `graceMs` is cut (its unanswered entries are then in doubt).
   */
  async close(graceMs = 10_000): Promise<void> {
    this.#server.close()
    this.stepDown()
    const closed = [...this.#connections].map(({ socket }) =>
      socket.destroyed ? undefined : new Promise((resolve) => socket.once('close', resolve)),
    )
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs)
      }),
    ])
    clearTimeout(timer)
    for (const { socket } of this.#connections) socket.destroy()
  }
}

/** A follower's connection to the leader. */
class LeaderLink {
  readonly instance: string
  readonly address: string
  readonly #secret: string
  readonly #self: string
  readonly #timeoutMs: number
  #lines: Lines | undefined
  #nextId = 1
  readonly #pending = new Map<
    number,
    { resolve: (index: number) => void; reject: (error: unknown) => void; at: number }
  >()
  #timer: NodeJS.Timeout | undefined
  #drained: Array<() => void> = []
  ready = false
  closed = false
  /** Authenticated: from now on a lost connection leaves what is unanswered in doubt. */
  #opened = false

  constructor(instance: string, address: string, secret: string, self: string, timeoutMs: number) {
    this.instance = instance
    this.address = address
    this.#secret = secret
    this.#self = self
    this.#timeoutMs = timeoutMs
  }

  /** Connects and authenticates both ways; rejects when either fails within the handshake's time. */
  open(): Promise<void> {
    const split = this.address.lastIndexOf(':')
    const host = this.address.slice(0, split).replace(/^\[(.*)\]$/, '$1')
    const port = Number(this.address.slice(split + 1))
    const nonce = randomBytes(16).toString('base64')
    return new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host, port })
      const fail = (error: Error) => {
        clearTimeout(timeout)
        socket.destroy()
        reject(error)
      }
      const timeout = setTimeout(() => fail(new Error('no answer to the handshake')), HANDSHAKE_MS)
      socket.on('error', (error) => (this.#opened ? this.#lost(error) : fail(error)))
      socket.on('close', () =>
        this.#opened ? this.#lost(new Error('the leader closed the connection')) : fail(new Error('closed')),
      )
      socket.on('connect', () => this.#lines!.send({ nonce, protocol: PROTOCOL }))
      this.#lines = new Lines(socket, (message) => {
        if (!this.#opened) {
          if ('ready' in message) {
            clearTimeout(timeout)
            this.#opened = true
            this.ready = true
            this.#timer = setInterval(() => this.#checkTimeouts(), Math.max(100, this.#timeoutMs / 4))
            this.#timer.unref()
            resolve()
          } else if (
            sameProof(message.proof, proof(this.#secret, 'leader', nonce)) &&
            typeof message.nonce === 'string'
          ) {
            this.#lines!.send({ proof: proof(this.#secret, 'follower', message.nonce), instance: this.#self })
          } else {
            fail(new Error('the leader could not prove it holds this term'))
          }
          return
        }
        if ('bye' in message) this.retire()
        else this.#answer(message as unknown as Answer)
      })
    })
  }

  send(entry: EntryInput, change: StateChange | undefined): Promise<number> {
    if (!this.ready || this.closed) return Promise.reject(new Moved('no leader'))
    const id = this.#nextId++
    return new Promise<number>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, at: Date.now() })
      this.#lines!.send(change ? { id, entry, change } : { id, entry })
    })
  }

  #answer(answer: Answer): void {
    const waiting = this.#pending.get(answer.id)
    if (!waiting) return
    this.#pending.delete(answer.id)
    if (answer.index !== undefined) waiting.resolve(answer.index)
    else if (answer.moved) waiting.reject(new Moved('the leader stopped leading'))
    else if (answer.conflict) waiting.reject(new ChangeConflict(answer.conflict.index, answer.conflict.message))
    else waiting.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', answer.error ?? 'the access log cannot be written'))
    if (this.#pending.size === 0) this.#wakeDrained()
  }

  #checkTimeouts(): void {
    const due = Date.now() - this.#timeoutMs
    for (const waiting of this.#pending.values()) {
      if (waiting.at <= due) {
        this.#lines?.socket.destroy()
        this.#lost(new Error('the leader did not answer in time'))
        return
      }
    }
  }

  /** Every unanswered entry is in doubt: it may have been committed. */
  #lost(error: Error): void {
    this.ready = false
    this.closed = true
    clearInterval(this.#timer)
    const pending = [...this.#pending.values()]
    this.#pending.clear()
    for (const waiting of pending) waiting.reject(new Lost(error.message))
    this.#wakeDrained()
  }

  #wakeDrained(): void {
    const waiters = this.#drained
    this.#drained = []
    for (const wake of waiters) wake()
  }

  /** No new entries through this link; those sent are still answered (or lost with it). */
  retire(): void {
    this.ready = false
    if (this.#pending.size === 0) this.close()
    else this.#drained.push(() => this.close())
  }

  drain(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push(resolve))
  }

  close(): void {
    this.ready = false
    this.closed = true
    clearInterval(this.#timer)
    this.#lines?.socket.end()
    this.#lines?.socket.destroy()
  }
}
