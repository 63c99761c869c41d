import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { IssuerConfig } from '../config/types.js'
import type { Role } from './principal.js'

export const DEV_ISSUER = 'urn:court-file-gateway:dev'
export const DEFAULT_DEV_KEY_FILE = 'data/dev-issuer-key.pem'

export interface MintOptions {
  sub: string
  org: string
  roles: readonly Role[]
  name?: string
  audience: string
  ttlSeconds?: number
}

/** An issuer config that carries its own key set, so no file or URL is needed to verify its tokens. */
export type InMemoryIssuerConfig = IssuerConfig & { jwks: { keys: object[] } }

export interface DevIssuer {
  readonly issuer: string
  /** RFC 7638 thumbprint of the public key: stable for a key file, different for every new key. */
  readonly kid: string
  issuerConfig(): InMemoryIssuerConfig
  /** A signed EdDSA JWT carrying the claims of docs/architecture.md#tokens. */
  mint(options: MintOptions): string
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url')
}

function readOrCreateKey(keyFile: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(keyFile))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`dev issuer: cannot read the key in ${keyFile}`, { cause: error })
    }
  }
  const { privateKey } = generateKeyPairSync('ed25519')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' })
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 })
  try {
    // 'wx' so that two processes starting together cannot overwrite each other's key.
    writeFileSync(keyFile, pem, { mode: 0o600, flag: 'wx' })
    return privateKey
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return createPrivateKey(readFileSync(keyFile))
  }
}

/**
 * A local issuer for trying the gateway out, keeping its Ed25519 key in `keyFile` (created on first use).
 * It vouches for every org kind, so it must never be enabled in production.
 */
export function loadDevIssuer(
  keyFile: string = DEFAULT_DEV_KEY_FILE,
  options: { maxTokenLifetimeSeconds?: number } = {},
): DevIssuer {
  const privateKey = readOrCreateKey(keyFile)
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`dev issuer: ${keyFile} does not hold an Ed25519 private key`)
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  // RFC 7638: the required members in lexicographic order, no whitespace.
  const kid = base64url(
    createHash('sha256')
      .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }))
      .digest(),
  )
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: 'EdDSA', use: 'sig' }

  return {
    issuer: DEV_ISSUER,
    kid,
    issuerConfig: () => ({
      issuer: DEV_ISSUER,
      algorithms: ['EdDSA'],
      orgKinds: ['court', 'procuratorate', 'operator', 'audit'],
      jwks: { keys: [{ ...publicJwk }] },
      ...(options.maxTokenLifetimeSeconds === undefined
        ? {}
        : { maxTokenLifetimeSeconds: options.maxTokenLifetimeSeconds }),
    }),
    // Signed with node:crypto rather than jose because jose only signs asynchronously, and the `token`
    // command and tests want a plain function.
    mint({ sub, org, roles, name, audience, ttlSeconds = 3600 }: MintOptions): string {
      const iat = Math.floor(Date.now() / 1000)
      const header = { alg: 'EdDSA', typ: 'JWT', kid }
      const payload = {
        iss: DEV_ISSUER,
        aud: audience,
        sub,
        org,
        roles: [...roles],
        ...(name === undefined ? {} : { name }),
        iat,
        exp: iat + ttlSeconds,
      }
      const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`
      return `${input}.${base64url(sign(null, Buffer.from(input), privateKey))}`
    },
  }
}
