/**
 * RFC 9162 Merkle tree math over stored complete subtrees (https://www.rfc-editor.org/rfc/rfc9162#section-2.1).
 *
 * Storage keeps only *complete* subtree nodes: node (level, index) is MTH of leaves
 * [index·2^level, (index+1)·2^level), written once when its last leaf arrives and never changed again, so the
 * store stays append-only. Nodes on the incomplete right edge of a tree of size n are never stored; they are
 * recomputed from the O(log n) complete nodes that cover them (the bits of n give their sizes).
 *
 * The math never touches storage: callers pass a synchronous {@link NodeReader}.
 *
 * Indexes and sizes are plain numbers, valid up to Number.MAX_SAFE_INTEGER (2^53 − 1). Bit tests use division
 * and `%`, never the 32-bit `<<` / `>>` / `&` operators, which would silently wrap above 2^31.
 */
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js'

/**
 * Returns the stored hash of complete node (level, index). Must throw if it is missing: a missing node means
 * the store is inconsistent, and a made-up hash would yield a proof that fails far from the cause.
 */
export type NodeReader = (level: number, index: number) => Buffer

/** A complete subtree node, as handed to storage. */
export interface TreeNode {
  level: number
  index: number
  hash: Buffer
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function checkCount(name: string, n: number): void {
  if (!isCount(n)) throw new RangeError(`${name} must be an integer from 0 to 2^53 - 1, got ${String(n)}`)
}

function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_SIZE
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/** Whether bit `level` of n is set, without 32-bit operators. */
function bitSet(n: number, level: number): boolean {
  return Math.floor(n / 2 ** level) % 2 === 1
}

/** k = the largest power of two strictly less than n (n >= 2): RFC 9162's split point. */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function isPowerOfTwo(n: number): boolean {
  let p = 1
  while (p < n) p *= 2
  return p === n
}

/**
 * MTH(D[start:end]) from stored complete nodes.
 *
 * Precondition (true of every subtree RFC 9162's recursion produces, and of [0, n)): `start` is a multiple of
 * the smallest power of two >= end − start. The range then splits greedily, left to right, into complete
 * nodes of strictly decreasing size, one per set bit of (end − start), and folding them right to left is
 * exactly the MTH recursion (its left half is always the largest complete power of two). O(log n) reads.
 */
function rangeHash(start: number, end: number, read: NodeReader): Buffer {
  if (end <= start) return EMPTY_ROOT
  const parts: Buffer[] = []
  let pos = start
  while (pos < end) {
    let level = 0
    let width = 1
    while (pos % (width * 2) === 0 && pos + width * 2 <= end) {
      width *= 2
      level++
    }
    parts.push(read(level, pos / width))
    pos += width
  }
  let acc = parts[parts.length - 1]!
  for (let i = parts.length - 2; i >= 0; i--) acc = nodeHash(parts[i]!, acc)
  return acc
}

/** MTH of the first `size` leaves (RFC 9162 §2.1.1). Reads at most one node per set bit of size. */
export function rootHash(size: number, read: NodeReader): Buffer {
  checkCount('size', size)
  return rangeHash(0, size, read)
}

/**
 * PATH(m, D[start:start+n]) from RFC 9162 §2.1.3.1, appended leaf-side first.
 *
 * Along the path, only the first step to the left can have an incomplete sibling (the right edge); below it
 * everything is complete. So one sibling costs O(log n) reads and every other sibling one read: O(log n).
 */
function path(m: number, start: number, n: number, read: NodeReader, out: Buffer[]): void {
  if (n <= 1) return
  const k = splitPoint(n)
  if (m < k) {
    path(m, start, k, read, out)
    out.push(rangeHash(start + k, start + n, read))
  } else {
    path(m - k, start + k, n - k, read, out)
    out.push(rangeHash(start, start + k, read))
  }
}

/**
 * The RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size` leaves, ordered from
 * the leaf's sibling up to the root's child (the order RFC 6962, RFC 9162 and c2sp.org/tlog-proof use).
 *
 * Throws RangeError unless 0 <= index < size (as transparency-dev/merkle `proof.Inclusion`).
 */
export function inclusionProof(index: number, size: number, read: NodeReader): Buffer[] {
  checkCount('index', index)
  checkCount('size', size)
  if (index >= size) throw new RangeError(`index ${index} is not in a tree of size ${size}`)
  const out: Buffer[] = []
  path(index, 0, size, read, out)
  return out
}

/** SUBPROOF(m, D[start:start+n], b) from RFC 9162 §2.1.4.1. */
function subproof(m: number, start: number, n: number, b: boolean, read: NodeReader, out: Buffer[]): void {
  if (m === n) {
    // Reached only after a step into a left (hence complete) subtree when m < n initially: one read.
    if (!b) out.push(rangeHash(start, start + n, read))
    return
  }
  const k = splitPoint(n)
  if (m <= k) {
    subproof(m, start, k, b, read, out)
    out.push(rangeHash(start + k, start + n, read))
  } else {
    subproof(m - k, start + k, n - k, false, read, out)
    out.push(rangeHash(start, start + k, read))
  }
}

/**
 * The RFC 9162 §2.1.4.1 consistency proof from the tree of size `from` to the tree of size `to`.
 *
 * Semantics follow transparency-dev/merkle `proof.Consistency` (and its verifier): RangeError when
 * from > to, and when from == 0, because a proof from the empty tree proves nothing and every conforming
 * verifier rejects it; from == to gives an empty proof. O(log n) reads.
 */
export function consistencyProof(from: number, to: number, read: NodeReader): Buffer[] {
  checkCount('from', from)
  checkCount('to', to)
  if (from > to) throw new RangeError(`from (${from}) is greater than to (${to})`)
  if (from === 0) throw new RangeError('a consistency proof from the empty tree (from = 0) is meaningless')
  const out: Buffer[] = []
  subproof(from, 0, to, true, read, out)
  return out
}

/**
 * RFC 9162 §2.1.3.2. Returns false, never throws, on any bad input: a wrong-length leaf hash, root or proof
 * element, an index outside [0, size), or a proof of the wrong length (the algorithm's `sn` checks reject
 * both extra and missing elements).
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isCount(index) || !isCount(size) || index >= size) return false
  if (!isHash(leafHash) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false
  let fn = index
  let sn = size - 1
  let r: Uint8Array = leafHash
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(r, root)
}

/**
 * RFC 9162 §2.1.4.2, with transparency-dev/merkle's edge cases: from == 0 is rejected (meaningless),
 * from == to needs an empty proof and byte-equal roots (no length check there, as upstream), from > to is
 * rejected. Returns false, never throws.
 */
export function verifyConsistency(
  from: number,
  to: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (!isCount(from) || !isCount(to) || from > to || from === 0 || !Array.isArray(proof)) return false
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false
  if (from === to) return proof.length === 0 && bytesEqual(root1, root2)
  if (proof.length === 0 || !proof.every(isHash) || !isHash(root1) || !isHash(root2)) return false

  // When `from` is a power of two its root is itself a node of the larger tree, so the proof omits it.
  const chain: readonly Uint8Array[] = isPowerOfTwo(from) ? [root1, ...proof] : proof
  let fn = from - 1
  let sn = to - 1
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2
    sn = Math.floor(sn / 2)
  }
  let fr: Uint8Array = chain[0]!
  let sr: Uint8Array = chain[0]!
  for (let i = 1; i < chain.length; i++) {
    const c = chain[i]!
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2)
}

/**
 * The compact range [0, size): the complete subtrees on the tree's right edge, one per set bit of size.
 * Appending a leaf merges equal-sized neighbours like a binary counter's carry, so an append is amortised
 * O(1) hashes and the root costs O(log n) hashes with no reads. Invariant: `#nodes[level]` is present iff
 * bit `level` of `#size` is set, and then holds node (level, floor(size / 2^level) − 1).
 */
export class Frontier {
  #size: number
  readonly #nodes: (Buffer | undefined)[] = []

  /** Loads the O(log n) right-edge nodes of a stored tree of `size` leaves (nothing is read when size is 0). */
  constructor(size = 0, read?: NodeReader) {
    checkCount('size', size)
    this.#size = size
    for (let level = 0, width = 1; width <= size; level++, width *= 2) {
      if (!bitSet(size, level)) continue
      if (!read) throw new TypeError('a NodeReader is needed to load a non-empty tree')
      this.#nodes[level] = read(level, Math.floor(size / width) - 1)
    }
  }

  get size(): number {
    return this.#size
  }

  /**
   * An independent copy, so a batch can be appended speculatively and adopted only once it is durable.
   * Hashes are shared: nothing here ever mutates a Buffer it holds.
   */
  clone(): Frontier {
    const copy = new Frontier()
    copy.#size = this.#size
    copy.#nodes.push(...this.#nodes)
    return copy
  }

  /**
   * Appends one leaf hash and returns every node that became complete, the leaf itself (level 0) first and
   * then upwards, so the caller can store them all in the same transaction as the leaf.
   */
  append(leafHash: Buffer): TreeNode[] {
    const out: TreeNode[] = []
    this.#push(leafHash, out)
    return out
  }

  /** As {@link append}, without reporting the new nodes: for verifiers, which store nothing. */
  push(leafHash: Buffer): void {
    this.#push(leafHash, undefined)
  }

  #push(leafHash: Buffer, out: TreeNode[] | undefined): void {
    if (!isHash(leafHash)) throw new RangeError(`a leaf hash must be ${HASH_SIZE} bytes`)
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('the tree is full (2^53 - 1 leaves)')
    const index = this.#size
    out?.push({ level: 0, index, hash: leafHash })
    let carry = leafHash
    let level = 0
    let q = index // floor(index / 2^level): the position of `carry` on its level
    while (q % 2 === 1) {
      carry = nodeHash(this.#nodes[level]!, carry)
      this.#nodes[level] = undefined
      level++
      q = (q - 1) / 2
      out?.push({ level, index: q, hash: carry })
    }
    this.#nodes[level] = carry
    this.#size = index + 1
  }

  /** MTH of the leaves so far: the right-edge nodes folded from the smallest upwards. */
  root(): Buffer {
    let acc: Buffer | undefined
    for (const node of this.#nodes) {
      if (node) acc = acc ? nodeHash(node, acc) : node
    }
    return Buffer.from(acc ?? EMPTY_ROOT)
  }
}

/** The position of a complete node, as asked of storage in one round trip. */
export interface NodePosition {
  level: number
  index: number
}

/**
 * Fetches the hashes of `positions` (in that order) in one round trip; rejects if any is not stored (a
 * corrupt or truncated log).
 */
export type NodeBatchReader = (positions: NodePosition[]) => Promise<Buffer[]>

const PLACEHOLDER = Buffer.alloc(HASH_SIZE)

/**
 * Runs `compute` (a proof, a root or a frontier load) over nodes fetched from storage in one round trip.
 * The nodes any of these computations reads depend only on the sizes and indexes given, never on hash
 * values, so a first dry run over placeholder hashes lists them all; the second run reads from what was
 * fetched.
 */
export async function withNodes<T>(read: NodeBatchReader, compute: (read: NodeReader) => T): Promise<T> {
  const wanted: NodePosition[] = []
  const seen = new Set<string>()
  compute((level, index) => {
    const key = `${level}/${index}`
    if (!seen.has(key)) {
      seen.add(key)
      wanted.push({ level, index })
    }
    return PLACEHOLDER
  })
  const hashes = wanted.length > 0 ? await read(wanted) : []
  const fetched = new Map<string, Buffer>()
  for (const [i, { level, index }] of wanted.entries()) {
    const hash = hashes[i]
    if (!hash) throw new Error(`missing tree node level ${level} index ${index}`)
    fetched.set(`${level}/${index}`, hash)
  }
  return compute((level, index) => {
    const hash = fetched.get(`${level}/${index}`)
    if (!hash) throw new Error(`tree node level ${level} index ${index} was not fetched`)
    return hash
  })
}
