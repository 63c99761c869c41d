/**
 * C2SP tlog-proof files (https://c2sp.org/tlog-proof): an entry's index, its inclusion proof and a signed
 * checkpoint in one text file, so one entry can be checked offline with nothing but the log's public key.
 * Same bytes as transparency-dev/merkle `proof.NewTLogProof`.
 */
import { HASH_SIZE } from './merkle/hash.js'
import { decodeBase64Strict } from './note.js'

const HEADER = 'c2sp.org/tlog-proof@v1'

export interface Receipt {
  index: number
  /** RFC 9162 inclusion proof, from the leaf's sibling up to the root's child. */
  proof: Buffer[]
  /** The signed checkpoint note, verbatim. */
  checkpoint: string
  /** Opaque, unauthenticated extra data: never trust it. */
  extra?: Buffer
}

export function formatReceipt(r: Receipt): string {
  if (!Number.isSafeInteger(r.index) || r.index < 0)
    throw new Error(`receipt index must be a non-negative integer, got ${r.index}`)
  for (const h of r.proof) {
    if (h.length !== HASH_SIZE) throw new Error(`receipt proof hashes must be ${HASH_SIZE} bytes, got ${h.length}`)
  }
  if (r.checkpoint === '' || !r.checkpoint.endsWith('\n'))
    throw new Error('receipt checkpoint must be a signed note ending in a newline')
  const extra = r.extra ? `extra ${r.extra.toString('base64')}\n` : ''
  const hashes = r.proof.map((h) => `${h.toString('base64')}\n`).join('')
  return `${HEADER}\n${extra}index ${r.index}\n${hashes}\n${r.checkpoint}`
}

/** Parses a receipt strictly; the checkpoint is returned unverified (see verify.ts). */
export function parseReceipt(text: string): Receipt {
  let pos = 0
  let lineNo = 0
  const nextLine = (): string | undefined => {
    const end = text.indexOf('\n', pos)
    if (end < 0) return undefined
    const line = text.slice(pos, end)
    pos = end + 1
    lineNo++
    return line
  }

  const header = nextLine()
  if (header !== HEADER) {
    throw new Error(
      `malformed receipt: the first line must be "${HEADER}"${header === undefined ? '' : `, got ${JSON.stringify(header.slice(0, 60))}`}`,
    )
  }
  let line = nextLine()
  let extra: Buffer | undefined
  if (line?.startsWith('extra ')) {
    extra = decodeBase64Strict(line.slice('extra '.length))
    if (!extra) throw new Error(`malformed receipt: line ${lineNo}: the extra data is not valid base64`)
    line = nextLine()
  }
  const indexText = line?.startsWith('index ') ? line.slice('index '.length) : undefined
  if (indexText === undefined)
    throw new Error(`malformed receipt: line ${lineNo + (line === undefined ? 1 : 0)} must be "index <number>"`)
  if (!/^(0|[1-9][0-9]*)$/.test(indexText)) {
    throw new Error(
      `malformed receipt: line ${lineNo}: the index ${JSON.stringify(indexText)} is not a decimal number without leading zeros`,
    )
  }
  const index = Number(indexText)
  if (!Number.isSafeInteger(index))
    throw new Error(`malformed receipt: the index ${indexText} is too large (at most 2^53 - 1)`)

  const proof: Buffer[] = []
  for (;;) {
    line = nextLine()
    if (line === undefined)
      throw new Error('malformed receipt: missing the blank line and the checkpoint after the proof hashes')
    if (line === '') break
    const hash = decodeBase64Strict(line)
    if (!hash) throw new Error(`malformed receipt: line ${lineNo}: the proof hash is not valid base64`)
    if (hash.length !== HASH_SIZE)
      throw new Error(
        `malformed receipt: line ${lineNo}: the proof hash is ${hash.length} bytes, expected ${HASH_SIZE}`,
      )
    proof.push(hash)
  }
  const checkpoint = text.slice(pos)
  if (checkpoint === '') throw new Error('malformed receipt: the signed checkpoint is missing after the blank line')
  return extra ? { index, proof, checkpoint, extra } : { index, proof, checkpoint }
}
