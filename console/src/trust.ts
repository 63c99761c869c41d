import type { Api, Item } from './api.js'
import {
  type Checkpoint,
  entryLeaf,
  fromBase64,
  leafHash,
  openCheckpoint,
  type PinnedKey,
  toBase64,
  verifyConsistency,
  verifyInclusion,
} from './verify.js'

/**
 * What the console believes about the log, and why: the checkpoint is believed only when the pinned key signed
 * it and it extends the last one this browser saw; an entry only when its own bytes are in that checkpoint.
 */
/** `wait`: nothing is wrong yet, but nothing is proven either (no key pinned, entry newer than the checkpoint). */
export interface Verdict {
  state: 'ok' | 'bad' | 'wait'
  message: string
}

const SEEN_KEY = 'cfg.seenCheckpoint'

interface Seen {
  key: string
  origin: string
  size: number
  root: string
}

function decodeProof(proof: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(proof)) return undefined
  const hashes = proof.map((p) => (typeof p === 'string' ? fromBase64(p) : undefined))
  return hashes.every((h): h is Uint8Array => h !== undefined) ? hashes : undefined
}

/**
 * Fetches and checks the latest checkpoint: its signature by the pinned key, then its consistency with the
 * checkpoint this browser last accepted (RFC 9162 §2.1.4). Only a checkpoint that passes both is remembered.
 */
export async function checkCheckpoint(
  api: Api,
  key: PinnedKey,
  storage: Storage,
): Promise<{ checkpoint?: Checkpoint; verdict: Verdict }> {
  let checkpoint: Checkpoint
  try {
    checkpoint = await openCheckpoint(await api.checkpoint(), key)
  } catch (error) {
    return { verdict: { state: 'bad', message: `Checkpoint NOT verified: ${(error as Error).message}.` } }
  }
  const signed = `Checkpoint of ${checkpoint.origin} at size ${checkpoint.size}: signature verified with the pinned key`
  let seen: Seen | undefined
  try {
    seen = JSON.parse(storage.getItem(SEEN_KEY) ?? 'null') ?? undefined
  } catch {
    seen = undefined
  }
  const remember = () =>
    storage.setItem(
      SEEN_KEY,
      JSON.stringify({
        key: key.text,
        origin: checkpoint.origin,
        size: checkpoint.size,
        root: toBase64(checkpoint.rootHash),
      }),
    )
  if (!seen || seen.key !== key.text || seen.origin !== checkpoint.origin) {
    remember()
    return { checkpoint, verdict: { state: 'ok', message: `${signed}; the first this browser has seen of this log.` } }
  }
  const oldRoot = fromBase64(seen.root)
  const fail = (why: string) => ({
    checkpoint,
    verdict: {
      state: 'bad',
      message: `Checkpoint NOT consistent with the one this browser saw at size ${seen.size}: ${why}.`,
    } as Verdict,
  })
  if (!oldRoot) return fail('the stored checkpoint is unreadable')
  if (checkpoint.size < seen.size) return fail('the log is now smaller, so it was rewritten')
  let consistent: boolean
  if (seen.size === 0) consistent = true
  else if (seen.size === checkpoint.size)
    consistent = await verifyConsistency(seen.size, seen.size, [], oldRoot, checkpoint.rootHash)
  else {
    let proof: Uint8Array[] | undefined
    try {
      proof = decodeProof((await api.consistency(seen.size, checkpoint.size)).proof)
    } catch (error) {
      return fail(`no consistency proof (${(error as Error).message})`)
    }
    consistent = !!proof && (await verifyConsistency(seen.size, checkpoint.size, proof, oldRoot, checkpoint.rootHash))
  }
  if (!consistent) return fail('the proof does not connect the two tree heads, so history was changed')
  remember()
  return {
    checkpoint,
    verdict: {
      state: 'ok',
      message: `${signed}; consistent with the checkpoint this browser saw at size ${seen.size}.`,
    },
  }
}

/** The entry as shown, hashed as its leaf, must be in the verified checkpoint by the served proof. */
export async function checkInclusion(api: Api, item: Item, checkpoint: Checkpoint): Promise<Verdict> {
  if (item.index >= checkpoint.size)
    return { state: 'bad', message: `Not yet covered by a signed checkpoint (size ${checkpoint.size}).` }
  try {
    const leaf = await leafHash(entryLeaf(item.entry))
    const proof = decodeProof((await api.inclusion(item.index, checkpoint.size)).proof)
    if (proof && (await verifyInclusion(leaf, item.index, checkpoint.size, proof, checkpoint.rootHash)))
      return { state: 'ok', message: `Included in the checkpoint at size ${checkpoint.size}.` }
    return { state: 'bad', message: 'Inclusion NOT verified: this entry, as shown, is not in the signed log.' }
  } catch (error) {
    return { state: 'bad', message: `Inclusion NOT verified: ${(error as Error).message}.` }
  }
}
