// Apart from transport.ts (which loads undici) because activation, on the gateway's start path, needs only this.

/** The most bytes read from one answer: more is a named failure, not a process out of memory. */
export const MAX_BODY_BYTES = 256 * 1024 * 1024

/** Reads a body to its end within the cap; the caller's deadline bounds how long that may take. */
export async function readCapped(body: AsyncIterable<unknown> & { destroy(): void }): Promise<Buffer> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of body) {
    length += (chunk as Buffer).length
    if (length > MAX_BODY_BYTES) {
      body.destroy()
      throw new Error(`the answer is larger than ${MAX_BODY_BYTES} bytes`)
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
