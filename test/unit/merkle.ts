import crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { EMPTY_ROOT, leafHash, nodeHash } from '../../src/accesslog/merkle/hash.js'
import {
  consistencyProof,
  Frontier,
  inclusionProof,
  type NodeReader,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../../src/accesslog/merkle/tree.js'

const vectorFile = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/vectors/${name}`, import.meta.url), 'utf8'))

interface RfcVectors {
  hasher_vectors: Array<{ desc: string; want: string; leaf_data_hex?: string; left_hex?: string; right_hex?: string }>
  leaves_hex: string[]
  node_hashes_by_level: string[][]
  roots_by_size: Record<string, string>
  inclusion_proofs: Array<{ leaf_index: number; tree_size: number; proof: string[] }>
  consistency_proofs: Array<{ size1: number; size2: number; proof: string[] }>
}
interface InclusionProbe {
  leafIdx: number
  treeSize: number
  root: string
  leafHash: string
  proof: string[] | null
  desc: string
  wantErr: boolean
  file: string
}
interface ConsistencyProbe {
  size1: number
  size2: number
  root1: string
  root2: string
  proof: string[] | null
  desc: string
  wantErr: boolean
  file: string
}

const rfc = vectorFile('rfc6962_merkle_vectors.json') as RfcVectors
const probes = vectorFile('transparency-dev_merkle_probes.json') as {
  inclusion: InclusionProbe[]
  consistency: ConsistencyProbe[]
}

const hex = (s: string) => Buffer.from(s, 'hex')
const b64 = (s: string) => Buffer.from(s, 'base64')

// ---------------------------------------------------------------------------------------------------------
// An independent reference: RFC 9162 §2.1 written out literally over the list of leaf hashes.

/** MTH(D[start:end]), memoised per leaf list so that exhaustive comparisons stay fast. */
function naive(leaves: Buffer[]) {
  const memo = new Map<string, Buffer>()
  const mth = (start: number, end: number): Buffer => {
    const n = end - start
    if (n === 0) return EMPTY_ROOT
    if (n === 1) return leaves[start]!
    const key = `${start}:${end}`
    let h = memo.get(key)
    if (!h) {
      let k = 1
      while (k * 2 < n) k *= 2
      h = nodeHash(mth(start, start + k), mth(start + k, end))
      memo.set(key, h)
    }
    return h
  }
  const path = (m: number, start: number, end: number): Buffer[] => {
    const n = end - start
    if (n <= 1) return []
    let k = 1
    while (k * 2 < n) k *= 2
    return m < k
      ? [...path(m, start, start + k), mth(start + k, end)]
      : [...path(m - k, start + k, end), mth(start, start + k)]
  }
  const subproof = (m: number, start: number, end: number, b: boolean): Buffer[] => {
    const n = end - start
    if (m === n) return b ? [] : [mth(start, end)]
    let k = 1
    while (k * 2 < n) k *= 2
    return m <= k
      ? [...subproof(m, start, start + k, b), mth(start + k, end)]
      : [...subproof(m - k, start + k, end, false), mth(start, start + k)]
  }
  return {
    root: (size: number) => mth(0, size),
    inclusion: (index: number, size: number) => path(index, 0, size),
    consistency: (from: number, to: number) => subproof(from, 0, to, true),
  }
}

/** Every complete node of the leaf list, computed level by level (not by the code under test). */
function completeNodes(leaves: Buffer[]): Buffer[][] {
  const levels = [leaves]
  for (;;) {
    const below = levels[levels.length - 1]!
    if (below.length < 2) return levels
    const above: Buffer[] = []
    for (let i = 0; i + 1 < below.length; i += 2) above.push(nodeHash(below[i]!, below[i + 1]!))
    levels.push(above)
  }
}

/** A reader for the tree of the first `size` leaves: refuses nodes that are not complete within it. */
function readerFor(levels: Buffer[][], size: number, counter?: { reads: number }): NodeReader {
  return (level, index) => {
    if ((index + 1) * 2 ** level > size) throw new Error(`node (${level}, ${index}) is not complete in size ${size}`)
    const h = levels[level]?.[index]
    if (!h) throw new Error(`node (${level}, ${index}) missing`)
    if (counter) counter.reads++
    return h
  }
}

/** Deterministic pseudo-random numbers, so a failure can be reproduced. */
function prng(seed: string) {
  let counter = 0
  return (max: number): number => {
    const h = crypto.createHash('sha256').update(`${seed}/${counter++}`).digest()
    return h.readUIntBE(0, 6) % max
  }
}

const randomLeaves = (n: number, seed: string) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${seed} leaf ${i}`)))

function flipBit(buf: Buffer, bit: number): Buffer {
  const copy = Buffer.from(buf)
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8)
  return copy
}

const log2ceil = (n: number) => Math.ceil(Math.log2(Math.max(n, 2)))

// ---------------------------------------------------------------------------------------------------------

t.test('hasher vectors (transparency-dev/merkle rfc6962_test.go)', async (t) => {
  for (const v of rfc.hasher_vectors) {
    let got: Buffer
    if (v.left_hex !== undefined) got = nodeHash(hex(v.left_hex), hex(v.right_hex!))
    else if (v.leaf_data_hex !== undefined) got = leafHash(hex(v.leaf_data_hex))
    else got = EMPTY_ROOT
    t.equal(got.toString('hex'), v.want, v.desc)
  }
  // The scratch buffer must grow for large leaves and not leak bytes between calls.
  const big = crypto.randomBytes(40_000)
  t.same(
    leafHash(big),
    crypto
      .createHash('sha256')
      .update(Buffer.from([0]))
      .update(big)
      .digest(),
  )
  t.same(leafHash(Buffer.alloc(0)), hex(rfc.hasher_vectors[1]!.want))
})

t.test('RFC 6962 test leaves: nodes, roots and proofs', async (t) => {
  const leaves = rfc.leaves_hex.map((h) => leafHash(hex(h)))
  const levels = completeNodes(leaves)
  t.same(
    levels.map((l) => l.map((h) => h.toString('hex'))),
    rfc.node_hashes_by_level,
    'complete nodes match the vector',
  )

  const frontier = new Frontier()
  t.same(frontier.root(), hex(rfc.roots_by_size['0']!), 'empty root')
  for (const [i, leaf] of leaves.entries()) {
    for (const node of frontier.append(leaf)) {
      t.equal(
        node.hash.toString('hex'),
        rfc.node_hashes_by_level[node.level]![node.index],
        `stored node (${node.level}, ${node.index})`,
      )
    }
    t.equal(frontier.root().toString('hex'), rfc.roots_by_size[String(i + 1)], `frontier root at size ${i + 1}`)
  }
  for (const [size, root] of Object.entries(rfc.roots_by_size)) {
    const n = Number(size)
    t.equal(rootHash(n, readerFor(levels, n)).toString('hex'), root, `rootHash(${n})`)
    t.equal(new Frontier(n, readerFor(levels, n)).root().toString('hex'), root, `loaded frontier at ${n}`)
  }
  for (const v of rfc.inclusion_proofs) {
    const read = readerFor(levels, v.tree_size)
    const proof = inclusionProof(v.leaf_index, v.tree_size, read)
    t.same(
      proof.map((h) => h.toString('hex')),
      v.proof,
      `inclusion proof ${v.leaf_index} in ${v.tree_size}`,
    )
    const root = hex(rfc.roots_by_size[String(v.tree_size)]!)
    t.ok(verifyInclusion(leaves[v.leaf_index]!, v.leaf_index, v.tree_size, v.proof.map(hex), root))
  }
  for (const v of rfc.consistency_proofs) {
    const proof = consistencyProof(v.size1, v.size2, readerFor(levels, v.size2))
    t.same(
      proof.map((h) => h.toString('hex')),
      v.proof,
      `consistency proof ${v.size1} -> ${v.size2}`,
    )
    const r1 = hex(rfc.roots_by_size[String(v.size1)]!)
    const r2 = hex(rfc.roots_by_size[String(v.size2)]!)
    t.ok(verifyConsistency(v.size1, v.size2, v.proof.map(hex), r1, r2))
  }
})

t.test('transparency-dev/merkle inclusion probes', async (t) => {
  t.equal(probes.inclusion.length, 98)
  const levels = completeNodes(rfc.leaves_hex.map((h) => leafHash(hex(h))))
  for (const p of probes.inclusion) {
    const proof = (p.proof ?? []).map(b64)
    const ok = verifyInclusion(b64(p.leafHash), p.leafIdx, p.treeSize, proof, b64(p.root))
    t.equal(ok, !p.wantErr, `${p.file}: ${p.desc}`)
    if (!p.wantErr && p.treeSize <= 8) {
      t.same(inclusionProof(p.leafIdx, p.treeSize, readerFor(levels, p.treeSize)), proof, `${p.file}: generated proof`)
    }
  }
})

t.test('transparency-dev/merkle consistency probes', async (t) => {
  t.equal(probes.consistency.length, 98)
  const levels = completeNodes(rfc.leaves_hex.map((h) => leafHash(hex(h))))
  for (const p of probes.consistency) {
    const proof = (p.proof ?? []).map(b64)
    const ok = verifyConsistency(p.size1, p.size2, proof, b64(p.root1), b64(p.root2))
    t.equal(ok, !p.wantErr, `${p.file}: ${p.desc}`)
    if (!p.wantErr && p.size2 <= 8 && p.size1 > 0) {
      t.same(consistencyProof(p.size1, p.size2, readerFor(levels, p.size2)), proof, `${p.file}: generated proof`)
    }
  }
})

t.test('argument validation', async (t) => {
  const levels = completeNodes(randomLeaves(8, 'args'))
  const read = readerFor(levels, 8)
  t.throws(() => inclusionProof(8, 8, read), RangeError, 'index == size')
  t.throws(() => inclusionProof(0, 0, read), RangeError, 'empty tree')
  t.throws(() => inclusionProof(-1, 8, read), RangeError, 'negative index')
  t.throws(() => inclusionProof(1.5, 8, read), RangeError, 'fractional index')
  t.throws(() => inclusionProof(0, 2 ** 53, read), RangeError, 'unsafe size')
  t.throws(() => consistencyProof(5, 4, read), RangeError, 'from > to')
  t.throws(() => consistencyProof(0, 4, read), RangeError, 'from == 0 (meaningless, as transparency-dev/merkle)')
  t.throws(() => consistencyProof(0, 0, read), RangeError, 'from == to == 0')
  t.same(consistencyProof(5, 5, read), [], 'from == to gives an empty proof')
  t.throws(() => rootHash(-1, read), RangeError)
  t.same(rootHash(0, read), EMPTY_ROOT)
  t.throws(() => new Frontier(3), TypeError, 'a non-empty frontier needs a reader')
  t.throws(() => new Frontier(0).append(Buffer.alloc(31)), RangeError, 'leaf hashes are 32 bytes')
  t.throws(
    () =>
      rootHash(3, () => {
        throw new Error('boom')
      }),
    /boom/,
    'reader errors propagate',
  )

  const root = rootHash(8, read)
  const leaf = levels[0]![3]!
  const proof = inclusionProof(3, 8, read)
  t.ok(verifyInclusion(leaf, 3, 8, proof, root))
  // Bad input of every kind gives false, never an exception.
  const bad = [
    verifyInclusion(leaf, 3, 8, proof as unknown as Buffer[], root.subarray(1)),
    verifyInclusion(leaf, Number.NaN, 8, proof, root),
    verifyInclusion(leaf, 3, Number.POSITIVE_INFINITY, proof, root),
    verifyInclusion(leaf, 3, 8, 'nope' as unknown as Buffer[], root),
    verifyInclusion(leaf, 3, 8, [...proof.slice(0, 2), 'x' as unknown as Buffer], root),
    verifyInclusion('x' as unknown as Buffer, 3, 8, proof, root),
    verifyConsistency(4, 8, null as unknown as Buffer[], root, root),
    verifyConsistency(4, 8, [], root, root),
    verifyConsistency(4, 4, [], 'a' as unknown as Buffer, root),
    verifyConsistency(4, 2 ** 53, [root], root, root),
    verifyConsistency(3, 8, consistencyProof(3, 8, read), root.subarray(2), root),
  ]
  t.same(
    bad,
    bad.map(() => false),
  )
})

/**
 * Up to this size every index and every earlier size of a tree is proven; above it, those at the ends and next to
 * every power of two, and a random sample. Proofs are built by splitting a tree at the largest power of two below its
 * size: 130 takes every shape through 2^7 and both sides of that boundary, and each larger tree is one of them beside
 * a complete subtree, so proving every pair up to 300 (90 000 proofs, most of the file's time) adds no new case.
 */
const EVERY_PAIR_UP_TO = 130

/** The values in [first, last] to prove against a tree of `size` (see EVERY_PAIR_UP_TO). */
function provenValues(size: number, first: number, last: number, rand: (max: number) => number): number[] {
  if (size <= EVERY_PAIR_UP_TO) return Array.from({ length: last - first + 1 }, (_, i) => first + i)
  const chosen = new Set<number>()
  for (let power = 1; power <= last; power *= 2) for (const near of [power - 1, power, power + 1]) chosen.add(near)
  for (const near of [first, first + 1, last - 1, last]) chosen.add(near)
  for (let i = 0; i < 16; i++) chosen.add(first + rand(last - first + 1))
  return [...chosen].filter((value) => value >= first && value <= last).sort((a, b) => a - b)
}

t.test('random trees of every size 1..300 against the naive reference', async (t) => {
  const all = randomLeaves(300, 'small')
  const levels = completeNodes(all)
  const ref = naive(all)
  const rand = prng('small')
  const frontier = new Frontier()
  let failures = 0
  const check = (cond: boolean, what: string) => {
    if (!cond) {
      failures++
      if (failures < 20) t.fail(what)
    }
  }
  for (let size = 1; size <= 300; size++) {
    // Frontier: every node it reports must be a real complete node, and its root the reference root.
    const emitted = frontier.append(all[size - 1]!)
    check(emitted[0]!.level === 0 && emitted[0]!.index === size - 1, `leaf first at ${size}`)
    for (const n of emitted) check(levels[n.level]![n.index]!.equals(n.hash), `emitted node (${n.level}, ${n.index})`)
    const expectedCount =
      1 +
      (() => {
        let c = 0
        for (let s = size; s % 2 === 0; s /= 2) c++
        return c
      })()
    check(emitted.length === expectedCount, `number of nodes completed by leaf ${size - 1}`)
    const root = ref.root(size)
    check(frontier.root().equals(root), `frontier root at ${size}`)

    const counter = { reads: 0 }
    const read = readerFor(levels, size, counter)
    check(rootHash(size, read).equals(root), `rootHash(${size})`)
    check(counter.reads <= log2ceil(size) + 1, `rootHash(${size}) reads ${counter.reads}`)
    check(new Frontier(size, read).root().equals(root), `loaded frontier at ${size}`)

    for (const index of provenValues(size, 0, size - 1, rand)) {
      counter.reads = 0
      const proof = inclusionProof(index, size, read)
      check(counter.reads <= 3 * log2ceil(size) + 2, `inclusion(${index}, ${size}) reads ${counter.reads}`)
      const want = ref.inclusion(index, size)
      check(proof.length === want.length && proof.every((h, i) => h.equals(want[i]!)), `inclusion(${index}, ${size})`)
      check(verifyInclusion(all[index]!, index, size, proof, root), `verify inclusion(${index}, ${size})`)
    }
    for (const from of provenValues(size, 1, size, rand)) {
      counter.reads = 0
      const proof = consistencyProof(from, size, read)
      check(counter.reads <= 3 * log2ceil(size) + 2, `consistency(${from}, ${size}) reads ${counter.reads}`)
      const want = ref.consistency(from, size)
      check(proof.length === want.length && proof.every((h, i) => h.equals(want[i]!)), `consistency(${from}, ${size})`)
      check(verifyConsistency(from, size, proof, ref.root(from), root), `verify consistency(${from}, ${size})`)
    }

    // Tampering: a sample per size (every kind of change must be rejected).
    const index = rand(size)
    const proof = inclusionProof(index, size, read)
    const leaf = all[index]!
    check(!verifyInclusion(flipBit(leaf, rand(256)), index, size, proof, root), `tampered leaf ${size}`)
    check(!verifyInclusion(leaf, index, size, proof, flipBit(root, rand(256))), `tampered root ${size}`)
    if (proof.length > 0) {
      const i = rand(proof.length)
      const tampered = proof.map((h, j) => (j === i ? flipBit(h, rand(256)) : h))
      check(!verifyInclusion(leaf, index, size, tampered, root), `tampered inclusion proof ${size}`)
      check(!verifyInclusion(leaf, index, size, proof.slice(1), root), `truncated inclusion proof ${size}`)
    }
    check(!verifyInclusion(leaf, index, size, [...proof, root], root), `extended inclusion proof ${size}`)
    if (size > 1) check(!verifyInclusion(leaf, (index + 1) % size, size, proof, root), `wrong index ${size}`)
    // A proof does not bind the size on its own (the checkpoint binds size and root together), so the wrong
    // size is checked against that size's own root.
    if (size < 300) check(!verifyInclusion(leaf, index, size + 1, proof, ref.root(size + 1)), `wrong size ${size}`)

    if (size > 1) {
      const from = 1 + rand(size - 1)
      const cproof = consistencyProof(from, size, read)
      const root1 = ref.root(from)
      const i = rand(cproof.length)
      const tampered = cproof.map((h, j) => (j === i ? flipBit(h, rand(256)) : h))
      check(!verifyConsistency(from, size, tampered, root1, root), `tampered consistency proof ${from}->${size}`)
      check(!verifyConsistency(from, size, cproof, flipBit(root1, rand(256)), root), `tampered root1 ${from}->${size}`)
      check(!verifyConsistency(from, size, cproof, root1, flipBit(root, rand(256))), `tampered root2 ${from}->${size}`)
      check(!verifyConsistency(from, size, cproof.slice(0, -1), root1, root), `truncated consistency ${from}->${size}`)
      check(!verifyConsistency(from, size, [...cproof, root], root1, root), `extended consistency ${from}->${size}`)
      check(!verifyConsistency(from, size, cproof, root, root1), `swapped roots ${from}->${size}`)
    }
  }
  t.equal(failures, 0, 'all checks over sizes 1..300 passed')
})

t.test('random larger trees against the naive reference', async (t) => {
  const rand = prng('large')
  const all = randomLeaves(20_000, 'large')
  const levels = completeNodes(all)
  const ref = naive(all)
  const sizes = [1023, 1024, 1025, 4097, 16384, 20_000, ...Array.from({ length: 6 }, () => 301 + rand(19_700))]
  for (const size of sizes) {
    const counter = { reads: 0 }
    const read = readerFor(levels, size, counter)
    const root = ref.root(size)
    t.ok(rootHash(size, read).equals(root), `rootHash(${size})`)
    const loaded = new Frontier(size, read)
    t.ok(loaded.root().equals(root), `loaded frontier at ${size}`)
    // Keep appending to the loaded frontier: it must continue the same tree.
    const more = Math.min(all.length - size, 50)
    for (let i = 0; i < more; i++) {
      for (const n of loaded.append(all[size + i]!)) {
        t.ok(levels[n.level]![n.index]!.equals(n.hash), `node (${n.level}, ${n.index}) after loading at ${size}`)
      }
    }
    t.ok(loaded.root().equals(ref.root(size + more)), `loaded frontier continues from ${size}`)

    for (const index of [0, size - 1, rand(size), rand(size), rand(size)]) {
      counter.reads = 0
      const proof = inclusionProof(index, size, read)
      t.ok(counter.reads <= 3 * log2ceil(size) + 2, `inclusion reads ${counter.reads} at ${size}`)
      t.same(proof, ref.inclusion(index, size), `inclusion(${index}, ${size})`)
      t.ok(verifyInclusion(all[index]!, index, size, proof, root))
    }
    for (const from of [1, size, 1 + rand(size), 1 + rand(size)]) {
      counter.reads = 0
      const proof = consistencyProof(from, size, read)
      t.ok(counter.reads <= 3 * log2ceil(size) + 2, `consistency reads ${counter.reads} at ${size}`)
      t.same(proof, ref.consistency(from, size), `consistency(${from}, ${size})`)
      t.ok(verifyConsistency(from, size, proof, ref.root(from), root))
    }
  }
})

t.test('Frontier.clone is independent', async (t) => {
  const leaves = randomLeaves(10, 'clone')
  const a = new Frontier()
  for (const l of leaves.slice(0, 5)) a.append(l)
  const before = a.root()
  const b = a.clone()
  for (const l of leaves.slice(5)) b.append(l)
  t.equal(a.size, 5)
  t.same(a.root(), before, 'original untouched')
  t.equal(b.size, 10)
  t.same(b.root(), naive(leaves).root(10))
  const r = b.root()
  r[0]! ^= 0xff
  t.not(b.root()[0], r[0], 'root() returns a copy')
})

t.test('indexes above 2^31 (no 32-bit bit operations)', async (t) => {
  // A tree of identical leaves is consistent at every level (node (L, i) = h[L] for all i), so trees of
  // 2^53 - 1 leaves can be read without storing them. Its root is still not trivial: the incomplete right
  // edge mixes levels in a size-dependent order.
  const h: Buffer[] = [leafHash(Buffer.from('same'))]
  for (let l = 1; l <= 53; l++) h.push(nodeHash(h[l - 1]!, h[l - 1]!))
  const uniformRoot = (n: number): Buffer => {
    if (n === 0) return EMPTY_ROOT
    let k = 1
    let level = 0
    while (k * 2 <= n) {
      k *= 2
      level++
    }
    return k === n ? h[level]! : nodeHash(h[level]!, uniformRoot(n - k))
  }
  const readerOf =
    (size: number): NodeReader =>
    (level, index) => {
      if (!Number.isSafeInteger(index) || index < 0) throw new Error(`bad index ${index}`)
      if ((index + 1) * 2 ** level > size) throw new Error(`node (${level}, ${index}) not complete in ${size}`)
      return h[level]!
    }

  for (const size of [2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32 + 5, 2 ** 40 + 123_457, 2 ** 52 + 2 ** 31 + 7, 2 ** 53 - 1]) {
    const read = readerOf(size)
    const root = uniformRoot(size)
    t.ok(rootHash(size, read).equals(root), `rootHash(${size})`)
    t.ok(new Frontier(size, read).root().equals(root), `Frontier(${size})`)
    for (const index of [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32, size - 2, size - 1]) {
      if (index >= size) continue
      const proof = inclusionProof(index, size, read)
      t.ok(verifyInclusion(h[0]!, index, size, proof, root), `inclusion(${index}, ${size})`)
      t.notOk(verifyInclusion(h[0]!, index, size, [...proof, h[0]!], root), `extended inclusion(${index}, ${size})`)
      t.notOk(verifyInclusion(h[0]!, index, size, proof, flipBit(root, 7)), `bad root inclusion(${index}, ${size})`)
    }
    for (const from of [1, 2 ** 31 - 1, 2 ** 31 + 1, 2 ** 32 + 3, size - 1]) {
      if (from >= size) continue
      const proof = consistencyProof(from, size, read)
      t.ok(verifyConsistency(from, size, proof, uniformRoot(from), root), `consistency(${from}, ${size})`)
      t.notOk(verifyConsistency(from, size, proof.slice(1), uniformRoot(from), root), `truncated (${from}, ${size})`)
    }
  }

  // Appending to a frontier with all 32 low bits set completes a node on each of levels 0..32.
  const f = new Frontier(2 ** 32 - 1, readerOf(2 ** 32 - 1))
  const nodes = f.append(h[0]!)
  t.same(
    nodes.map((n) => [n.level, n.index]),
    Array.from({ length: 33 }, (_, l) => [l, 2 ** (32 - l) - 1]),
  )
  t.ok(nodes.every((n) => n.hash.equals(h[n.level]!)))
  t.ok(f.root().equals(h[32]!))

  const full = new Frontier(2 ** 53 - 2, readerOf(2 ** 53 - 2))
  full.append(h[0]!)
  t.equal(full.size, 2 ** 53 - 1)
  t.ok(full.root().equals(uniformRoot(2 ** 53 - 1)))
  t.throws(() => full.append(h[0]!), RangeError, 'refuses to grow past 2^53 - 1')
})
