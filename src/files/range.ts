/** One byte range of a document, inclusive at both ends (RFC 9110 §14.1.2). */
export interface ByteRange {
  first: number
  last: number
}

/**
 * Reads a client's `Range` against the catalogue's size: a single satisfiable `bytes` range, `unsatisfiable`,
 * or undefined when the header is absent or is not one we serve (several ranges, other units, malformed),
 * which RFC 9110 §14.2 lets a server ignore by sending the whole document.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim())
  if (!match || (match[1] === '' && match[2] === '')) return undefined
  const [start, end] = [match[1]!, match[2]!]
  if (start === '') {
    const suffix = Number(end)
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { first: Math.max(0, size - suffix), last: size - 1 }
  }
  const first = Number(start)
  if (end !== '' && Number(end) < first) return undefined
  if (first >= size) return 'unsatisfiable'
  return { first, last: end === '' ? size - 1 : Math.min(Number(end), size - 1) }
}

export function rangeLength(range: ByteRange): number {
  return range.last - range.first + 1
}

export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.first}-${range.last}/${size}`
}
