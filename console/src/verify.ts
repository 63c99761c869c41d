/**
 * What the auditor console checks in the browser, without trusting the server that shows the log: the signed
 * checkpoint (c2sp.org/signed-note, c2sp.org/tlog-checkpoint, Ed25519), inclusion and consistency proofs
 * (RFC 9162 §2.1.3.2 and §2.1.4.2, SHA-256) and the leaf bytes of an entry (RFC 8785). A port of
 * src/accesslog/merkle/tree.ts, note.ts and checkpoint.ts onto WebCrypto, which is asynchronous; it runs
 * unchanged in Node (test/unit/console-verify.ts checks it against the same vectors as the server's code).
 * Every check answers false or throws an Error whose message is meant for the auditor.
 */

const HASH_SIZE = 32
const ED25519_TYPE = 0x01
const EM_DASH_SPACE = '\u2014 '
const MAX_SIGNATURES = 100

// Types derived from the global, so this module checks both under the DOM library and under Node's.
type Subtle = typeof globalThis.crypto.subtle
type PublicKey = Awaited<ReturnType<Subtle['importKey']>>
const subtle = (): Subtle => globalThis.crypto.subtle
const utf8 = new TextEncoder()

export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** H(0x00 ‖ leaf), RFC 9162 §2.1.1. */
export function leafHash(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(Uint8Array.of(0x00), leaf))
}

/** H(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(Uint8Array.of(0x01), left, right))
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

export const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** Strict standard base64 (RFC 4648 §4, padded, canonical): two texts must never mean one key or hash. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  const binary = atob(text)
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  return toBase64(bytes) === text ? bytes : undefined
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0
const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE
const isPowerOfTwo = (n: number) => n > 0 && 2 ** Math.floor(Math.log2(n)) === n

/** RFC 9162 §2.1.3.2; false, never a throw, on any bad input (as src/accesslog/merkle/tree.ts). */
export async function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  if (!isCount(index) || !isCount(size) || index >= size) return false
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      r = await nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(r, root)
}

/** RFC 9162 §2.1.4.2 with transparency-dev/merkle's edge cases (from 0 refused, from == to needs equal roots). */
export async function verifyConsistency(
  from: number,
  to: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Promise<boolean> {
  if (!isCount(from) || !isCount(to) || from > to || from === 0 || !Array.isArray(proof)) return false
  if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) return false
  if (from === to) return proof.length === 0 && bytesEqual(root1, root2)
  if (proof.length === 0 || !proof.every(isHash) || !isHash(root1) || !isHash(root2)) return false
  // When `from` is a power of two its root is itself a node of the larger tree, so the proof omits it.
  const chain = isPowerOfTwo(from) ? [root1, ...proof] : proof
  let fn = from - 1
  let sn = to - 1
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2
    sn = Math.floor(sn / 2)
  }
  let fr = chain[0]!
  let sr = chain[0]!
  for (let i = 1; i < chain.length; i++) {
    const c = chain[i]!
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr)
      sr = await nodeHash(c, sr)
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2
        sn = Math.floor(sn / 2)
      }
    } else {
      sr = await nodeHash(sr, c)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2)
}

/** A pinned verifier key: the text as published, and what a person compares out of band. */
export interface PinnedKey {
  text: string
  name: string
  keyId: Uint8Array
  publicKey: PublicKey
  /** SHA-256 of the raw public key, hex in groups of four, for reading aloud. */
  fingerprint: string
}

function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name)
}

async function noteKeyId(name: string, raw: Uint8Array): Promise<Uint8Array> {
  return (await sha256(concat(utf8.encode(name), Uint8Array.of(0x0a, ED25519_TYPE), raw))).slice(0, 4)
}

/** Parses `<name>+<8 hex key id>+<base64(0x01 ‖ key)>`; the key id must match the name and key. */
export async function parseVerifierKey(input: string): Promise<PinnedKey> {
  const text = input.trim()
  if (/\s/.test(text)) throw new Error('the verifier key contains spaces or line breaks')
  const first = text.indexOf('+')
  const second = first < 0 ? -1 : text.indexOf('+', first + 1)
  if (second < 0) throw new Error('a verifier key reads <name>+<8 hex digit key id>+<base64 key>')
  const name = text.slice(0, first)
  const idHex = text.slice(first + 1, second)
  const key = fromBase64(text.slice(second + 1))
  if (!isValidKeyName(name)) throw new Error('the key name is empty or contains spaces')
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error('the key id is not 8 lowercase hex digits')
  if (!key) throw new Error('the key is not valid base64')
  if (key[0] !== ED25519_TYPE || key.length !== 33)
    throw new Error('only Ed25519 verifier keys (type 1, 32 bytes) are supported')
  const raw = key.slice(1)
  const keyId = await noteKeyId(name, raw)
  if (toHex(keyId) !== idHex)
    throw new Error(`the key id ${idHex} does not match the name and key (expected ${toHex(keyId)})`)
  const publicKey = await subtle().importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
  const fingerprint = toHex(await sha256(raw))
    .match(/.{4}/g)!
    .join(' ')
  return { text, name, keyId, publicKey, fingerprint }
}

export interface Checkpoint {
  origin: string
  size: number
  rootHash: Uint8Array
  /** The whole signed note as served. */
  signed: string
}

/**
 * Opens a signed checkpoint with the pinned key (c2sp.org/signed-note §Signatures): other keys' signatures are
 * ignored, the pinned key's signature must be present and verify, then the body must be a strict checkpoint.
 */
export async function openCheckpoint(signed: string, key: PinnedKey): Promise<Checkpoint> {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\u0000-\u0009\u000b-\u001f]/.test(signed)) throw new Error('the checkpoint contains control characters')
  const split = signed.lastIndexOf('\n\n')
  if (split < 0) throw new Error('the checkpoint is not a signed note: no blank line before the signatures')
  const text = signed.slice(0, split + 1)
  const block = signed.slice(split + 2)
  if (block === '' || !block.endsWith('\n')) throw new Error('the checkpoint has no signature lines')
  const lines = block.slice(0, -1).split('\n')
  if (lines.length > MAX_SIGNATURES) throw new Error('the checkpoint has too many signatures')
  let verified = false
  for (const line of lines) {
    if (!line.startsWith(EM_DASH_SPACE)) throw new Error('a signature line of the checkpoint is malformed')
    const [name = '', b64 = ''] = line.slice(EM_DASH_SPACE.length).split(' ')
    const sig = fromBase64(b64)
    if (!isValidKeyName(name) || !sig || sig.length < 5)
      throw new Error('a signature line of the checkpoint is malformed')
    if (name !== key.name || !bytesEqual(sig.slice(0, 4), key.keyId)) continue
    const ok =
      sig.length === 68 && (await subtle().verify({ name: 'Ed25519' }, key.publicKey, sig.slice(4), utf8.encode(text)))
    if (!ok)
      throw new Error(
        `the signature by ${key.name} does not verify: the checkpoint was altered or signed by another key`,
      )
    verified = true
  }
  if (!verified) throw new Error(`the checkpoint is not signed by the pinned key ${key.name}+${toHex(key.keyId)}`)
  const [origin = '', sizeText = '', rootText = ''] = text.slice(0, -1).split('\n')
  if (origin === '' || !/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw new Error('the checkpoint body is malformed')
  const rootHash = fromBase64(rootText)
  if (!rootHash || rootHash.length !== HASH_SIZE) throw new Error('the checkpoint root hash is malformed')
  return { origin, size: Number(sizeText), rootHash, signed }
}

/**
 * RFC 8785 canonical JSON of a logged entry, which is its leaf: ECMAScript's JSON.stringify for strings and
 * numbers, object keys sorted by UTF-16 code units (as src/accesslog/canonical-json.ts).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('not a finite number')
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const record = value as Record<string, unknown>
  const fields = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
  return `{${fields.join(',')}}`
}

export const entryLeaf = (entry: unknown): Uint8Array => utf8.encode(canonicalJson(entry))
