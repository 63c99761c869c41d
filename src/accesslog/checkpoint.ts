/**
 * C2SP tlog-checkpoint note bodies (https://c2sp.org/tlog-checkpoint): origin, tree size, root hash, then
 * optional extension lines. The body is what the log signs (see note.ts), so formatting must be exact and
 * parsing strict: two different texts must never be read as the same tree head.
 */
import { HASH_SIZE } from './merkle/hash.js'
import { decodeBase64Strict, type NoteVerifierKey, openNote } from './note.js'

export interface Checkpoint {
  /** Unique identity of the log; by convention also the signing key's name. */
  origin: string
  size: number
  rootHash: Buffer
  /** Opaque, non-empty extension lines (NOT RECOMMENDED by the spec; we write none). */
  extensions?: string[]
}

/** `<origin>\n<size>\n<base64 root>\n`, plus any extension lines. */
export function formatCheckpoint(cp: Checkpoint): string {
  if (cp.origin === '' || cp.origin.includes('\n')) throw new Error('checkpoint origin must be one non-empty line')
  if (!Number.isSafeInteger(cp.size) || cp.size < 0)
    throw new Error(`checkpoint size must be a non-negative integer, got ${cp.size}`)
  if (cp.rootHash.length !== HASH_SIZE)
    throw new Error(`checkpoint root hash must be ${HASH_SIZE} bytes, got ${cp.rootHash.length}`)
  const ext = cp.extensions ?? []
  for (const line of ext) {
    if (line === '' || line.includes('\n')) throw new Error('checkpoint extension lines must be single non-empty lines')
  }
  return [cp.origin, String(cp.size), cp.rootHash.toString('base64'), ...ext].map((l) => `${l}\n`).join('')
}

/**
 * Parses a checkpoint body (the note text, ending in a newline). Sizes must be canonical decimal (no sign,
 * no leading zeros) and fit in 2^53 − 1, the largest tree this implementation handles.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new Error('malformed checkpoint: the text must end with a newline')
  const lines = text.slice(0, -1).split('\n')
  if (lines.length < 3)
    throw new Error(`malformed checkpoint: expected origin, size and root hash lines, got ${lines.length} line(s)`)
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]]
  if (origin === '') throw new Error('malformed checkpoint: the origin line is empty')
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) {
    throw new Error(
      `malformed checkpoint: the size ${JSON.stringify(sizeText)} is not a decimal number without leading zeros`,
    )
  }
  const size = Number(sizeText)
  if (!Number.isSafeInteger(size))
    throw new Error(`malformed checkpoint: the size ${sizeText} is too large (at most 2^53 - 1)`)
  const rootHash = decodeBase64Strict(rootText)
  if (!rootHash) throw new Error('malformed checkpoint: the root hash is not valid base64')
  if (rootHash.length !== HASH_SIZE) {
    throw new Error(`malformed checkpoint: the root hash is ${rootHash.length} bytes, expected ${HASH_SIZE}`)
  }
  if (extensions.some((l) => l === '')) throw new Error('malformed checkpoint: it contains an empty extension line')
  return extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash }
}

/** Verifies a signed checkpoint note against the known keys (see openNote) and parses its body. */
export function openCheckpoint(
  signed: string | Uint8Array,
  verifierKeys: readonly NoteVerifierKey[],
): Checkpoint & { verifiedBy: string[] } {
  const { text, verifiedBy } = openNote(signed, verifierKeys)
  return { ...parseCheckpoint(text), verifiedBy }
}
