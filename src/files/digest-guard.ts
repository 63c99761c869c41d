import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { isMarkedAsUntransferable } from 'node:worker_threads'
import type { StreamHasher } from './digests.js'

export interface GuardResult {
  bytes: number
  /** SHA-256 (hex) of exactly the bytes the client was sent; absent when it could not be computed. */
  sha256?: string
}

export interface GuardOptions {
  /** Checked only when the body is the whole representation (hex). */
  sha256?: string | undefined
  /** The length the body must have: the document's size or the range's length. */
  bytes: number
  hasher: StreamHasher
  /** Called once with the first cause of a failed transfer, before anything is torn down. */
  onFailure: (error: unknown) => void
  /**
   * The body's buffers belong to this transfer alone, as a court's body read by undici does (a fresh buffer per
   * read of the socket): they are freed as soon as they are written (see freeWhenWritten). A caller that reads
   * its chunks' buffers afterwards must leave this off.
   */
  freeWrittenBuffers?: boolean
  /**
   * Told of the bytes of each chunk left to the garbage collector once released (SocketBufferReclaimer.forwarded):
   * all of them, or with `freeWrittenBuffers` those whose buffer could not be freed as soon as it was written.
   */
  onLeftToCollector?: (bytes: number) => void
}

/** Documents (or ranges) shorter than this have what is released in one turn written to the socket at once. */
const GATHER_BELOW_BYTES = 1024 * 1024

/**
 * Forwards document bytes from the court's body to the client, hashing each chunk once as it is released
 * and holding back the last chunk until the whole body has been checked: when the digest or the length is
 * wrong, the final bytes are never sent and the client's connection is destroyed short of its
 * Content-Length instead of looking complete. A body that grows past the expected length fails as soon as
 * it does, before any of the excess is released.
 *
 * Backpressure holds end to end: the court's body is paused while the client's socket is full or the hasher
 * is behind, so at most a chunk or two per read is in the gateway whatever the two rates are (undici then
 * stops reading the court's socket). Resolves, never rejects, once the transfer has ended: with what the
 * client was sent, and the failure if there was one.
 *
 * The response's head (written with writeHead, not yet sent) goes out with the first bytes, in the same
 * write, when they follow within this turn of the event loop — a small document is one write to the socket
 * instead of three: head, first chunk, held chunk — and on its own at the next turn otherwise, so a client
 * waiting on a slow court sees the status and Access-Log-Index at once. A transfer cut before any byte was
 * released still sends it first.
 */
export function forwardChecked(
  body: Readable,
  out: ServerResponse,
  options: GuardOptions,
): Promise<{ sent: GuardResult; error?: unknown }> {
  const { hasher, bytes: expectedBytes, sha256: expectedSha256 } = options
  let held: Buffer | undefined
  let received = 0
  let sent = 0
  let heldReleased = false
  let waitingForClient = false
  let waitingForHasher = false
  let digests: ReturnType<StreamHasher['finish']> | undefined
  let ended = false
  let settle!: (result: { sent: GuardResult; error?: unknown }) => void
  const result = new Promise<{ sent: GuardResult; error?: unknown }>((resolve) => {
    settle = resolve
  })

  let headOut = false
  /** The head goes out: on its own (`flush`), or with the bytes about to be written. */
  const headGoes = (flush: boolean) => {
    if (headOut) return
    headOut = true
    clearImmediate(early)
    if (flush && !out.destroyed) out.flushHeaders()
  }
  const early = setImmediate(() => headGoes(true))
  // What is released in one turn of the event loop (the head, chunks, the held chunk and the end) is
  // gathered into one write to the socket at the next: for a small document, a write per chunk costs more than
  // copying; a large one is written a chunk at a time, as the socket takes it.
  const gathering = expectedBytes < GATHER_BELOW_BYTES
  let corked = false
  const uncork = () => {
    if (!corked) return
    corked = false
    out.uncork()
  }
  const gather = () => {
    if (corked || !gathering) return
    corked = true
    out.cork()
    setImmediate(uncork)
  }

  const resume = () => {
    if (!ended && !waitingForClient && !waitingForHasher) body.resume()
  }
  const leftToCollector = (bytes: number) => options.onLeftToCollector?.(bytes)
  const whenWritten = (chunk: Buffer) => {
    if (options.freeWrittenBuffers) return freeWhenWritten(chunk, hasher, leftToCollector)
    leftToCollector(chunk.length)
    return undefined
  }
  const release = (chunk: Buffer) => {
    if (!hasher.update(chunk)) waitingForHasher = true
    sent += chunk.length
    headGoes(false)
    gather()
    if (!out.write(chunk, whenWritten(chunk))) waitingForClient = true
    if (waitingForClient || waitingForHasher) body.pause()
  }
  const onData = (chunk: Buffer) => {
    received += chunk.length
    if (received > expectedBytes) {
      fail(new IntegrityError(`received more than the expected ${expectedBytes} bytes`))
      return
    }
    const previous = held
    held = chunk
    if (previous) release(previous)
  }
  const onEnd = () => {
    if (ended) return
    if (received !== expectedBytes) {
      fail(new IntegrityError(`received ${received} bytes, expected ${expectedBytes}`))
      return
    }
    digests = hasher.finish(held)
    digests.then(
      ({ whole }) => {
        if (ended) return
        if (expectedSha256 !== undefined && whole !== expectedSha256) {
          fail(new IntegrityError('SHA-256 of the document differs from the court catalogue'))
          return
        }
        headGoes(false)
        gather()
        if (held) {
          heldReleased = true
          sent += held.length
          out.end(held, whenWritten(held))
        } else out.end()
      },
      (error: unknown) => fail(error),
    )
  }
  const onClientClose = () => {
    if (!out.writableFinished) fail(new Error('the client connection closed before the end of the document'))
  }
  const onBodyClose = () => {
    if (!body.readableEnded) fail(new Error('the court body closed before its end'))
  }
  const onFinish = () => {
    if (ended) return
    ended = true
    detach()
    void report(undefined)
  }

  function fail(error: unknown): void {
    if (ended) return
    ended = true
    options.onFailure(error)
    detach()
    body.destroy()
    // The client sees the status and Access-Log-Index (and what was released), then a body cut short of its
    // Content-Length.
    uncork()
    headGoes(true)
    if (!out.destroyed) out.destroy()
    void report(error)
  }

  async function report(error: unknown): Promise<void> {
    let sha256: string | undefined
    try {
      // The hasher has seen exactly the released chunks (and, once finishing, the held one last).
      digests ??= hasher.finish(undefined)
      const { before, whole } = await digests
      sha256 = heldReleased ? whole : before
    } catch {
      sha256 = undefined
    }
    settle({ sent: { bytes: sent, ...(sha256 ? { sha256 } : {}) }, ...(error === undefined ? {} : { error }) })
  }

  const onDrain = () => {
    waitingForClient = false
    resume()
  }
  hasher.onReady(() => {
    waitingForHasher = false
    resume()
  })
  function detach(): void {
    body.off('data', onData)
    body.off('end', onEnd)
    body.off('error', fail)
    body.off('close', onBodyClose)
    out.off('drain', onDrain)
    out.off('error', fail)
    out.off('close', onClientClose)
    out.off('finish', onFinish)
  }
  body.on('error', fail)
  body.on('end', onEnd)
  body.on('close', onBodyClose)
  out.on('drain', onDrain)
  out.on('error', fail)
  out.on('close', onClientClose)
  out.on('finish', onFinish)
  if (out.destroyed) onClientClose()
  else body.on('data', onData)
  return result
}

/** Buffers smaller than this are not worth a detach (and a document's small buffers are few). */
const FREE_FROM_BYTES = 16 * 1024

/**
 * The write callback that frees `chunk`'s memory once the client's socket has taken it, instead of leaving it to
 * the collector (docs/architecture.md#memory-per-transfer): V8 counts every court socket buffer as external
 * memory and starts a full collection each time about 64 MiB more of it has been allocated, so a stream left to
 * the collector costs a major GC every 64 MiB (measured: 17 per GiB; a third of the gateway's CPU per GiB was
 * concurrent marking on the GC threads). Detaching the buffer (`ArrayBuffer.prototype.transfer(0)`) returns it
 * at once.
 *
 * Detaching is safe only for a buffer nothing else will read. It holds when:
 * - the chunk ends where its buffer ends: every later byte of the court's body is in a later buffer, so the
 *   held-back chunk, and any remainder undici handed back to the socket, are elsewhere (a buffer often starts
 *   with the response head or an earlier chunk, which are parsed or already written); the held-back chunk
 *   itself is freed once the response has ended;
 * - the socket has written it (the callback runs once it has, and writes complete in order, so an earlier
 *   chunk of the same buffer is written too);
 * - the hasher holds none of it (a worker hasher may queue chunks by reference while it is behind);
 * - the buffer is detachable: Node's shared pool of small buffers is not, and is never detached.
 * Anything else is left to the collector and counted for the reclaimer.
 */
function freeWhenWritten(
  chunk: Buffer,
  hasher: StreamHasher,
  leftToCollector: (bytes: number) => void,
): ((error?: Error | null) => void) | undefined {
  const { buffer } = chunk
  const freeable =
    buffer instanceof ArrayBuffer &&
    buffer.byteLength >= FREE_FROM_BYTES &&
    chunk.byteOffset + chunk.length === buffer.byteLength &&
    !isMarkedAsUntransferable(buffer)
  if (!freeable) {
    leftToCollector(chunk.length)
    return undefined
  }
  return (error) => {
    if (error || hasher.holds(buffer)) {
      leftToCollector(chunk.length)
      return
    }
    try {
      buffer.transfer(0)
    } catch {
      leftToCollector(chunk.length)
    }
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
