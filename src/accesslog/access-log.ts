import type { KeyObject } from 'node:crypto'
import { GatewayError } from '../http/errors.js'
import { canonicalJson } from './canonical-json.js'
import { formatCheckpoint } from './checkpoint.js'
import { ENTRY_VERSION, type Entry, type EntryInput, MAX_LEAF_BYTES } from './entry.js'
import { leafHash } from './merkle/hash.js'
import { consistencyProof, Frontier, inclusionProof, rootHash } from './merkle/tree.js'
import { signNote, verifierKey } from './note.js'
import { formatReceipt } from './receipt.js'
import type { EntryFilter, LeafRecord, LogStore, StoredCheckpoint, TreeNode } from './store.js'

export interface LoggedEntry {
  index: number
  entry: Entry
  leaf: Buffer
}

/**
 * The access log as the rest of the gateway sees it. `append` resolves to the entry's index only once the
 * entry is durable, and rejects with ACCESS_LOG_UNAVAILABLE when it cannot be written: callers must not
 * serve anything then (fail closed).
 */
export interface AccessLog {
  append(input: EntryInput): Promise<number>
  size(): number
  get(index: number): LoggedEntry | undefined
  query(filter: EntryFilter, after: number, limit: number): LoggedEntry[]
  leaves(from: number, to: number): IterableIterator<{ index: number; leaf: Buffer }>
  latestCheckpoint(): StoredCheckpoint
  verifierKey(): string
  inclusionProof(index: number, size: number): Buffer[]
  consistencyProof(from: number, to: number): Buffer[]
  receipt(index: number): Promise<string>
  close(): Promise<void>
}

export interface TransparencyLogOptions {
  store: LogStore
  origin: string
  signingKey: KeyObject
  publicKey: KeyObject
  checkpointIntervalMs: number
  now?: () => Date
  /** Observes each committed batch (size and fsync'd commit time), for metrics. */
  onBatch?: (size: number, seconds: number) => void
}

interface Pending {
  entry: Entry
  resolve: (index: number) => void
  reject: (error: unknown) => void
}

/**
 * An RFC 9162 Merkle log with group commit. Appends arriving in the same turn of the event loop are
 * sequenced together: one transaction, one fsync. The in-memory frontier is only advanced after the store
 * has committed, so after any failure it is rebuilt from what is durable and the tree never forks.
 */
export class TransparencyLog implements AccessLog {
  readonly #store: LogStore
  readonly #origin: string
  readonly #signingKey: KeyObject
  readonly #verifierKey: string
  readonly #now: () => Date
  readonly #onBatch: ((size: number, seconds: number) => void) | undefined
  #frontier: Frontier
  #lastLeafHash: Buffer | undefined
  #pending: Pending[] = []
  #flushScheduled = false
  #checkpoint: StoredCheckpoint
  #checkpointTimer: NodeJS.Timeout
  #checkpointWaiters: Array<() => void> = []
  #closed = false

  constructor(options: TransparencyLogOptions) {
    this.#store = options.store
    this.#origin = options.origin
    this.#signingKey = options.signingKey
    this.#verifierKey = verifierKey(options.origin, options.publicKey)
    this.#now = options.now ?? (() => new Date())
    this.#onBatch = options.onBatch
    const size = this.#store.size()
    const read = (level: number, index: number) => this.#store.readNode(level, index)
    this.#frontier = new Frontier(size, read)
    this.#lastLeafHash = size > 0 ? this.#store.readNode(0, size - 1) : undefined

    // A restarted gateway must continue the tree its last checkpoint committed to; if the stored tree
    // no longer produces that root, signing anything new would publish an inconsistent history.
    const latest = this.#store.latestCheckpoint()
    if (latest) {
      if (latest.size > size) throw new Error(`log has ${size} entries but checkpoint ${latest.size} was signed`)
      if (!rootHash(latest.size, read).equals(latest.root)) {
        throw new Error(`stored tree does not match the signed checkpoint of size ${latest.size}: refusing to start`)
      }
      this.#checkpoint = latest
    } else {
      this.#checkpoint = this.#signCheckpoint()
    }
    this.#checkpointTimer = setInterval(() => this.#maybeCheckpoint(), options.checkpointIntervalMs)
    this.#checkpointTimer.unref()
  }

  append(input: EntryInput): Promise<number> {
    if (this.#closed) return Promise.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed'))
    const entry = { v: ENTRY_VERSION, time: this.#now().toISOString(), ...input } as Entry
    return new Promise((resolve, reject) => {
      this.#pending.push({ entry, resolve, reject })
      if (!this.#flushScheduled) {
        this.#flushScheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  #flush(): void {
    this.#flushScheduled = false
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 0) return
    const started = process.hrtime.bigint()
    const records: LeafRecord[] = []
    const nodes: TreeNode[] = []
    const accepted: Pending[] = []
    let previous = this.#lastLeafHash
    const base = this.#store.size()
    // Work on a copy of the frontier: it only becomes the real one once the batch is durable.
    const frontier = this.#frontier.clone()
    for (const item of batch) {
      const entry: Entry = previous ? { ...item.entry, prev: previous.toString('base64') } : item.entry
      let leaf: Buffer
      try {
        leaf = Buffer.from(canonicalJson(entry), 'utf8')
      } catch (cause) {
        // E.g. a lone surrogate from a JSON body: refuse this entry (fail closed), never the whole batch.
        item.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', 'access-log entry cannot be serialised', { cause }))
        continue
      }
      if (leaf.length > MAX_LEAF_BYTES) {
        item.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', 'access-log entry exceeds 16 KiB'))
        continue
      }
      const hash = leafHash(leaf)
      const index = base + records.length
      records.push({ index, leaf, leafHash: hash, meta: metaOf(entry) })
      nodes.push(...frontier.append(hash))
      accepted.push(item)
      previous = hash
    }
    try {
      this.#store.appendBatch(records, nodes)
    } catch (cause) {
      const error = new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log cannot be written', { cause })
      for (const item of accepted) item.reject(error)
      return
    }
    this.#frontier = frontier
    this.#lastLeafHash = previous
    this.#onBatch?.(records.length, Number(process.hrtime.bigint() - started) / 1e9)
    for (const [i, item] of accepted.entries()) item.resolve(base + i)
  }

  #maybeCheckpoint(): void {
    if (this.#frontier.size > this.#checkpoint.size) {
      try {
        this.#checkpoint = this.#signCheckpoint()
      } catch {
        return // the next tick tries again; the previous checkpoint stays valid meanwhile
      }
    }
    const waiters = this.#checkpointWaiters
    this.#checkpointWaiters = []
    for (const wake of waiters) wake()
  }

  #signCheckpoint(): StoredCheckpoint {
    const size = this.#frontier.size
    const root = this.#frontier.root()
    const text = signNote(
      formatCheckpoint({ origin: this.#origin, size, rootHash: root }),
      this.#origin,
      this.#signingKey,
    )
    const checkpoint = { size, root, text }
    this.#store.putCheckpoint(checkpoint)
    return checkpoint
  }

  size(): number {
    return this.#store.size()
  }

  get(index: number): LoggedEntry | undefined {
    const leaf = this.#store.readLeaf(index)
    return leaf ? { index, entry: JSON.parse(leaf.toString('utf8')) as Entry, leaf } : undefined
  }

  query(filter: EntryFilter, after: number, limit: number): LoggedEntry[] {
    return this.#store
      .query(filter, after, limit)
      .map(({ index, leaf }) => ({ index, leaf, entry: JSON.parse(leaf.toString('utf8')) as Entry }))
  }

  leaves(from: number, to: number): IterableIterator<{ index: number; leaf: Buffer }> {
    return this.#store.readLeaves(from, to)
  }

  latestCheckpoint(): StoredCheckpoint {
    return this.#checkpoint
  }

  verifierKey(): string {
    return this.#verifierKey
  }

  inclusionProof(index: number, size: number): Buffer[] {
    return inclusionProof(index, size, (level, i) => this.#store.readNode(level, i))
  }

  consistencyProof(from: number, to: number): Buffer[] {
    return consistencyProof(from, to, (level, i) => this.#store.readNode(level, i))
  }

  /** A receipt needs a checkpoint that covers the entry: wait for the next one (at most one interval). */
  async receipt(index: number): Promise<string> {
    while (this.#checkpoint.size <= index) {
      if (this.#closed) throw new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed')
      await new Promise<void>((resolve) => this.#checkpointWaiters.push(resolve))
    }
    const checkpoint = this.#checkpoint
    return formatReceipt({ index, proof: this.inclusionProof(index, checkpoint.size), checkpoint: checkpoint.text })
  }

  /** Commits what is queued and signs a final checkpoint, so a clean shutdown leaves nothing unsigned. */
  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#pending.length > 0) this.#flush()
    this.#closed = true
    clearInterval(this.#checkpointTimer)
    this.#maybeCheckpoint()
  }
}

function metaOf(entry: Entry): LeafRecord['meta'] {
  return {
    time: entry.time,
    actor: entry.actor?.sub,
    org: entry.actor?.org,
    court: entry.resource?.court,
    caseNo: entry.resource?.caseNo,
    grant: entry.resource?.grant,
    action: entry.action,
    decision: entry.decision,
    phase: entry.phase,
    intent: entry.intent,
  }
}

/**
 * Closes every intent that a crash left open with an `interrupted` outcome, so an auditor can tell a read
 * that never finished from one still in flight. Run once at start, before serving.
 */
export async function closeInterruptedIntents(log: AccessLog, openIntents: number[]): Promise<number> {
  const outcomes = openIntents.map((index) => {
    const intent = log.get(index)?.entry
    return log.append({
      action: intent?.action ?? 'unknown',
      ...(intent?.actor ? { actor: intent.actor } : {}),
      ...(intent?.resource ? { resource: intent.resource } : {}),
      phase: 'outcome',
      decision: intent?.decision ?? 'allow',
      intent: index,
      outcome: { result: 'interrupted' },
    })
  })
  await Promise.all(outcomes)
  return outcomes.length
}
