/** An entity tag as RFC 9110 §8.8.3 writes it, at most 200 characters between the quotes. */
export const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e]{0,200}"$/

/** RFC 9110 §8.8.3.2 weak comparison: the same opaque tag, whether either is marked weak or not. */
export function weaklyEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '')
}
