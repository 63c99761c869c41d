/**
 * C2SP signed notes with Ed25519 keys (https://c2sp.org/signed-note), byte-compatible with
 * golang.org/x/mod/sumdb/note, so standard tooling can verify our checkpoints and we can verify theirs.
 */
import crypto, { type KeyObject } from 'node:crypto'

/** Signature type byte for Ed25519 note signatures (c2sp.org/signed-note §Signature types). */
const ED25519_TYPE = 0x01
const EM_DASH_SPACE = '\u2014 '
/** Go's note.Open refuses more; the spec requires accepting at least 16. Bounds work on hostile input. */
const MAX_SIGNATURES = 100

/** A parsed verifier key: signatures are matched by both name and key id, as the spec requires. */
export interface NoteVerifierKey {
  name: string
  keyId: Buffer
  publicKey: KeyObject
}

export interface OpenedNote {
  /** The signed text, including its final newline. */
  text: string
  /** Names of the known keys whose signatures verified (at least one). */
  verifiedBy: string[]
}

/**
 * Key names are the first field of a signature line and of a verifier key, delimited by space and '+':
 * so they must be non-empty and free of Unicode spaces and '+' (c2sp.org/signed-note §Format).
 */
export function isValidKeyName(name: string): boolean {
  // \u0085 is a space to Go's unicode.IsSpace but not to JavaScript's \s.
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && !hasLoneSurrogate(name)
}

function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}

/** Strict standard base64 (RFC 4648 §4, padded, canonical): lenient decoding would let two texts mean one key. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64') === text ? bytes : undefined
}

/** The 32-byte RFC 8032 encoding of an Ed25519 public key (also accepts the private key). */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key
  if (pub.asymmetricKeyType !== 'ed25519') {
    throw new Error(`expected an Ed25519 key, got ${pub.asymmetricKeyType ?? pub.type}`)
  }
  const jwk = pub.export({ format: 'jwk' })
  return Buffer.from(jwk.x!, 'base64url')
}

/** key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4] (c2sp.org/signed-note §Ed25519 signatures). */
export function noteKeyId(name: string, rawPublicKey: Uint8Array): Buffer {
  const h = crypto.createHash('sha256')
  h.update(name, 'utf8')
  h.update(Buffer.from([0x0a, ED25519_TYPE]))
  h.update(rawPublicKey)
  return h.digest().subarray(0, 4)
}

/** `<name>+<8 hex key id>+<base64(0x01 ‖ public key)>`, the text served by GET /v1/audit/key. */
export function verifierKey(name: string, publicKey: KeyObject): string {
  if (!isValidKeyName(name))
    throw new Error(`invalid key name ${JSON.stringify(name)}: it must be non-empty, with no spaces and no '+'`)
  const raw = rawEd25519PublicKey(publicKey)
  const encoded = Buffer.concat([Buffer.from([ED25519_TYPE]), raw]).toString('base64')
  return `${name}+${noteKeyId(name, raw).toString('hex')}+${encoded}`
}

function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  return crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  })
}

/**
 * Parses a verifier key. The key id is recomputed and must match the one in the text, so a key whose name,
 * id and public key do not belong together is refused instead of silently never matching any signature.
 */
export function parseVerifierKey(text: string): NoteVerifierKey {
  if (/\s/.test(text)) throw new Error('malformed verifier key: it contains spaces or line breaks (trim the key text)')
  // Only the first two '+' are separators: the base64 key may itself contain '+' (as Go's note.NewVerifier).
  const first = text.indexOf('+')
  const second = first < 0 ? -1 : text.indexOf('+', first + 1)
  if (second < 0) {
    throw new Error('malformed verifier key: expected <name>+<8 hex digit key id>+<base64 key>')
  }
  const name = text.slice(0, first)
  const idHex = text.slice(first + 1, second)
  const keyB64 = text.slice(second + 1)
  if (!isValidKeyName(name)) throw new Error('malformed verifier key: the name is empty or contains spaces')
  if (!/^[0-9a-f]{8}$/.test(idHex)) {
    throw new Error(`malformed verifier key: the key id ${JSON.stringify(idHex)} is not 8 lowercase hex digits`)
  }
  const key = decodeBase64Strict(keyB64)
  if (!key) throw new Error('malformed verifier key: the key is not valid base64')
  if (key[0] !== ED25519_TYPE) {
    throw new Error(`unsupported verifier key: algorithm byte ${key[0] ?? 'missing'}, only Ed25519 (1) is supported`)
  }
  if (key.length !== 33) throw new Error(`malformed verifier key: an Ed25519 key is 32 bytes, got ${key.length - 1}`)
  const raw = key.subarray(1)
  const keyId = noteKeyId(name, raw)
  if (keyId.toString('hex') !== idHex) {
    throw new Error(
      `malformed verifier key: key id ${idHex} does not match name and key (expected ${keyId.toString('hex')})`,
    )
  }
  let publicKey: KeyObject
  try {
    publicKey = ed25519PublicKeyFromRaw(raw)
  } catch (err) {
    throw new Error('malformed verifier key: not a valid Ed25519 public key', { cause: err })
  }
  return { name, keyId, publicKey }
}

/** Signed notes are UTF-8 without control characters other than newline (c2sp.org/signed-note §Format). */
function checkNoteChars(text: string, what: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 && c !== 0x0a) {
      const code = c.toString(16).padStart(4, '0').toUpperCase()
      throw new Error(`${what} contains control character U+${code} at offset ${i}; only newlines are allowed`)
    }
  }
  if (hasLoneSurrogate(text)) throw new Error(`${what} is not valid Unicode text`)
}

/**
 * Signs `text` and returns the note: text, a blank line, then `— <name> base64(key id ‖ signature)`.
 * Ed25519 is deterministic, so the same text and key always give the same bytes.
 */
export function signNote(text: string, name: string, privateKey: KeyObject): string {
  if (!text.endsWith('\n')) throw new Error('note text must end with a newline')
  checkNoteChars(text, 'note text')
  if (!isValidKeyName(name))
    throw new Error(`invalid key name ${JSON.stringify(name)}: it must be non-empty, with no spaces and no '+'`)
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('signing key must be an Ed25519 private key')
  }
  const id = noteKeyId(name, rawEd25519PublicKey(privateKey))
  const sig = crypto.sign(null, Buffer.from(text, 'utf8'), privateKey)
  return `${text}\n${EM_DASH_SPACE}${name} ${Buffer.concat([id, sig]).toString('base64')}\n`
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new Error('malformed note: it is not valid UTF-8')
  }
}

/**
 * Verifies a signed note against known keys, following c2sp.org/signed-note §Signatures: signatures whose
 * (name, key id) match no known key are ignored (they may be witnesses' or a rotated key's); a known key's
 * signature that fails rejects the whole note (so tampering is reported as such, not as "unsigned"); at
 * least one known key must verify. The text is separated from the signatures by the last blank line.
 */
export function openNote(signed: string | Uint8Array, verifierKeys: readonly NoteVerifierKey[]): OpenedNote {
  const note = typeof signed === 'string' ? signed : decodeUtf8(signed)
  checkNoteChars(note, 'note')
  const split = note.lastIndexOf('\n\n')
  if (split < 0) throw new Error('malformed note: no blank line between the text and the signatures')
  const text = note.slice(0, split + 1)
  const sigBlock = note.slice(split + 2)
  if (sigBlock === '' || !sigBlock.endsWith('\n')) {
    throw new Error('malformed note: the signature block must be one or more lines, each ending with a newline')
  }
  const lines = sigBlock.slice(0, -1).split('\n')
  if (lines.length > MAX_SIGNATURES) throw new Error(`malformed note: more than ${MAX_SIGNATURES} signatures`)

  const verifiedBy: string[] = []
  const seen = new Set<string>()
  const unknown: string[] = []
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith(EM_DASH_SPACE)) {
      throw new Error(`malformed note: signature line ${i + 1} does not start with an em dash (U+2014) and a space`)
    }
    const rest = line.slice(EM_DASH_SPACE.length)
    const space = rest.indexOf(' ')
    const name = space < 0 ? rest : rest.slice(0, space)
    const b64 = space < 0 ? '' : rest.slice(space + 1)
    const sig = decodeBase64Strict(b64)
    if (!isValidKeyName(name) || !sig || sig.length < 5) {
      throw new Error(`malformed note: signature line ${i + 1} is not "— <key name> <base64 signature>"`)
    }
    const id = sig.subarray(0, 4)
    const key = verifierKeys.find((k) => k.name === name && k.keyId.equals(id))
    if (!key) {
      unknown.push(`${name}+${id.toString('hex')}`)
      continue
    }
    const tag = `${name}+${id.toString('hex')}`
    if (seen.has(tag)) continue
    seen.add(tag)
    let ok = false
    try {
      ok = crypto.verify(null, Buffer.from(text, 'utf8'), key.publicKey, sig.subarray(4))
    } catch {
      ok = false
    }
    if (!ok) {
      throw new Error(
        `the signature by ${tag} does not verify: the note was altered after signing, or signed by a different key with the same name and id`,
      )
    }
    verifiedBy.push(name)
  }
  if (verifiedBy.length === 0) {
    const known = verifierKeys.map((k) => `${k.name}+${k.keyId.toString('hex')}`).join(', ') || 'none'
    throw new Error(
      `the note is not signed by a known key (known: ${known}; signed by: ${unknown.join(', ')}): check that you have the right key file for this log`,
    )
  }
  return { text, verifiedBy }
}

/** Loads an Ed25519 private key from PEM text (PKCS #8, as `court-file-gateway keygen` writes it). */
export function loadEd25519PrivateKey(pem: string): KeyObject {
  let key: KeyObject
  try {
    key = crypto.createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new Error('the signing key file is not a PEM private key', { cause: err })
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the signing key must be an Ed25519 key, but it is ${key.asymmetricKeyType ?? 'unknown'}`)
  }
  return key
}

/** The public half of an Ed25519 private key. */
export function ed25519PublicKey(privateKey: KeyObject): KeyObject {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('expected an Ed25519 key')
  return privateKey.type === 'private' ? crypto.createPublicKey(privateKey) : privateKey
}

/** An Ed25519 private key from its 32-byte RFC 8032 seed (as Go's note signer keys carry it). */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`)
  // PKCS #8 wrapping of a raw seed: the fixed RFC 8410 prefix, then the 32 bytes.
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
  return crypto.createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' })
}
