// Apart from transport.ts (which loads undici) because activation, on the gateway's start path, needs only this.
import { createHash } from 'node:crypto'

/** The most bytes read from one answer: more is a named failure, not a process out of memory. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024

/**
 * The most bytes of one answer kept in memory: all of a JSON answer or problem (the gateway reads no JSON from a
 * court larger than this either, src/adapters/client.ts), the start of a document. The rest is only hashed.
 */
export const KEPT_BODY_BYTES = 4 * 1024 * 1024

/** What a caller asks of one answer beyond its length, digest and first bytes. */
export interface ReadOptions {
  /** Also the SHA-256 of every byte but the first, and the last byte: for the range checks on a document. */
  tail?: boolean
}

/** One answer's body as read: never more than KEPT_BODY_BYTES of it in memory. */
export interface BodyRead {
  /** The first bytes received, at most KEPT_BODY_BYTES: the whole body when `length` is no larger. */
  body: Buffer
  /** Every byte received. */
  length: number
  /** The SHA-256 of every byte received. */
  sha256: Buffer
  /** Only when asked (`ReadOptions.tail`): the SHA-256 of bytes 1 to the end, and the last byte (none if empty). */
  tail?: { sha256: Buffer; last: number | undefined }
}

export interface ReaderLimits {
  /** MAX_BODY_BYTES unless a test wants a smaller cap. */
  maxBytes?: number
  /** Told the size of every chunk received (the gateway's reclaimer of dead socket buffers). */
  onReceived?: (bytes: number) => void
}

/**
 * Reads a body to its end within the cap, hashing it as it streams and keeping only its first KEPT_BODY_BYTES;
 * the caller's deadline bounds how long that may take. Past the cap the body is destroyed and an Error names it.
 */
export async function readAnswer(
  body: AsyncIterable<unknown> & { destroy(): void },
  options: ReadOptions & ReaderLimits = {},
): Promise<BodyRead> {
  const maxBytes = options.maxBytes ?? MAX_BODY_BYTES
  const hash = createHash('sha256')
  const tailHash = options.tail ? createHash('sha256') : undefined
  const kept: Buffer[] = []
  let keptBytes = 0
  let length = 0
  let last: number | undefined
  for await (const item of body) {
    const chunk = item as Buffer
    if (chunk.length === 0) continue
    if (length + chunk.length > maxBytes) {
      body.destroy()
      throw new Error(`the answer is larger than ${maxBytes} bytes`)
    }
    options.onReceived?.(chunk.length)
    hash.update(chunk)
    if (tailHash) {
      tailHash.update(length === 0 ? chunk.subarray(1) : chunk)
      last = chunk[chunk.length - 1]
    }
    if (keptBytes < KEPT_BODY_BYTES) {
      // A copy, so that no more than the kept bytes stay referenced (a chunk may be a view of a larger buffer).
      const piece = Buffer.from(chunk.subarray(0, KEPT_BODY_BYTES - keptBytes))
      kept.push(piece)
      keptBytes += piece.length
    }
    length += chunk.length
  }
  return {
    body: Buffer.concat(kept, keptBytes),
    length,
    sha256: hash.digest(),
    ...(tailHash ? { tail: { sha256: tailHash.digest(), last } } : {}),
  }
}

/** The same reading of bytes already in memory (an answer a test or a wrapping transport builds). */
export function bodyOf(bytes: Buffer, options: ReadOptions = {}): BodyRead {
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest()
  return {
    body: bytes.subarray(0, KEPT_BODY_BYTES),
    length: bytes.length,
    sha256: sha256(bytes),
    ...(options.tail ? { tail: { sha256: sha256(bytes.subarray(1)), last: bytes[bytes.length - 1] } } : {}),
  }
}
