/**
 * The key of a tree node's row (schema version 4): the last leaf the subtree covers. Node (level, index) covers
 * leaves index · 2^level to (index + 1) · 2^level − 1; every node one append completes ends at its leaf.
 */
export function lastLeafOf(level: number, index: number): number {
  return (index + 1) * 2 ** level - 1
}

/** The inverse of lastLeafOf: the index of the node of `level` that ends at `lastLeaf`. */
export function nodeIndexOf(level: number, lastLeaf: number): number {
  return (lastLeaf + 1) / 2 ** level - 1
}
