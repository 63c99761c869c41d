/**
 * Storage of the access log: leaves, complete-subtree hashes and signed checkpoints.
 *
 * The interface is synchronous because the embedded backend (better-sqlite3) is; every method runs in the
 * caller's turn of the event loop, so the sequencer's in-memory frontier and the store cannot interleave.
 */
export interface LeafRecord {
  index: number
  leaf: Buffer
  leafHash: Buffer
  /** Columns the auditor filters on, copied from the entry. */
  meta: LeafMeta
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

export interface LogStore {
  /** Number of leaves committed. */
  size(): number
  /**
   * Appends `leaves` (whose indexes must be exactly size(), size()+1, …) and the subtree `nodes` they
   * complete, atomically: on return all of it is durable (fsync'd); on a throw none of it was written.
   */
  appendBatch(leaves: LeafRecord[], nodes: TreeNode[]): void
  /** The hash of a complete subtree; throws if it is not stored (a corrupt or truncated log). */
  readNode(level: number, index: number): Buffer
  /** The exact leaf bytes at `index`, or undefined past the end. */
  readLeaf(index: number): Buffer | undefined
  /** Leaves [from, to) in index order, read lazily. */
  readLeaves(from: number, to: number): IterableIterator<{ index: number; leaf: Buffer }>
  /** Leaves matching `filter` with index > `after`, ascending, at most `limit`. */
  query(filter: EntryFilter, after: number, limit: number): Array<{ index: number; leaf: Buffer }>
  /** Indexes of intents that no outcome refers to (left open by a crash). */
  openIntents(): number[]
  /** Stores a signed checkpoint durably; a second one of the same size is ignored. */
  putCheckpoint(checkpoint: StoredCheckpoint): void
  /** The largest stored checkpoint, or undefined before the first. */
  latestCheckpoint(): StoredCheckpoint | undefined
}
