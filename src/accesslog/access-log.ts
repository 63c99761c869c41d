import type { KeyObject } from 'node:crypto'
import { GatewayError } from '../http/errors.js'
import { canonicalJson } from './canonical-json.js'
import { formatCheckpoint } from './checkpoint.js'
import { ENTRY_VERSION, type Entry, type EntryInput, MAX_LEAF_BYTES } from './entry.js'
import { leafHash } from './merkle/hash.js'
import { consistencyProof, Frontier, inclusionProof, type NodeBatchReader, rootHash, withNodes } from './merkle/tree.js'
import { signNote, verifierKey } from './note.js'
import { closeInterruptedIntents } from './intent-leases.js'
import { formatReceipt } from './receipt.js'
import { ChangeConflict, type StateChange } from '../storage/state-change.js'
import {
  type EntryFilter,
  HeadMoved,
  type LeafRecord,
  type LogStore,
  type Rebase,
  type StoredCheckpoint,
  type TreeNode,
} from './store.js'

export interface LoggedEntry {
  index: number
  entry: Entry
  leaf: Buffer
}

/**
 * The access log as the rest of the gateway sees it. `append` resolves to the entry's index only once the
 * entry is durable, and rejects with ACCESS_LOG_UNAVAILABLE when it cannot be written: callers must not
 * serve anything then (fail closed).
 *
 * A change of state is made only through `append(entry, change)`: the change is applied in the same
 * transaction as the entry that records it, so both are durable or neither is in force. When it resolves,
 * both are durable and visible to reads. When it rejects with a ChangeConflict (the change's condition did
 * not hold), neither was written. When it rejects with ACCESS_LOG_UNAVAILABLE, neither was written — except
 * if the store was lost after committing, when both were (the caller cannot tell which, but never only one).
 */
export interface AccessLog {
  append(input: EntryInput, change?: StateChange): Promise<number>
  /** Entries durably committed, as this process knows it (no round trip). */
  size(): number
  /**
   * Whether an append could be made durable now (the log is open and its store can take the write lock),
   * writing nothing: what readiness reports.
   */
  writable(): Promise<boolean>
  get(index: number): Promise<LoggedEntry | undefined>
  query(filter: EntryFilter, after: number, limit: number): Promise<LoggedEntry[]>
  leaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }>
  /** The latest signed checkpoint, as this process knows it (no round trip). */
  latestCheckpoint(): StoredCheckpoint
  verifierKey(): string
  inclusionProof(index: number, size: number): Promise<Buffer[]>
  consistencyProof(from: number, to: number): Promise<Buffer[]>
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
  /**
   * Called for each state change once the store has answered for the entry carrying it — committed, refused,
   * or lost with an unknown outcome — and before the change's caller hears of it: what may have changed is
   * dropped from memory (StateCache) before anyone is told it has.
   */
  onChangeSettled?: (change: StateChange) => void
}

interface Pending {
  entry: Entry
  change: StateChange | undefined
  /** The process whose intent this is, when it forwarded it here (see sequencer.ts). */
  instance: string | undefined
  resolve: (index: number) => void
  reject: (error: unknown) => void
}

/** Runs `then` once every one of `items` is resolved or rejected (at once when there are none). */
function afterAll(items: Pending[], then: () => void): void {
  let left = items.length
  if (left === 0) {
    then()
    return
  }
  const settled = () => {
    if (--left === 0) then()
  }
  for (const item of items) {
    const { resolve, reject } = item
    item.resolve = (index) => {
      resolve(index)
      settled()
    }
    item.reject = (error) => {
      reject(error)
      settled()
    }
  }
}

/** A batch serialised, hashed and placed in the tree, not yet known to be durable. */
interface Prepared {
  records: LeafRecord[]
  nodes: TreeNode[]
  items: Pending[]
  /** The frontier once this batch (and every one before it) is in the tree. */
  frontier: Frontier
  epoch: number
  started: bigint
  /** Sequenced again on a tree another process had extended (see #rebaser). */
  rebased?: boolean
}

/**
 * Batches sent to the store and not yet answered. Two: the store always has the next batch queued when it
 * finishes one (the main thread may be busy preparing when the answer arrives); the batches prepared while
 * both are in flight are sent together as one transaction, so batches stay large.
 */
const MAX_IN_FLIGHT = 2

/**
 * Entries prepared as one batch before it is handed to the store: a flush of many appends is split so that
 * the store commits the first part while the next is prepared. (At 256 appenders, 128 gave the most appends
 * per second: two alternating batches of 128; smaller slices mean more commits, larger ones no overlap.)
 */
const PREPARE_SLICE = 128

/**
 * An RFC 9162 Merkle log with group commit. Appends arriving in the same turn of the event loop are
 * sequenced together: one transaction, one fsync. Batches are pipelined: the next batch is serialised,
 * hashed and placed in a speculative copy of the tree (the tip) while the store commits the previous one,
 * and the batches prepared meanwhile are committed together as soon as it is done, strictly in order.
 * The durable frontier (what size(), checkpoints and proofs use) only advances once the store reports a
 * batch durable. When a batch fails, it and every batch built on top of it are refused, and the tree is
 * rebuilt from what the store reports durable before anything else is sequenced, so it never forks.
 */
export class TransparencyLog implements AccessLog {
  readonly #store: LogStore
  readonly #origin: string
  readonly #signingKey: KeyObject
  readonly #verifierKey: string
  readonly #now: () => Date
  readonly #onBatch: ((size: number, seconds: number) => void) | undefined
  readonly #onChangeSettled: ((change: StateChange) => void) | undefined
  /** The tree of durable entries. */
  #durable: Frontier
  /** The tree including every prepared batch (durable or not), and the hash of its last leaf. */
  #tip: Frontier
  #tipLeafHash: Buffer | undefined
  /** Bumped on every failure: answers for batches of an older epoch never advance the tree. */
  #epoch = 0
  /** Set after a failure: the tip must be rebuilt from the store before the next batch. */
  #stale = false
  /**
   * The epoch that ended with a ChangeConflict or a HeadMoved: its batches failed only because of one entry
   * or because another process appended first, so the other entries of those batches are sequenced again
   * rather than refused.
   */
  #retryEpoch: number | undefined
  #pending: Pending[] = []
  #flushScheduled = false
  #unsent: Prepared[] = []
  #inFlight = 0
  #drainWaiters: Array<() => void> = []
  #checkpoint: StoredCheckpoint
  #checkpointTimer: NodeJS.Timeout
  #checkpointWaiters: Array<() => void> = []
  #checkpointing: Promise<void> | undefined
  #resyncing = false
  /** Intents and outcomes of batches the store failed to answer for: maybe committed (see #closeInDoubt). */
  #inDoubt: LeafRecord[] = []
  /** Intents to close as interrupted whose closing failed: tried again after the next resync. */
  #toClose: number[] = []
  #settling: Promise<void> | undefined
  #closed = false
  #closing: Promise<void> | undefined

  /**
   * Opens the log on what `options.store` holds. A restarted gateway must continue the tree its last
   * checkpoint committed to: if the stored tree no longer produces that root, signing anything new would
   * publish an inconsistent history, so it refuses to start.
   */
  static async open(options: TransparencyLogOptions): Promise<TransparencyLog> {
    const { store } = options
    const size = await store.size()
    const latest = await store.latestCheckpoint()
    if (latest && latest.size > size)
      throw new Error(`log has ${size} entries but checkpoint ${latest.size} was signed`)
    const { tree, checkpointRoot } = await withNodes(nodeReader(store), (read) => ({
      tree: loadTree(size, read),
      checkpointRoot: latest ? rootHash(latest.size, read) : undefined,
    }))
    if (latest && !checkpointRoot!.equals(latest.root)) {
      throw new Error(`stored tree does not match the signed checkpoint of size ${latest.size}: refusing to start`)
    }
    const log = new TransparencyLog(options, tree, latest)
    if (!latest) log.#checkpoint = await log.#signCheckpoint()
    return log
  }

  private constructor(options: TransparencyLogOptions, tree: LoadedTree, checkpoint: StoredCheckpoint | undefined) {
    this.#store = options.store
    this.#origin = options.origin
    this.#signingKey = options.signingKey
    this.#verifierKey = verifierKey(options.origin, options.publicKey)
    this.#now = options.now ?? (() => new Date())
    this.#onBatch = options.onBatch
    this.#onChangeSettled = options.onChangeSettled
    this.#durable = tree.frontier
    this.#tip = tree.frontier
    this.#tipLeafHash = tree.lastLeafHash
    // Replaced by the first checkpoint in open() when none is stored yet.
    this.#checkpoint = checkpoint ?? { size: -1, root: Buffer.alloc(0), text: '' }
    this.#checkpointTimer = setInterval(() => void this.#maybeCheckpoint(), options.checkpointIntervalMs)
    this.#checkpointTimer.unref()
  }

  /**
   * `instance`: the process an intent belongs to when another process forwarded it here (see sequencer.ts),
   * which then appends its outcome; by default this one.
   */
  append(input: EntryInput, change?: StateChange, instance?: string): Promise<number> {
    if (this.#closed) return Promise.reject(new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed'))
    const entry = { v: ENTRY_VERSION, time: this.#now().toISOString(), ...input } as Entry
    return new Promise((resolve, reject) => {
      this.#pending.push({ entry, change, instance, resolve, reject })
      this.#scheduleFlush()
    })
  }

  #scheduleFlush(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => this.#flush())
    }
  }

  /** Prepares what is queued as the next batch on top of the tip, and hands it to the committer. */
  #flush(): void {
    this.#flushScheduled = false
    if (this.#pending.length === 0) return
    if (this.#stale) {
      // Rebuild only once nothing is in flight: the store's durable size is then final.
      if (this.#inFlight > 0 || this.#resyncing) return // #settled() or the resync flushes again
      this.#resyncing = true
      void this.#resync().then((ok) => {
        this.#resyncing = false
        if (!ok) {
          const batch = this.#pending
          this.#pending = []
          const error = new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log cannot be read back')
          for (const item of batch) {
            item.reject(error)
            this.#outcomeRefused(item.entry)
          }
        }
        this.#flush()
        this.#wakeDrainWaiters()
      })
      return
    }
    const batch = this.#pending
    this.#pending = []
    // In slices: the first goes to the store at once (when it is idle), so that it commits while the rest
    // is prepared; the slices prepared meanwhile then commit together.
    for (let from = 0; from < batch.length; from += PREPARE_SLICE) {
      this.#prepare(from === 0 && batch.length <= PREPARE_SLICE ? batch : batch.slice(from, from + PREPARE_SLICE))
    }
    this.#wakeDrainWaiters()
  }

  /** Serialises and hashes `items` onto the tip, and hands the batch to the committer. */
  #prepare(items: Pending[]): void {
    const started = process.hrtime.bigint()
    const records: LeafRecord[] = []
    const nodes: TreeNode[] = []
    const accepted: Pending[] = []
    let previous = this.#tipLeafHash
    const base = this.#tip.size
    // Work on a copy of the tip: each prepared batch keeps its own frontier, which becomes the durable one
    // once the batch is.
    const frontier = this.#tip.clone()
    for (const item of items) {
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
      records.push({ index, leaf, leafHash: hash, meta: metaOf(entry), change: item.change, instance: item.instance })
      for (const node of frontier.append(hash)) nodes.push(node)
      accepted.push(item)
      previous = hash
    }
    if (records.length === 0) return
    this.#tip = frontier
    this.#tipLeafHash = previous
    this.#unsent.push({ records, nodes, items: accepted, frontier, epoch: this.#epoch, started })
    this.#send()
  }

  /** Sends every prepared batch as one transaction, unless the store is still committing the previous. */
  #send(): void {
    if (this.#inFlight >= MAX_IN_FLIGHT || this.#unsent.length === 0) return
    const group = this.#unsent
    this.#unsent = []
    const records = group.length === 1 ? group[0]!.records : group.flatMap((batch) => batch.records)
    const nodes = group.length === 1 ? group[0]!.nodes : group.flatMap((batch) => batch.nodes)
    this.#inFlight++
    let committing: Promise<void>
    try {
      committing = this.#store.appendBatch(records, nodes, this.#rebaser(group))
    } catch (cause) {
      committing = Promise.reject(cause)
    }
    committing.then(
      () => this.#settled(group, undefined),
      (cause: unknown) => this.#settled(group, cause ?? new Error('append failed')),
    )
  }

  /**
   * Sequences `group` again on the committed tree of `size` leaves (another process appended first): each
   * entry gets its new `prev`, hash and index, and each batch of the group its new frontier, which becomes
   * the durable tree once the store commits. Called by the store holding the head lock, so the committed
   * tree cannot move before the batch commits; and at most once per group, before it commits.
   */
  #rebaser(group: Prepared[]): Rebase {
    return async (size, read) => {
      if (group[0]!.epoch !== this.#epoch) throw new Error('a batch this one was built on was refused')
      const tree = await withNodes(read, (reader) => loadTree(size, reader))
      let frontier = tree.frontier
      let previous = tree.lastLeafHash
      for (const batch of group) {
        frontier = frontier.clone()
        const nodes: TreeNode[] = []
        const records = batch.items.map((item, i): LeafRecord => {
          const entry: Entry = previous ? { ...item.entry, prev: previous.toString('base64') } : item.entry
          const leaf = Buffer.from(canonicalJson(entry), 'utf8')
          // Only a batch first built at index 0 (no prev then) can grow here, by the prev it now gets.
          if (leaf.length > MAX_LEAF_BYTES)
            throw new GatewayError('ACCESS_LOG_UNAVAILABLE', 'access-log entry exceeds 16 KiB')
          const hash = leafHash(leaf)
          for (const node of frontier.append(hash)) nodes.push(node)
          previous = hash
          const meta = batch.records[i]!.meta
          return { index: frontier.size - 1, leaf, leafHash: hash, meta, change: item.change, instance: item.instance }
        })
        batch.records = records
        batch.nodes = nodes
        batch.frontier = frontier
        batch.rebased = true
      }
      return {
        leaves: group.length === 1 ? group[0]!.records : group.flatMap((batch) => batch.records),
        nodes: group.length === 1 ? group[0]!.nodes : group.flatMap((batch) => batch.nodes),
      }
    }
  }

  #settled(group: Prepared[], failure: unknown): void {
    this.#inFlight--
    // Whatever the answer, a change it carried may now be in force (or, lost, may be): memory forgets it first.
    if (this.#onChangeSettled) {
      for (const batch of group) {
        for (const record of batch.records) if (record.change) this.#onChangeSettled(record.change)
      }
    }
    const current = group[0]!.epoch === this.#epoch
    if (failure === undefined && current) {
      const last = group[group.length - 1]!
      this.#durable = last.frontier
      // Rebased: the tip (and what is prepared on it) is behind the committed tree. With nothing else
      // prepared, the tip is the durable tree again; otherwise those batches are rebased in their turn.
      if (last.rebased && this.#inFlight === 0 && this.#unsent.length === 0) {
        this.#tip = last.frontier
        this.#tipLeafHash = last.records[last.records.length - 1]!.leafHash
      }
      // Send what was prepared meanwhile before waking the callers: the store starts on it at once.
      this.#send()
      const records = group.reduce((sum, batch) => sum + batch.records.length, 0)
      this.#onBatch?.(records, Number(process.hrtime.bigint() - group[0]!.started) / 1e9)
      for (const batch of group) {
        const base = batch.frontier.size - batch.records.length
        for (const [i, item] of batch.items.entries()) item.resolve(base + i)
      }
    } else {
      // Every batch prepared on top of this one is refused too; the tip is rebuilt from the store. (A
      // success of an older epoch cannot happen — the store refuses a batch that does not start at its
      // size — but would only mean a resync, never a fork.)
      const neverSent = current ? this.#unsent : []
      const refused = [...group, ...neverSent]
      if (current) this.#unsent = []
      const conflicting = current && failure instanceof ChangeConflict ? itemAt(group, failure.index) : undefined
      // Another process appended first: nothing of this batch was written, all of it is sequenced again.
      const moved = current && failure instanceof HeadMoved
      if (current) this.#retryEpoch = conflicting || moved ? group[0]!.epoch : undefined
      const retry = conflicting !== undefined || moved || (!current && group[0]!.epoch === this.#retryEpoch)
      this.#epoch++
      this.#stale = true
      const error = new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log cannot be written', {
        cause: failure ?? new Error('a batch committed after an earlier one failed'),
      })
      const again: Pending[] = []
      for (const batch of refused) {
        for (const item of batch.items) {
          if (item === conflicting) continue
          if (retry) again.push(item)
          else item.reject(error)
        }
      }
      // A store that failed to answer may still have committed (a COMMIT whose reply was lost): the intents
      // it was sent are in doubt until the store is read back (see #closeInDoubt). A conflict or a moved head
      // is a definite refusal; batches never sent are not in doubt.
      if (!retry) {
        for (const batch of group)
          for (const record of batch.records) if (record.meta.phase !== 'event') this.#inDoubt.push(record)
        for (const batch of neverSent) for (const item of batch.items) this.#outcomeRefused(item.entry)
      }
      // The change it conflicted with may be one of those sequenced again (an earlier entry of the same
      // batch): its caller hears of the conflict once they are settled, so that what it then reads shows it.
      if (conflicting) afterAll(again, () => conflicting.reject(failure))
      // Only one entry's change conflicted: the others are sequenced again, ahead of newer appends.
      if (again.length > 0) this.#pending = [...again, ...this.#pending]
    }
    if (this.#pending.length > 0) this.#scheduleFlush()
    this.#wakeDrainWaiters()
  }

  /** Rebuilds the tip (and the durable tree) from what the store holds durably. */
  async #resync(): Promise<boolean> {
    try {
      const size = await this.#store.size()
      if (size < this.#durable.size) throw new Error(`the store lost entries: ${size} < ${this.#durable.size}`)
      const tree = await withNodes(nodeReader(this.#store), (read) => loadTree(size, read))
      this.#tipLeafHash = tree.lastLeafHash
      this.#durable = tree.frontier
      this.#tip = tree.frontier
      this.#stale = false
      if (this.#hasDoubts()) void this.#settleDoubts(size)
      return true
    } catch {
      return false
    }
  }

  #hasDoubts(): boolean {
    return this.#inDoubt.length > 0 || this.#toClose.length > 0
  }

  /**
   * One #closeInDoubt at a time: after a read-back, and again at each checkpoint tick while some are left, since
   * a store that answers again needs no read-back, and what failed to settle (the store failing once more just
   * after it came back) would otherwise wait for the next failure, its intents open meanwhile.
   */
  #settleDoubts(size: number): Promise<void> {
    this.#settling ??= this.#closeInDoubt(size).finally(() => {
      this.#settling = undefined
    })
    return this.#settling
  }

  /** An outcome refused before it reached the store leaves its intent open: it is closed after a read-back. */
  #outcomeRefused(entry: Entry): void {
    if (entry.phase === 'outcome' && entry.intent !== undefined) this.#toClose.push(entry.intent)
  }

  /**
   * Settles what a store that failed to answer may or may not have committed, once the log is read back:
   * - an intent refused to its caller (nothing was served for it) but committed all the same — the leaf at its
   *   index is its own — is closed as interrupted;
   * - an outcome refused and not committed leaves its intent open: that intent is closed as interrupted.
   * Without this such intents would stay open while this process lives, since peers leave a live process's
   * intents alone (see IntentLeases). Only intents the store reports still open are closed, so none gets a
   * second outcome; what cannot be settled now (the store failing again) is tried after the next resync.
   */
  async #closeInDoubt(size: number): Promise<void> {
    const records = this.#inDoubt
    const retried = this.#toClose
    this.#inDoubt = []
    this.#toClose = []
    const toClose = new Set(retried)
    try {
      // Nothing at or beyond `size` was committed when it was read. (Read at a later tick, an index at or beyond
      // the size at the failure may hold a later entry: its leaf hash, chained to its predecessor, differs.)
      const candidates = records.filter((record) => record.index < size)
      const hashes = await this.#store.readNodes(candidates.map((record) => ({ level: 0, index: record.index })))
      const committed = new Set(candidates.filter((record, i) => hashes[i]!.equals(record.leafHash)))
      for (const record of records) {
        if (record.meta.phase === 'intent' && committed.has(record)) toClose.add(record.index)
        if (record.meta.phase === 'outcome' && !committed.has(record) && record.meta.intent !== undefined)
          toClose.add(record.meta.intent)
      }
      if (toClose.size === 0) return
      const open = new Set(await this.#store.openIntents())
      for (const index of toClose) if (!open.has(index)) toClose.delete(index)
    } catch {
      this.#inDoubt.push(...records)
      this.#toClose.push(...retried)
      return
    }
    // Each on its own, so that only those not closed are tried again.
    await Promise.all(
      [...toClose].map((index) =>
        closeInterruptedIntents(this, [{ index }]).catch(() => {
          this.#toClose.push(index)
        }),
      ),
    )
  }

  /**
   * Learns of what other gateway processes on the same store appended. A process that only serves (proofs,
   * checkpoints, exports) would otherwise keep the size it last appended at, and refuse proofs up to sizes
   * its peers already signed. Only when idle: a batch in flight would be built on the tip being replaced.
   */
  async #catchUp(): Promise<void> {
    if (!this.#idle()) return
    let size: number
    try {
      size = await this.#store.size()
    } catch {
      return // the next tick tries again
    }
    // Also when stale (a batch refused with nothing left to sequence again), so that the tree is rebuilt now.
    if ((size <= this.#durable.size && !this.#stale) || !this.#idle()) return
    // As after a HeadMoved: appends arriving meanwhile wait in #pending until the tip is rebuilt.
    this.#stale = true
    this.#resyncing = true
    await this.#resync()
    this.#resyncing = false
    this.#flush()
    this.#wakeDrainWaiters()
  }

  #idle(): boolean {
    return this.#pending.length === 0 && this.#unsent.length === 0 && this.#inFlight === 0 && !this.#resyncing
  }

  #wakeDrainWaiters(): void {
    if (!this.#idle()) return
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const wake of waiters) wake()
  }

  /** One signing at a time, so checkpoints are stored in increasing size. */
  #maybeCheckpoint(): Promise<void> {
    this.#checkpointing ??= this.#checkpointOnce().finally(() => {
      this.#checkpointing = undefined
    })
    return this.#checkpointing
  }

  async #checkpointOnce(): Promise<void> {
    await this.#catchUp()
    // Not awaited: settling talks to a store that has just failed, and a slow answer there must not hold back
    // checkpoints, the receipts that wait for them, or close().
    if (this.#hasDoubts() && !this.#stale) void this.#settleDoubts(this.#durable.size)
    if (this.#durable.size > this.#checkpoint.size) {
      try {
        this.#checkpoint = await this.#signCheckpoint()
      } catch {
        return // the next tick tries again; the previous checkpoint stays valid meanwhile
      }
    }
    const waiters = this.#checkpointWaiters
    this.#checkpointWaiters = []
    for (const wake of waiters) wake()
  }

  /** Signs the durable tree: a checkpoint never covers an entry that is not committed. */
  async #signCheckpoint(): Promise<StoredCheckpoint> {
    const size = this.#durable.size
    const root = this.#durable.root()
    const text = signNote(
      formatCheckpoint({ origin: this.#origin, size, rootHash: root }),
      this.#origin,
      this.#signingKey,
    )
    const checkpoint = { size, root, text }
    // Stored before it is served: a checkpoint handed out is one a restart continues from.
    await this.#store.putCheckpoint(checkpoint)
    return checkpoint
  }

  /** Entries durably committed (an append in flight is not counted until it has resolved). */
  size(): number {
    return this.#durable.size
  }

  async writable(): Promise<boolean> {
    if (this.#closed) return false
    try {
      await this.#store.probe()
      return true
    } catch {
      return false
    }
  }

  async get(index: number): Promise<LoggedEntry | undefined> {
    const leaf = await this.#store.readLeaf(index)
    return leaf ? { index, entry: JSON.parse(leaf.toString('utf8')) as Entry, leaf } : undefined
  }

  async query(filter: EntryFilter, after: number, limit: number): Promise<LoggedEntry[]> {
    const rows = await this.#store.query(filter, after, limit)
    return rows.map(({ index, leaf }) => ({ index, leaf, entry: JSON.parse(leaf.toString('utf8')) as Entry }))
  }

  leaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }> {
    return this.#store.readLeaves(from, to)
  }

  latestCheckpoint(): StoredCheckpoint {
    return this.#checkpoint
  }

  verifierKey(): string {
    return this.#verifierKey
  }

  /** One round trip to the store (see withNodes). */
  inclusionProof(index: number, size: number): Promise<Buffer[]> {
    return withNodes(nodeReader(this.#store), (read) => inclusionProof(index, size, read))
  }

  /** One round trip to the store (see withNodes). */
  consistencyProof(from: number, to: number): Promise<Buffer[]> {
    return withNodes(nodeReader(this.#store), (read) => consistencyProof(from, to, read))
  }

  /** A receipt needs a checkpoint that covers the entry: wait for the next one (at most one interval). */
  async receipt(index: number): Promise<string> {
    while (this.#checkpoint.size <= index) {
      if (this.#closed) throw new GatewayError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed')
      await new Promise<void>((resolve) => this.#checkpointWaiters.push(resolve))
    }
    const checkpoint = this.#checkpoint
    const proof = await this.inclusionProof(index, checkpoint.size)
    return formatReceipt({ index, proof, checkpoint: checkpoint.text })
  }

  /**
   * Commits what is queued, waits for every batch in flight, signs a final checkpoint (so a clean shutdown
   * leaves nothing unsigned) and closes the store's write path.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true
      if (this.#pending.length > 0) this.#flush()
      if (!this.#idle()) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve))
      clearInterval(this.#checkpointTimer)
      await this.#checkpointing
      await this.#maybeCheckpoint()
      await this.#store.close()
    })()
    return this.#closing
  }
}

interface LoadedTree {
  frontier: Frontier
  lastLeafHash: Buffer | undefined
}

/** The durable tree of `size` leaves: its right edge and its last leaf's hash (the next entry's `prev`). */
function loadTree(size: number, read: (level: number, index: number) => Buffer): LoadedTree {
  return { frontier: new Frontier(size, read), lastLeafHash: size > 0 ? read(0, size - 1) : undefined }
}

function nodeReader(store: LogStore): NodeBatchReader {
  return (positions) => store.readNodes(positions)
}

/** The item of `group` whose entry was sequenced at `index`. */
function itemAt(group: Prepared[], index: number): Pending | undefined {
  for (const batch of group) {
    const base = batch.frontier.size - batch.records.length
    if (index >= base && index < batch.frontier.size) return batch.items[index - base]
  }
  return undefined
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
