import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  type SignKeyObjectInput,
  sign,
} from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { JWK, JWTPayload } from 'jose'
import { SigningThread } from './signing-thread.js'

/** Each key type's required members, in the order RFC 7638 §3.2 hashes them (lexicographic). */
const THUMBPRINT_MEMBERS: Record<string, string[]> = { OKP: ['crv', 'kty', 'x'], EC: ['crv', 'kty', 'x', 'y'] }

/**
 * The RFC 7638 thumbprint of a public key (SHA-256, base64url): what jose's calculateJwkThumbprint computes,
 * with node:crypto, because loading jose took a tenth of a second of every start for this one call.
 */
export function jwkThumbprint(jwk: JWK): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? '']
  if (!members) throw new Error(`no thumbprint for key type ${jwk.kty}`)
  const canonical = `{${members.map((name) => `${JSON.stringify(name)}:${JSON.stringify((jwk as Record<string, unknown>)[name])}`).join(',')}}`
  return createHash('sha256').update(canonical).digest('base64url')
}

/** A request token's lifetime; docs/courts.md#request-tokens caps it at 60 s so a leaked token is useless almost at once. */
export const REQUEST_TOKEN_TTL_SECONDS = 60

export interface RequestClaims {
  /** The code of the court whose file is read (docs/courts.md#request-tokens: `aud`). */
  court: string
  sub: string
  org: string
  grant: string
  purpose: string
  /** The index of the intent entry that authorised this request. */
  log: number
}

/** EdDSA (Ed25519) or ES256 (ECDSA P-256), which Spring Security / Nimbus verify out of the box. */
export type SigningAlgorithm = 'EdDSA' | 'ES256'
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256']

/** The algorithm a private key signs with; throws for any other kind of key. */
export function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  throw new Error('expected an Ed25519 (EdDSA) or P-256 (ES256) private key')
}

/** Reads an Ed25519 or P-256 private key (PEM, PKCS#8), as written by `court-file-gateway keygen`. */
export function readPrivateKey(path: string): KeyObject {
  const key = createPrivateKey(readFileSync(path))
  try {
    algorithmOf(key)
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`)
  }
  return key
}

export function generatePrivateKeyPem(algorithm: SigningAlgorithm = 'EdDSA'): string {
  const { privateKey } =
    algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** Writes a new key with owner-only permissions, refusing to overwrite one that exists. */
export function writeNewKey(path: string, algorithm: SigningAlgorithm = 'EdDSA'): void {
  if (existsSync(path)) throw new Error(`${path} exists: refusing to overwrite a key`)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, generatePrivateKeyPem(algorithm), { mode: 0o600, flag: 'wx' })
}

/** Loads a key file; when `createIfMissing` (dev only), a missing file is generated first. */
export function loadOrCreateKey(
  path: string,
  createIfMissing: boolean,
  algorithm: SigningAlgorithm = 'EdDSA',
): KeyObject {
  if (!existsSync(path)) {
    if (!createIfMissing) throw new Error(`key file ${path} does not exist: create it with court-file-gateway keygen`)
    writeNewKey(path, algorithm)
  }
  const key = readPrivateKey(path)
  if (algorithmOf(key) !== algorithm) {
    throw new Error(`${path} is an ${algorithmOf(key)} key, but adapters.signingAlgorithm is ${algorithm}`)
  }
  return key
}

/** Signs the gateway's requests to court adapters and publishes the matching JWKS. */
export class RequestSigner {
  readonly issuer: string
  readonly algorithm: SigningAlgorithm
  readonly #privateKey: KeyObject
  readonly #keys: JWK[]
  readonly #thread: SigningThread
  #kid = ''
  /** The encoded protected header, the same for every token. */
  #header = ''

  private constructor(issuer: string, privateKey: KeyObject, keys: JWK[]) {
    this.issuer = issuer
    this.algorithm = algorithmOf(privateKey)
    this.#privateKey = privateKey
    this.#keys = keys
    const [digest, key] = this.#signWith()
    this.#thread = new SigningThread({ digest, key })
  }

  /**
   * `nextKey` is published in the JWKS but signs nothing yet: once every court has fetched it, the operator
   * makes it the signing key and no court meets a `kid` it does not know (docs/courts.md#key-rotation).
   */
  static async create(issuer: string, privateKey: KeyObject, nextKey?: KeyObject): Promise<RequestSigner> {
    const published = (key: KeyObject): JWK => {
      const jwk = createPublicKey(key).export({ format: 'jwk' }) as JWK
      return { ...jwk, kid: jwkThumbprint(jwk), alg: algorithmOf(key), use: 'sig' }
    }
    const current = published(privateKey)
    const keys = nextKey ? [current, published(nextKey)] : [current]
    const signer = new RequestSigner(issuer, privateKey, keys)
    signer.#kid = current.kid ?? ''
    signer.#header = Buffer.from(JSON.stringify({ alg: signer.algorithm, typ: 'JWT', kid: signer.#kid })).toString(
      'base64url',
    )
    return signer
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((key) => ({ ...key })) }
  }

  /** Signs exactly `payload` (the conformance checks forge expired, over-long and other-court tokens with it). */
  signPayload(payload: JWTPayload): string {
    const input = this.#signingInput(payload)
    const [digest, key] = this.#signWith()
    return `${input}.${sign(digest, Buffer.from(input), key).toString('base64url')}`
  }

  /**
   * A compact JWS (EdDSA or ES256) for one request, signed with node:crypto on the calling thread. (jose signs
   * through WebCrypto, which costs more CPU for the same bytes: Ed25519 signatures are deterministic, so an EdDSA
   * token is byte for byte what jose produced.)
   */
  sign(claims: RequestClaims): string {
    return this.signPayload(this.#requestPayload(claims))
  }

  /**
   * As `sign`, but off the event loop: on the signing thread once startThread() has started it, on libuv's
   * pool before (bench/ of issue 10: signing on the event loop was 7 % of a read's main-thread CPU).
   */
  async signAsync(claims: RequestClaims): Promise<string> {
    const input = this.#signingInput(this.#requestPayload(claims))
    return `${input}.${await this.#thread.sign(input)}`
  }

  /** Signs on a thread of its own from now on (see SigningThread); the server starts it once it is ready. */
  startThread(): void {
    this.#thread.start()
  }

  /** As startThread, and resolves once the thread runs. */
  threadReady(): Promise<void> {
    return this.#thread.ready()
  }

  /** Whether signatures are made on the signing thread now. */
  get onThread(): boolean {
    return this.#thread.online
  }

  /** Ends the signing thread, if started; what it was still signing, and anything later, is signed on the pool. */
  close(): Promise<void> {
    return this.#thread.close()
  }

  #requestPayload(claims: RequestClaims): JWTPayload {
    const issuedAt = Math.floor(Date.now() / 1000)
    return {
      org: claims.org,
      grant: claims.grant,
      purpose: claims.purpose,
      log: claims.log,
      iss: this.issuer,
      aud: claims.court,
      sub: claims.sub,
      // One clock reading for both: two could straddle a second and make exp - iat exceed the 60-s cap.
      iat: issuedAt,
      exp: issuedAt + REQUEST_TOKEN_TTL_SECONDS,
    }
  }

  /** node:crypto's `sign` arguments: ES256 signatures are r || s (JWS, RFC 7518 §3.4), not node's default DER. */
  #signWith(): [string | null, KeyObject | SignKeyObjectInput] {
    return this.algorithm === 'ES256'
      ? ['sha256', { key: this.#privateKey, dsaEncoding: 'ieee-p1363' }]
      : [null, this.#privateKey]
  }

  /** `header.payload` of a compact JWS, the bytes the signature covers (ASCII: base64url only). */
  #signingInput(payload: JWTPayload): string {
    return `${this.#header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  }
}
