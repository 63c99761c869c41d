import crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { formatCheckpoint, openCheckpoint, parseCheckpoint } from '../../src/accesslog/checkpoint.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import {
  ed25519PrivateKeyFromSeed,
  ed25519PublicKey,
  loadEd25519PrivateKey,
  noteKeyId,
  openNote,
  parseVerifierKey,
  rawEd25519PublicKey,
  signNote,
  verifierKey,
} from '../../src/accesslog/note.js'

interface NoteVectors {
  signed_note_golang_mod: {
    keys: {
      PeterNeumann: { vkey: string; skey: string; key_id_hex: string }
      EnochRoot: { vkey: string; key_id_hex: string }
    }
    note_text: string
    signed_note_peter: string
    signature_lines: { PeterNeumann: string; EnochRoot: string }
    negative_vkeys: string[]
  }
  signed_note_c2sp_example: { vkey: string; signed_note: string }
  checkpoint_sum_golang_org: { vkey: string; origin: string; size: number; root_b64: string; signed_checkpoint: string }
  checkpoint_extra_sigs_formats_benchmark: { pairs: Array<{ vkey: string; sig_line: string }> }
  checkpoint_c2sp_example: { signed_checkpoint: string }
  go_sumdb_tree_format: { tree_size: number; record: string; formatted: string }
}

const v = JSON.parse(
  readFileSync(new URL('../fixtures/vectors/signed_note_checkpoint_vectors.json', import.meta.url), 'utf8'),
) as NoteVectors
const golang = v.signed_note_golang_mod

/** Go's note signer key: PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed). */
function goSignerKey(skey: string) {
  const [p, k, name, id, ...rest] = skey.split('+') as [string, string, string, string, ...string[]]
  const data = rest.join('+') // base64 may contain '+'
  if (p !== 'PRIVATE' || k !== 'KEY') throw new Error('not a Go signer key')
  const raw = Buffer.from(data, 'base64')
  if (raw[0] !== 1 || raw.length !== 33) throw new Error('not an Ed25519 signer key')
  return { name, id, privateKey: ed25519PrivateKeyFromSeed(raw.subarray(1)) }
}

t.test('golang.org/x/mod note vectors: key ids, vkeys, exact signing, verification', async (t) => {
  const peter = parseVerifierKey(golang.keys.PeterNeumann.vkey)
  const enoch = parseVerifierKey(golang.keys.EnochRoot.vkey)
  t.equal(peter.name, 'PeterNeumann')
  t.equal(peter.keyId.toString('hex'), golang.keys.PeterNeumann.key_id_hex)
  t.equal(enoch.name, 'EnochRoot')
  t.equal(enoch.keyId.toString('hex'), golang.keys.EnochRoot.key_id_hex)

  const signer = goSignerKey(golang.keys.PeterNeumann.skey)
  t.equal(signer.id, golang.keys.PeterNeumann.key_id_hex)
  t.equal(
    verifierKey(signer.name, ed25519PublicKey(signer.privateKey)),
    golang.keys.PeterNeumann.vkey,
    'vkey from private key',
  )
  t.equal(verifierKey('PeterNeumann', peter.publicKey), golang.keys.PeterNeumann.vkey, 'vkey round trip')
  t.equal(noteKeyId('PeterNeumann', rawEd25519PublicKey(peter.publicKey)).toString('hex'), 'c74f20a3')

  // Ed25519 is deterministic: signing must reproduce Go's bytes exactly.
  t.equal(
    signNote(golang.note_text, 'PeterNeumann', signer.privateKey),
    golang.signed_note_peter,
    'exact signing output',
  )
  t.equal(`${golang.note_text}\n${golang.signature_lines.PeterNeumann}`, golang.signed_note_peter)

  t.same(openNote(golang.signed_note_peter, [peter]), { text: golang.note_text, verifiedBy: ['PeterNeumann'] })
  t.same(openNote(Buffer.from(golang.signed_note_peter), [peter]).text, golang.note_text, 'bytes input')

  const both = `${golang.note_text}\n${golang.signature_lines.PeterNeumann}${golang.signature_lines.EnochRoot}`
  t.same(openNote(both, [peter, enoch]).verifiedBy, ['PeterNeumann', 'EnochRoot'], 'both signatures verify')
  t.same(openNote(both, [enoch]).verifiedBy, ['EnochRoot'], 'unknown signatures are ignored')
  const twice = `${golang.note_text}\n${golang.signature_lines.PeterNeumann}${golang.signature_lines.PeterNeumann}`
  t.same(openNote(twice, [peter]).verifiedBy, ['PeterNeumann'], 'a repeated signature counts once')

  for (const bad of golang.negative_vkeys) t.throws(() => parseVerifierKey(bad), Error, `negative vkey ${bad}`)
})

t.test('C2SP signed-note example', async (t) => {
  const ex = v.signed_note_c2sp_example
  const key = parseVerifierKey(ex.vkey)
  const opened = openNote(ex.signed_note, [key])
  t.equal(opened.text, 'This is an example message.\n')
  t.same(opened.verifiedBy, ['example.com/foo'])
})

t.test('sum.golang.org checkpoint and extra signatures', async (t) => {
  const cp = v.checkpoint_sum_golang_org
  const key = parseVerifierKey(cp.vkey)
  const opened = openCheckpoint(cp.signed_checkpoint, [key])
  t.equal(opened.origin, cp.origin)
  t.equal(opened.size, cp.size)
  t.equal(opened.rootHash.toString('base64'), cp.root_b64)
  t.same(opened.verifiedBy, ['sum.golang.org'])
  const body = cp.signed_checkpoint.slice(0, cp.signed_checkpoint.indexOf('\n\n') + 1)
  t.equal(formatCheckpoint({ origin: cp.origin, size: cp.size, rootHash: Buffer.from(cp.root_b64, 'base64') }), body)

  for (const pair of v.checkpoint_extra_sigs_formats_benchmark.pairs) {
    const k = parseVerifierKey(pair.vkey)
    const sig = Buffer.from(pair.sig_line.split(' ')[2]!, 'base64')
    t.same(sig.subarray(0, 4), k.keyId, `${k.name}: key id in the signature`)
    const note = `${body}\n${pair.sig_line}\n`
    t.same(openNote(note, [k]).verifiedBy, [k.name], `${k.name} signature verifies`)
    // All signatures together, known keys all of them.
    const all = `${cp.signed_checkpoint}${v.checkpoint_extra_sigs_formats_benchmark.pairs.map((p) => `${p.sig_line}\n`).join('')}`
    t.ok(openNote(all, [key, k]).verifiedBy.includes(k.name))
  }
})

t.test('C2SP checkpoint example (format vector only: no public key)', async (t) => {
  const signed = v.checkpoint_c2sp_example.signed_checkpoint
  const body = signed.slice(0, signed.indexOf('\n\n') + 1)
  const cp = parseCheckpoint(body)
  t.equal(cp.origin, 'example.com/behind-the-sofa')
  t.equal(cp.size, 20852163)
  t.equal(formatCheckpoint(cp), body)
  const someKey = parseVerifierKey(v.checkpoint_sum_golang_org.vkey)
  t.throws(
    () => openNote(signed, [someKey]),
    /not signed by a known key/,
    'same key id, other name: ignored, so unsigned',
  )
})

t.test('go sumdb tree format', async (t) => {
  const g = v.go_sumdb_tree_format
  const text = formatCheckpoint({
    origin: 'go.sum database tree',
    size: g.tree_size,
    rootHash: leafHash(Buffer.from(g.record)),
  })
  t.equal(text, g.formatted)
  t.same(parseCheckpoint(text).size, g.tree_size)
})

t.test('verifier key parsing errors', async (t) => {
  const good = golang.keys.PeterNeumann.vkey
  const cases: Array<[string, RegExp]> = [
    ['', /expected <name>\+<8 hex digit key id>\+<base64 key>/],
    ['PeterNeumann+c74f20a3', /expected/],
    [`${good}+extra`, /not valid base64/],
    [`${good}\n`, /trim/],
    [good.replace('PeterNeumann', ''), /name/],
    [good.replace('c74f20a3', 'C74F20A3'), /8 lowercase hex/],
    [good.replace('c74f20a3', 'c74f20a'), /8 lowercase hex/],
    [good.replace('c74f20a3', 'c74f20a4'), /does not match/],
    ['PeterNeumann+c74f20a3+not!base64', /base64/],
    ['PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', /base64/],
    [good.replace('+AR', '+Ah'), /algorithm byte 2/],
  ]
  for (const [text, re] of cases) t.throws(() => parseVerifierKey(text), re, JSON.stringify(text))
  const { privateKey } = crypto.generateKeyPairSync('ed25519')
  t.throws(() => verifierKey('bad name', ed25519PublicKey(privateKey)), /invalid key name/)
  t.throws(() => verifierKey('a+b', ed25519PublicKey(privateKey)), /invalid key name/)
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  t.throws(() => verifierKey('ec', ec.publicKey), /Ed25519/)
})

t.test('signing and opening: round trip and failures', async (t) => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
  const name = 'court-file-gateway.test/log'
  const key = parseVerifierKey(verifierKey(name, publicKey))
  const text = 'line one\n\nline three after an empty line\n'
  const signed = signNote(text, name, privateKey)
  t.same(openNote(signed, [key]), { text, verifiedBy: [name] }, 'text may contain blank lines')
  t.match(signed, /\n\n\u2014 court-file-gateway\.test\/log [A-Za-z0-9+/]+=*\n$/)

  t.throws(() => signNote('no newline', name, privateKey), /must end with a newline/)
  t.throws(() => signNote('tab\there\n', name, privateKey), /control character U\+0009/)
  t.throws(() => signNote('ok\n', 'has space', privateKey), /invalid key name/)
  t.throws(() => signNote('ok\n', name, publicKey), /Ed25519 private key/)

  const other = crypto.generateKeyPairSync('ed25519')
  const otherKey = parseVerifierKey(verifierKey(name, other.publicKey))
  t.throws(
    () => openNote(signed, [otherKey]),
    /not signed by a known key.*court-file-gateway\.test\/log\+/,
    'wrong key',
  )
  t.throws(() => openNote(signed, []), /known: none/)

  const altered = signed.replace('line one', 'line 0ne')
  t.throws(() => openNote(altered, [key]), /does not verify: the note was altered/, 'altered text')

  // A bad signature under a known key's name and id rejects the note, even before a good one. (After a good
  // one it is a repeat of that key and skipped unverified, as in Go's note.Open.)
  const goodLine = signed.slice(signed.lastIndexOf('\n\n') + 2)
  const badSig = Buffer.from(goodLine.trim().split(' ').pop()!, 'base64')
  badSig[10]! ^= 1
  const badLine = `\u2014 ${name} ${badSig.toString('base64')}\n`
  t.throws(() => openNote(`${text}\n${badLine}${goodLine}`, [key]), /does not verify/)
  t.same(openNote(`${text}\n${goodLine}${badLine}`, [key]).verifiedBy, [name])

  const malformed: Array<[string | Uint8Array, RegExp]> = [
    ['no blank line\n- sig\n', /no blank line/],
    [`${text}\n`, /signature block/],
    [`${text}\n\u2014 ${name} AAAA`, /signature block/],
    [`${text}\n- ${name} AAAAAAAA\n`, /em dash/],
    [`${text}\n\u2014 ${name}\n`, /signature line 1 is not/],
    [`${text}\n\u2014 ${name} AAAA\n`, /signature line 1 is not/],
    [`${text}\n\u2014 ${name} !!!!!!!!\n`, /signature line 1 is not/],
    [`${text}\n\u2014 ${name} AAAAAAAA\n\u2014  AAAAAAAA\n`, /signature line 2 is not/],
    [`bell\u0007\n\n\u2014 ${name} AAAAAAAA\n`, /control character U\+0007/],
    [`cr\r\n\n\u2014 ${name} AAAAAAAA\n`, /control character U\+000D/],
    [Buffer.concat([Buffer.from([0xff]), Buffer.from(signed)]), /not valid UTF-8/],
    [`bad \ud800 surrogate\n\n\u2014 ${name} AAAAAAAA\n`, /not valid Unicode/],
    [`${text}\n${`\u2014 other AAAAAAAA\n`.repeat(101)}`, /more than 100 signatures/],
  ]
  for (const [note, re] of malformed) t.throws(() => openNote(note, [key]), re, re.source)
})

t.test('private key helpers', async (t) => {
  const { privateKey } = crypto.generateKeyPairSync('ed25519')
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const loaded = loadEd25519PrivateKey(pem)
  const pub = ed25519PublicKey(loaded)
  t.equal(pub.type, 'public')
  t.same(rawEd25519PublicKey(pub), rawEd25519PublicKey(privateKey))
  const key = parseVerifierKey(verifierKey('k', pub))
  t.same(openNote(signNote('hello\n', 'k', loaded), [key]).verifiedBy, ['k'])
  t.equal(ed25519PublicKey(pub), pub, 'a public key is its own public key')

  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 })
  t.throws(
    () => loadEd25519PrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    /must be an Ed25519 key/,
  )
  t.throws(() => loadEd25519PrivateKey('not a pem'), /not a PEM private key/)
  t.throws(() => ed25519PublicKey(rsa.privateKey), /Ed25519/)
  t.throws(() => ed25519PrivateKeyFromSeed(Buffer.alloc(31)), /32 bytes/)
})

t.test('checkpoint parsing is strict', async (t) => {
  const root = Buffer.alloc(32, 7).toString('base64')
  t.same(parseCheckpoint(`o\n0\n${root}\n`), { origin: 'o', size: 0, rootHash: Buffer.alloc(32, 7) })
  t.same(parseCheckpoint(`o\n5\n${root}\next one\next two\n`).extensions, ['ext one', 'ext two'])
  t.equal(
    formatCheckpoint({ origin: 'o', size: 5, rootHash: Buffer.alloc(32, 7), extensions: ['x'] }),
    `o\n5\n${root}\nx\n`,
  )
  const cases: Array<[string, RegExp]> = [
    [`o\n1\n${root}`, /end with a newline/],
    ['o\n1\n', /expected origin, size and root hash lines/],
    [`\n1\n${root}\n`, /origin line is empty/],
    [`o\n01\n${root}\n`, /leading zeros/],
    [`o\n-1\n${root}\n`, /leading zeros/],
    [`o\n+1\n${root}\n`, /leading zeros/],
    [`o\n1.0\n${root}\n`, /leading zeros/],
    [`o\n\n${root}\n`, /leading zeros/],
    [`o\n18446744073709551615\n${root}\n`, /too large/],
    ['o\n1\nnot base64!\n', /not valid base64/],
    [`o\n1\n${root.slice(0, -1)}\n`, /not valid base64/],
    [`o\n1\n${Buffer.alloc(31).toString('base64')}\n`, /31 bytes/],
    [`o\n1\n${root}\n\n`, /empty extension line/],
  ]
  for (const [text, re] of cases) t.throws(() => parseCheckpoint(text), re, JSON.stringify(text))
  const h = Buffer.alloc(32)
  t.throws(() => formatCheckpoint({ origin: '', size: 1, rootHash: h }), /origin/)
  t.throws(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash: h }), /origin/)
  t.throws(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: h }), /size/)
  t.throws(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: Buffer.alloc(20) }), /32 bytes/)
  t.throws(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: h, extensions: [''] }), /extension/)
})
