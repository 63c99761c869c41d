import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

export interface GuardResult {
  bytes: number
  sha256: string
}

/**
 * Passes document bytes through while hashing them, holding back the last chunk until the whole body has
 * been checked: when the digest or the length is wrong, the final bytes are never sent and the stream
 * fails, so the client's transfer is cut short of its Content-Length instead of looking complete. A body
 * that grows past the expected length fails as soon as it does.
 */
export class DigestGuard extends Transform {
  /** Hash of the bytes released to the client so far (everything but the held chunk). */
  readonly #sent = createHash('sha256')
  readonly #expectedSha256: string | undefined
  readonly #expectedBytes: number | undefined
  #held: Buffer | undefined
  #sentBytes = 0
  #receivedBytes = 0

  /** `sha256` (hex) is checked only when the body is the whole representation. */
  constructor(expected: { sha256?: string | undefined; bytes?: number | undefined }) {
    super()
    this.#expectedSha256 = expected.sha256
    this.#expectedBytes = expected.bytes
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#receivedBytes += chunk.length
    // A body longer than expected is cut at once (a court may send without end), before any of it is released.
    if (this.#expectedBytes !== undefined && this.#receivedBytes > this.#expectedBytes) {
      callback(new IntegrityError(`received more than the expected ${this.#expectedBytes} bytes`))
      return
    }
    const previous = this.#held
    this.#held = chunk
    if (previous) this.#release(previous)
    callback(null, previous)
  }

  #release(chunk: Buffer): void {
    this.#sent.update(chunk)
    this.#sentBytes += chunk.length
  }

  override _flush(callback: TransformCallback): void {
    const failure = this.#check()
    if (failure) {
      callback(failure)
      return
    }
    const last = this.#held
    if (last) this.#release(last)
    this.#held = undefined
    callback(null, last)
  }

  #check(): IntegrityError | undefined {
    if (this.#expectedBytes !== undefined && this.#receivedBytes !== this.#expectedBytes) {
      return new IntegrityError(`received ${this.#receivedBytes} bytes, expected ${this.#expectedBytes}`)
    }
    if (this.#expectedSha256 !== undefined) {
      const whole = this.#sent.copy()
      if (this.#held) whole.update(this.#held)
      if (whole.digest('hex') !== this.#expectedSha256) {
        return new IntegrityError('SHA-256 of the document differs from the court catalogue')
      }
    }
    return undefined
  }

  /** What the client was sent: byte count and SHA-256 of exactly those bytes. */
  sentSoFar(): GuardResult {
    return { bytes: this.#sentBytes, sha256: this.#sent.copy().digest('hex') }
  }
}

export class IntegrityError extends Error {
  override name = 'IntegrityError'
}

/** Parses `sha-256=:<base64>:` out of a Repr-Digest header into hex, or undefined. */
export function sha256FromReprDigest(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header
  const match = value?.match(/(?:^|,)\s*sha-256=:([A-Za-z0-9+/]+=*):/)
  if (!match) return undefined
  const bytes = Buffer.from(match[1]!, 'base64')
  return bytes.length === 32 ? bytes.toString('hex') : undefined
}

export function reprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`
}
