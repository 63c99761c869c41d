import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'

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

/** Reads an Ed25519 private key (PEM, PKCS#8), as written by `court-file-gateway keygen`. */
export function readPrivateKey(path: string): KeyObject {
  const key = createPrivateKey(readFileSync(path))
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${path}: expected an Ed25519 private key`)
  return key
}

export function generatePrivateKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** Writes a new key with owner-only permissions, refusing to overwrite one that exists. */
export function writeNewKey(path: string): void {
  if (existsSync(path)) throw new Error(`${path} exists: refusing to overwrite a key`)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, generatePrivateKeyPem(), { mode: 0o600, flag: 'wx' })
}

/** Loads a key file; when `createIfMissing` (dev only), a missing file is generated first. */
export function loadOrCreateKey(path: string, createIfMissing: boolean): KeyObject {
  if (!existsSync(path)) {
    if (!createIfMissing) throw new Error(`key file ${path} does not exist: create it with court-file-gateway keygen`)
    writeNewKey(path)
  }
  return readPrivateKey(path)
}

/** Signs the gateway's requests to court adapters and publishes the matching JWKS. */
export class RequestSigner {
  readonly issuer: string
  readonly #privateKey: KeyObject
  readonly #jwk: JWK
  #kid = ''
  /** The encoded protected header, the same for every token. */
  #header = ''

  private constructor(issuer: string, privateKey: KeyObject) {
    this.issuer = issuer
    this.#privateKey = privateKey
    this.#jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  }

  static async create(issuer: string, privateKey: KeyObject): Promise<RequestSigner> {
    const signer = new RequestSigner(issuer, privateKey)
    signer.#kid = await calculateJwkThumbprint(signer.#jwk)
    signer.#header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: signer.#kid })).toString('base64url')
    return signer
  }

  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.#jwk, kid: this.#kid, alg: 'EdDSA', use: 'sig' }] }
  }

  /**
   * A compact JWS (EdDSA) for one request. Signed synchronously with node:crypto: jose signs through the
   * asynchronous WebCrypto API, which costs a promise round trip and more CPU on every court request for the
   * same bytes (Ed25519 signatures are deterministic, so the token is byte for byte what jose produced).
   */
  sign(claims: RequestClaims): string {
    const issuedAt = Math.floor(Date.now() / 1000)
    const payload = {
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
    const input = `${this.#header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
    return `${input}.${sign(null, Buffer.from(input), this.#privateKey).toString('base64url')}`
  }
}
