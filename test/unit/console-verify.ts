import { readFileSync } from 'node:fs'
import t from 'tap'
import { canonicalJson as serverCanonicalJson } from '../../src/accesslog/canonical-json.js'
import { ed25519PrivateKeyFromSeed, signNote, verifierKey, ed25519PublicKey } from '../../src/accesslog/note.js'
import {
  canonicalJson,
  fromBase64,
  leafHash,
  nodeHash,
  openCheckpoint,
  parseVerifierKey,
  toBase64,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from '../../console/src/verify.js'

// The console's WebCrypto port against the vectors the server's Merkle and note code is tested with.
const vectors = (name: string): any =>
  JSON.parse(readFileSync(new URL(`../fixtures/vectors/${name}`, import.meta.url), 'utf8'))
const rfc = vectors('rfc6962_merkle_vectors.json')
const probes = vectors('transparency-dev_merkle_probes.json')
const notes = vectors('signed_note_checkpoint_vectors.json')
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'))
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))

t.test('hashes and RFC 9162 proofs of the classic eight leaves', async (t) => {
  for (const v of rfc.hasher_vectors as Array<{
    want: string
    leaf_data_hex?: string
    left_hex?: string
    right_hex?: string
  }>) {
    if (v.leaf_data_hex !== undefined) t.equal(toHex(await leafHash(hex(v.leaf_data_hex))), v.want)
    else if (v.left_hex !== undefined) t.equal(toHex(await nodeHash(hex(v.left_hex), hex(v.right_hex!))), v.want)
  }
  const leaves = await Promise.all((rfc.leaves_hex as string[]).map((l) => leafHash(hex(l))))
  for (const p of rfc.inclusion_proofs as Array<{ leaf_index: number; tree_size: number; proof: string[] }>) {
    const root = hex(rfc.roots_by_size[String(p.tree_size)])
    const proof = p.proof.map(hex)
    t.ok(
      await verifyInclusion(leaves[p.leaf_index]!, p.leaf_index, p.tree_size, proof, root),
      `inclusion ${p.leaf_index}/${p.tree_size}`,
    )
    const wrongRoot = hex(rfc.roots_by_size[String(p.tree_size - 1)] ?? rfc.roots_by_size['1'])
    t.notOk(await verifyInclusion(leaves[p.leaf_index]!, p.leaf_index, p.tree_size, proof, wrongRoot))
    if (proof.length > 0) {
      const flipped = proof.map((h) => h.slice())
      flipped[0]![0]! ^= 1
      t.notOk(await verifyInclusion(leaves[p.leaf_index]!, p.leaf_index, p.tree_size, flipped, root), 'one bit off')
    }
  }
  for (const p of rfc.consistency_proofs as Array<{ size1: number; size2: number; proof: string[] }>) {
    const r1 = hex(rfc.roots_by_size[String(p.size1)])
    const r2 = hex(rfc.roots_by_size[String(p.size2)])
    t.ok(await verifyConsistency(p.size1, p.size2, p.proof.map(hex), r1, r2), `consistency ${p.size1}->${p.size2}`)
    if (p.size1 !== p.size2) t.notOk(await verifyConsistency(p.size1, p.size2, p.proof.map(hex), r2, r1))
  }
})

t.test('transparency-dev/merkle probes: every bad proof is refused, every good one accepted', async (t) => {
  const list = (proof: string[] | null) => (proof ?? []).map(b64)
  for (const p of probes.inclusion) {
    const ok = await verifyInclusion(b64(p.leafHash), p.leafIdx, p.treeSize, list(p.proof), b64(p.root))
    t.equal(ok, !p.wantErr, `inclusion ${p.file}: ${p.desc}`)
  }
  for (const p of probes.consistency) {
    const ok = await verifyConsistency(p.size1, p.size2, list(p.proof), b64(p.root1), b64(p.root2))
    t.equal(ok, !p.wantErr, `consistency ${p.file}: ${p.desc}`)
  }
})

t.test('verifier keys and signed checkpoints', async (t) => {
  const sum = notes.checkpoint_sum_golang_org
  const key = await parseVerifierKey(`${sum.vkey}\n`)
  t.equal(key.name, 'sum.golang.org')
  t.equal(toHex(key.keyId), '033de0ae')
  t.match(key.fingerprint, /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/)
  const cp = await openCheckpoint(sum.signed_checkpoint, key)
  t.equal(cp.origin, sum.origin)
  t.equal(cp.size, sum.size)
  t.equal(toBase64(cp.rootHash), sum.root_b64)

  const tampered = sum.signed_checkpoint.replace(String(sum.size), String(sum.size + 1))
  await t.rejects(openCheckpoint(tampered, key), /does not verify/)
  const peter = await parseVerifierKey(notes.signed_note_golang_mod.keys.PeterNeumann.vkey)
  await t.rejects(openCheckpoint(sum.signed_checkpoint, peter), /not signed by the pinned key PeterNeumann\+c74f20a3/)
  await t.rejects(openCheckpoint('go.sum database tree\n1\n', key), /not a signed note/)
  // A signed note that is not a checkpoint is refused after its signature verified.
  await t.rejects(openCheckpoint(notes.signed_note_golang_mod.signed_note_peter, peter), /body is malformed/)

  await t.rejects(
    parseVerifierKey('sum.golang.org+033de0af+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8'),
    /does not match/,
  )
  await t.rejects(parseVerifierKey('no-plus-signs'), /reads <name>/)
  await t.rejects(parseVerifierKey('a b+033de0ae+AA=='), /spaces/)
  await t.rejects(parseVerifierKey('x+033de0ae+Ag=='), /only Ed25519/)
})

t.test('a checkpoint signed by the server code opens with a key formatted by it', async (t) => {
  const privateKey = ed25519PrivateKeyFromSeed(new Uint8Array(32).fill(7))
  const vkey = verifierKey('test.gateway/log', ed25519PublicKey(privateKey))
  const root = Buffer.alloc(32, 9).toString('base64')
  const signed = signNote(`test.gateway/log\n5\n${root}\n`, 'test.gateway/log', privateKey)
  const cp = await openCheckpoint(signed, await parseVerifierKey(vkey))
  t.equal(cp.size, 5)
  t.equal(toBase64(cp.rootHash), root)
})

t.test('canonical JSON matches the server byte for byte; base64 is strict', async (t) => {
  const entry = {
    v: 1,
    time: '2026-11-30T08:00:00.000Z',
    actor: { sub: 'zhang.wei', org: '230100', roles: ['prosecutor'] },
    resource: { court: '黑01', caseNo: '（2023）黑01民终1234号' },
    outcome: { durationMs: 12.5, bytes: 100, status: 206 },
    detail: { z: null, a: [1, 'é', { b: true }], '\u00e9': 1e21, '\ud83d\ude00': 'x"\n' },
    gone: undefined,
  }
  t.equal(canonicalJson(entry), serverCanonicalJson(entry))
  t.throws(() => canonicalJson({ n: Number.NaN }))
  t.same(fromBase64('AAE='), Uint8Array.of(0, 1))
  t.equal(fromBase64('AAF='), undefined, 'non-canonical padding bits')
  t.equal(fromBase64('AAE'), undefined)
})
