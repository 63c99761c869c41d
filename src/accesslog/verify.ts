/**
 * Offline verification of the access log (docs/auditors.md#verifying-an-export), the core of `court-file-gateway verify`: checks an
 * export or one entry's receipt against a signed checkpoint with nothing but the log's public key. Results
 * are meant for a person; bad input of any kind gives `{ok: false, message}`, never an exception.
 */
import { canonicalJson } from './canonical-json.js'
import { type Checkpoint, openCheckpoint } from './checkpoint.js'
import { EMPTY_ROOT, leafHash } from './merkle/hash.js'
import { Frontier, verifyConsistency, verifyInclusion } from './merkle/tree.js'
import { decodeBase64Strict, type NoteVerifierKey, parseVerifierKey } from './note.js'
import { parseReceipt, type Receipt } from './receipt.js'

export type VerifyResult =
  | {
      ok: true
      origin: string
      size: number
      rootHash: Buffer
      /** For a receipt: the index of the verified entry. */
      index?: number
      /** For a consistency check: the size of the older checkpoint. */
      from?: number
      /** For a bundle: how many entries it holds (each verified by its own receipt). */
      entries?: number
    }
  | {
      ok: false
      message: string
      /** The first entry found broken or missing, when the failure can be pinned to one. */
      index?: number
    }

type Text = string | Uint8Array

class Failure extends Error {
  readonly index: number | undefined
  constructor(message: string, index?: number) {
    super(message)
    this.index = index
  }
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err))

function asString(text: Text): string {
  return typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8')
}

function asBuffer(data: Text): Buffer {
  return typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

function loadKey(keyText: Text): NoteVerifierKey {
  try {
    // The key file is the text of GET /v1/audit/key, usually saved with a trailing newline.
    return parseVerifierKey(asString(keyText).trim())
  } catch (err) {
    throw new Failure(`the key file is not a usable verifier key: ${errorMessage(err)}`)
  }
}

function loadCheckpoint(checkpointText: Text, key: NoteVerifierKey, what: string): Checkpoint {
  try {
    return openCheckpoint(checkpointText, [key])
  } catch (err) {
    throw new Failure(`${what} does not verify with key ${key.name}: ${errorMessage(err)}`)
  }
}

function run(check: () => VerifyResult): VerifyResult {
  try {
    return check()
  } catch (err) {
    if (err instanceof Failure)
      return err.index === undefined
        ? { ok: false, message: err.message }
        : { ok: false, message: err.message, index: err.index }
    return { ok: false, message: `verification failed: ${errorMessage(err)}` }
  }
}

/** Lines of an NDJSON export: the bytes between newlines, exactly. A final unterminated line still counts. */
function* lines(data: Buffer, limit: number): Generator<Buffer> {
  let pos = 0
  for (let i = 0; i < limit && pos < data.length; i++) {
    let end = data.indexOf(0x0a, pos)
    if (end < 0) end = data.length
    yield data.subarray(pos, end)
    pos = end + 1
  }
}

/**
 * Checks an NDJSON export (one logged leaf per line, from index 0) against a signed checkpoint: the
 * checkpoint's signature, then the root of the export's first `size` leaves. Lines beyond the checkpoint's
 * size are ignored (the log may have grown since). Memory stays O(log n) beyond the input itself: leaves are
 * hashed in place and folded into a {@link Frontier}. Pass the file's bytes rather than a string when you
 * can: it avoids re-encoding every line.
 */
export function verifyExport(args: { exportText: Text; checkpointText: Text; keyText: Text }): VerifyResult {
  return run(() => {
    const key = loadKey(args.keyText)
    const cp = loadCheckpoint(args.checkpointText, key, 'the checkpoint')
    const data = asBuffer(args.exportText)

    const frontier = new Frontier()
    for (const line of lines(data, cp.size)) frontier.push(leafHash(line))
    const count = frontier.size
    if (count === cp.size) {
      const root = frontier.root()
      if (root.equals(cp.rootHash)) return { ok: true, origin: cp.origin, size: cp.size, rootHash: root }
      if (cp.size === 0) {
        return {
          ok: false,
          message: `the checkpoint is for an empty log, but its root hash is not the empty tree's (${EMPTY_ROOT.toString('base64')})`,
        }
      }
    }
    return locateBreak(data, count, cp.size)
  })
}

/**
 * Whether a line's `prev` links it to the entry before (whose leaf hash is `prevHash`). Fast path first: in
 * canonical JSON an intact link shows as the bytes `"prev":"<base64>"`, so most lines of a million-entry
 * export need no JSON parsing. `evidence` is false when the link cannot be judged: no prev field, or, past
 * the checkpoint's size, a line that may be a partial or unrelated record.
 */
function checkLink(line: Buffer, prevHash: Buffer, covered: boolean): { evidence: boolean; broken: boolean } {
  const expected = prevHash.toString('base64')
  if (line.includes(`"prev":"${expected}"`)) return { evidence: true, broken: false }
  const { prev, json } = prevOf(line)
  const evidence = prev !== undefined || (!json && covered)
  return { evidence, broken: evidence && prev !== expected }
}

/** A parsed entry's `prev` field, or undefined when the line is not a JSON object or carries no prev. */
function prevOf(line: Buffer): { prev?: string; json: boolean } {
  try {
    const entry: unknown = JSON.parse(line.toString('utf8'))
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { json: false }
    const prev = (entry as { prev?: unknown }).prev
    return typeof prev === 'string' ? { prev, json: true } : { json: true }
  } catch {
    return { json: false }
  }
}

/**
 * Points at the first broken entry after a root mismatch, using the `prev` chain: link b is broken when
 * entry b's prev is not the base64 leaf hash of entry b − 1 (or entry b is not JSON at all). Entries without
 * prev leave their link unchecked. A link to the entry just past the checkpoint, when the export has it, is
 * used too, since it vouches for the last covered entry.
 *
 * Which index is named: an altered entry a breaks link a+1; an entry whose own prev was altered breaks links
 * a and a+1; a missing entry at a+1 breaks link a+1 only. So with two broken links in a row we name the
 * middle entry, with one we name the entry before it, and when entries are missing from the export we name
 * the entry after it (the missing position). In each case that is the altered entry or the one after it.
 */
function locateBreak(data: Buffer, count: number, size: number): VerifyResult {
  const result = findBreak(data, count, size)
  // A common accident: the export was opened and saved on a system that rewrote line endings.
  const firstEnd = data.indexOf(0x0a)
  if (firstEnd > 0 && data[firstEnd - 1] === 0x0d) {
    result.message += ' (the lines end in CR LF: the file was converted; logged entries are separated by LF only)'
  }
  return result
}

function findBreak(data: Buffer, count: number, size: number): { ok: false; message: string; index?: number } {
  const missing = count < size
  const limit = Math.min(size + 1, count + 1) // lines to read: the covered ones, plus one that vouches
  let prevHash: Buffer | undefined
  let firstBroken: number | undefined
  let checked = 0
  let index = 0
  for (const line of lines(data, limit)) {
    const hash = leafHash(line)
    if (prevHash !== undefined) {
      const { evidence, broken } = checkLink(line, prevHash, index < size)
      if (firstBroken !== undefined) {
        // Look-ahead decided: is the link right after the first broken one broken too?
        return broken ? alteredEntry(firstBroken, missing) : brokenLink(firstBroken, missing, count, size)
      }
      if (broken) firstBroken = index
      if (evidence) checked++
    }
    prevHash = hash
    index++
  }
  if (firstBroken !== undefined) return brokenLink(firstBroken, missing, count, size)
  if (missing) {
    return {
      ok: false,
      index: count,
      message: `the export has ${count} entries but the checkpoint covers ${size}: entries from index ${count} on are missing`,
    }
  }
  if (checked === 0 && size > 1) {
    return {
      ok: false,
      message: `the ${size} entries do not match the checkpoint's root hash; they carry no prev links, so the altered entry cannot be located`,
    }
  }
  return {
    ok: false,
    index: size - 1,
    message: `the entries do not match the checkpoint's root hash, yet every prev link is intact: the last entry the checkpoint covers (index ${size - 1}) was altered, or entries were rewritten together with their prev links`,
  }
}

function alteredEntry(b: number, missing: boolean): { ok: false; message: string; index: number } {
  const a = b - 1
  return {
    ok: false,
    index: b,
    message: `entry ${b} was altered: its prev is not the hash of entry ${a}, and its own hash is not the prev of entry ${b + 1}${missing ? ' (entries are also missing from the export)' : ''}`,
  }
}

function brokenLink(
  b: number,
  missing: boolean,
  count: number,
  size: number,
): { ok: false; message: string; index: number } {
  const a = b - 1
  if (missing) {
    return {
      ok: false,
      index: b,
      message: `entry ${b} does not follow entry ${a}: its prev is not the hash of entry ${a} — an entry is missing at index ${b} (the export has ${count} of the ${size} entries the checkpoint covers), or entry ${a} was altered`,
    }
  }
  return {
    ok: false,
    index: a,
    message: `entry ${a} does not match: its hash differs from the prev of entry ${b} — the export was altered at or after index ${a}`,
  }
}

/**
 * Checks one entry's receipt (c2sp.org/tlog-proof): the checkpoint's signature, then the inclusion proof of
 * leafHash(entryBytes) at the receipt's index against the checkpoint's root. `entryBytes` must be the exact
 * logged bytes (the `leaf` of GET /v1/audit/entries/{index}, decoded), without a trailing newline.
 */
export function verifyReceipt(args: { receiptText: Text; entryBytes: Uint8Array; keyText: Text }): VerifyResult {
  return run(() => {
    const key = loadKey(args.keyText)
    let receipt: Receipt
    try {
      receipt = parseReceipt(asString(args.receiptText))
    } catch (err) {
      throw new Failure(`the receipt cannot be read: ${errorMessage(err)}`)
    }
    const { index } = receipt
    const cp = loadCheckpoint(receipt.checkpoint, key, "the receipt's checkpoint")
    if (index >= cp.size) {
      throw new Failure(`the receipt is for entry ${index}, but its checkpoint covers only ${cp.size} entries`, index)
    }
    if (!(args.entryBytes instanceof Uint8Array)) throw new Failure('the entry must be given as bytes')
    if (verifyInclusion(leafHash(args.entryBytes), index, cp.size, receipt.proof, cp.rootHash)) {
      return { ok: true, origin: cp.origin, size: cp.size, rootHash: cp.rootHash, index }
    }
    const last = args.entryBytes[args.entryBytes.length - 1]
    const hint =
      last === 0x0a || last === 0x0d
        ? ' The entry file ends with a line break, which logged entries never contain: remove it and try again.'
        : ''
    throw new Failure(
      `entry ${index} does not verify against the receipt: the entry's bytes differ from what was logged at index ${index}, or the receipt's proof was altered.${hint}`,
      index,
    )
  })
}

/**
 * Checks a console export bundle (docs/auditors.md#the-console): NDJSON, one `{"entry", "index", "receipt"}` per
 * line, a filtered selection of the log rather than a prefix of it, so no root can be recomputed. Instead each
 * entry carries its receipt: the entry's canonical JSON (its logged bytes) must be included at `index` under
 * the receipt's signed checkpoint. The result names the largest checkpoint seen (receipts fetched while the
 * log grew may differ); all must be of one log.
 */
export function verifyBundle(args: { bundleText: Text; keyText: Text }): VerifyResult {
  return run(() => {
    const data = asBuffer(args.bundleText)
    let newest: Extract<VerifyResult, { ok: true }> | undefined
    let entries = 0
    let lineNo = 0
    for (const line of lines(data, Number.MAX_SAFE_INTEGER)) {
      lineNo++
      if (line.length === 0) continue
      let item: { entry?: unknown; index?: unknown; receipt?: unknown }
      try {
        item = JSON.parse(line.toString('utf8')) as typeof item
      } catch (err) {
        throw new Failure(`line ${lineNo} of the bundle is not JSON: ${errorMessage(err)}`)
      }
      const { entry, index, receipt } = item ?? {}
      if (typeof entry !== 'object' || entry === null || !Number.isSafeInteger(index) || typeof receipt !== 'string')
        throw new Failure(`line ${lineNo} of the bundle is not {"entry", "index", "receipt"}`)
      const result = verifyReceipt({
        receiptText: receipt,
        entryBytes: Buffer.from(canonicalJson(entry), 'utf8'),
        keyText: args.keyText,
      })
      if (!result.ok) throw new Failure(result.message, result.index ?? (index as number))
      if (result.index !== index)
        throw new Failure(
          `line ${lineNo} claims entry ${index}, but its receipt is for entry ${result.index}`,
          index as number,
        )
      if (newest && newest.origin !== result.origin)
        throw new Failure(`the receipts are of different logs (${newest.origin}, ${result.origin})`, index as number)
      if (!newest || result.size > newest.size) newest = result
      entries++
    }
    if (!newest) throw new Failure('the bundle holds no entries')
    return { ok: true, origin: newest.origin, size: newest.size, rootHash: newest.rootHash, entries }
  })
}

/**
 * Checks that a newer checkpoint extends an older one (RFC 9162 §2.1.4): both signatures, then the
 * consistency proof between them, given as the JSON answer of GET /v1/audit/proofs/consistency. A log that
 * rewrote or dropped history cannot produce such a proof.
 */
export function verifyCheckpointConsistency(args: {
  oldText: Text
  newText: Text
  proofText: Text
  keyText: Text
}): VerifyResult {
  return run(() => {
    const key = loadKey(args.keyText)
    const older = loadCheckpoint(args.oldText, key, 'the old checkpoint')
    const newer = loadCheckpoint(args.newText, key, 'the new checkpoint')
    if (older.origin !== newer.origin)
      throw new Failure(`the checkpoints are of different logs (${older.origin}, ${newer.origin})`)
    if (newer.size < older.size)
      throw new Failure(`the new checkpoint (size ${newer.size}) is smaller than the old one (size ${older.size})`)
    let proof: Buffer[]
    let from: unknown
    let to: unknown
    try {
      const parsed = JSON.parse(asString(args.proofText)) as { from?: unknown; to?: unknown; proof?: unknown }
      ;({ from, to } = parsed)
      if (!Array.isArray(parsed.proof)) throw new Error('no "proof" list')
      proof = parsed.proof.map((hash) => {
        const bytes = typeof hash === 'string' ? decodeBase64Strict(hash) : undefined
        if (!bytes) throw new Error('a proof hash is not base64')
        return bytes
      })
    } catch (err) {
      throw new Failure(
        `the proof file is not a consistency proof (GET /v1/audit/proofs/consistency): ${errorMessage(err)}`,
      )
    }
    if ((from !== undefined && from !== older.size) || (to !== undefined && to !== newer.size))
      throw new Failure(`the proof is from ${from} to ${to}, not from ${older.size} to ${newer.size}`)
    // An empty tree is a prefix of every tree: there is nothing to prove.
    const consistent =
      older.size === 0 || verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash)
    if (!consistent)
      throw new Failure(
        `the checkpoint at size ${newer.size} is NOT consistent with the one at size ${older.size}: the log's history was changed, or the proof was altered`,
      )
    return { ok: true, origin: newer.origin, size: newer.size, rootHash: newer.rootHash, from: older.size }
  })
}
