import type { StateChange } from '../storage/state-change.js'
import type { NodeBatchReader, NodePosition } from './merkle/tree.js'

/**
 * Storage of the access log: leaves, complete-subtree hashes and signed checkpoints.
 *
 * Every method is asynchronous, so that a backend can live on another thread or server: `appendBatch` resolves
 * once the batch is durable (the sequencer prepares the next batch meanwhile), and reads only ever see
 * committed data. A read that needs several tree nodes (a proof, the frontier) asks for them all in one
 * `readNodes` call, one round trip. The sequencer (TransparencyLog) is the only caller of `appendBatch` and keeps
 * its own speculative frontier; the store never reorders batches.
 */
export interface LeafRecord {
  index: number
  leaf: Buffer
  leafHash: Buffer
  /** Columns the auditor filters on, copied from the entry. */
  meta: LeafMeta
  /** The state change this entry records, applied in the same transaction as the leaf (see appendBatch). */
  change?: StateChange | undefined
  /**
   * For an intent: the process that will append its outcome (see LogStore.instance), when it is not the one
   * appending it (a sequencer appends for its peers). Absent: the appending process.
   */
  instance?: string | undefined
}

export interface LeafMeta {
  time: string
  actor?: string | undefined
  org?: string | undefined
  court?: string | undefined
  caseNo?: string | undefined
  grant?: string | undefined
  action: string
  decision: string
  phase: string
  intent?: number | undefined
}

export interface TreeNode {
  level: number
  index: number
  hash: Buffer
}

export interface EntryFilter {
  actor?: string
  org?: string
  court?: string
  caseNo?: string
  grant?: string
  action?: string
  decision?: string
  since?: string
  until?: string
}

export interface StoredCheckpoint {
  size: number
  root: Buffer
  text: string
}

/**
 * A batch was refused, nothing of it written, because its first index is not the committed size. When no
 * earlier batch of the same sequencer failed, another process sharing the store appended first: the
 * sequencer rebuilds its tree from the store and sequences the entries again.
 */
export class HeadMoved extends Error {
  constructor(first: number, size: number) {
    super(`append at ${first} but the log size is ${size}: another process appended first`)
    this.name = 'HeadMoved'
  }
}

/**
 * Places a batch again at `size`, the committed size, when another process sharing the store appended
 * after the batch was built: the same entries, re-chained and re-hashed onto the committed tree, whose
 * nodes `read` fetches. A store shared by several processes calls it inside the appending transaction,
 * holding the head lock, so that nothing moves between the read and the commit (see appendBatch).
 */
export type Rebase = (size: number, read: NodeBatchReader) => Promise<{ leaves: LeafRecord[]; nodes: TreeNode[] }>

/** An intent left open by a process that can no longer close it. */
export interface OrphanedIntent {
  index: number
  instance?: string | undefined
}

export interface LoggedIntent {
  org: string | null
  actor: string | null
  time: string
}

export interface LogStore {
  /** Number of leaves committed durably (never counts a batch still in flight). */
  size(): Promise<number>
  /**
   * Appends `leaves` and the subtree `nodes` they complete, and applies the state change each leaf carries
   * (in leaf order, each seeing the ones before it), as one atomic transaction: a change is durable exactly
   * when its leaf is. If the condition of a change does not hold, the whole transaction is rolled back and
   * the promise rejects with a ChangeConflict naming that leaf's index; the caller may send the other leaves
   * again. In the transaction the leaves are written before the changes and the tree nodes after them, so a
   * fault while writing either (a trigger, a full disk) undoes a change not yet made or one already made.
   * Batches may be sent
   * before the previous ones have committed (pipelining); they commit strictly in the order of the calls,
   * and a batch commits only if its first index is exactly the number of leaves committed before it — so
   * when a batch fails, every batch sent after it that was built on top of it is refused as well, and the
   * log never has a gap.
   *
   * The promise resolves only once the whole batch is durable (committed with synchronous=FULL, i.e.
   * fsync'd) and visible to the read methods. It rejects when the batch was refused or its outcome is
   * unknown (e.g. the writer thread died): then nothing of it may be assumed written, and the caller must
   * rebuild its state from what `size()` and `readNodes` report — after a lost writer, `size()` re-reads
   * the committed size, which may include the lost batch.
   *
   * A store that other processes append to may, when it finds the committed size past the batch's first
   * index (they appended first), commit what `rebase` returns instead of refusing the batch with HeadMoved.
   * The batches sent after it then start below the committed size and are rebased too. A store no other
   * process writes to ignores `rebase`.
   */
  appendBatch(leaves: LeafRecord[], nodes: TreeNode[], rebase?: Rebase): Promise<void>
  /**
   * Resolves when the next batch could be written now (the write lock can be taken, the writer runs),
   * writing nothing; rejects otherwise. For readiness checks: it waits behind batches already sent.
   */
  probe(): Promise<void>
  /**
   * The hashes of the complete subtrees at `positions`, in that order, in one round trip; rejects if any is
   * not stored (a corrupt or truncated log).
   */
  readNodes(positions: NodePosition[]): Promise<Buffer[]>
  /** The exact leaf bytes at `index`, or undefined past the end. */
  readLeaf(index: number): Promise<Buffer | undefined>
  /** Leaves [from, to) in index order, read lazily a page at a time. */
  readLeaves(from: number, to: number): AsyncIterable<{ index: number; leaf: Buffer }>
  /** Leaves matching `filter` with index > `after`, ascending, at most `limit`. */
  query(filter: EntryFilter, after: number, limit: number): Promise<Array<{ index: number; leaf: Buffer }>>
  /** Indexes of intents that no outcome refers to (left open by a crash or a failed append). */
  openIntents(): Promise<number[]>
  /**
   * This process's name among the processes sharing the store, unique to this opening of it: every intent it
   * appends is recorded as its own until an outcome closes it (see `orphanedIntents`).
   */
  readonly instance: string
  /**
   * Holds or extends this process's lease until `now + ttlMs` (by the caller's clock), and forgets the
   * expired leases of processes that left no intent open. A process whose lease has expired is presumed
   * dead: its peers close its intents (see `orphanedIntents`).
   */
  renewLease(now: Date, ttlMs: number): Promise<void>
  /** Gives up the lease: what this process leaves open is at once another process's to close. */
  releaseLease(): Promise<void>
  /**
   * The open intents no live process will close: those of processes whose lease has expired at `now` (or
   * that never held one, such as an earlier opening of a single-process store), never this process's own.
   * Each with the instance that appended it, when the store knows it.
   */
  orphanedIntents(now: Date): Promise<OrphanedIntent[]>
  /**
   * The people (org and sub) and times of the allowed intents of `action` logged at or after `since` (an ISO
   * time), newest first: what a restarted quota counter starts from.
   */
  allowedIntentsSince(action: string, since: string): Promise<LoggedIntent[]>
  /** Stores a signed checkpoint durably; a second one of the same size is ignored. */
  putCheckpoint(checkpoint: StoredCheckpoint): Promise<void>
  /** The largest stored checkpoint, or undefined before the first. */
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>
  /**
   * Waits for the batches already sent and stops the write path (a writer thread, if any); later appends
   * reject. Reads keep working as long as the caller's database connection is open.
   */
  close(): Promise<void>
}
