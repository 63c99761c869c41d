import crypto from 'node:crypto'
import canonicalize from 'canonicalize'
import t from 'tap'
import { formatCheckpoint } from '../../src/accesslog/checkpoint.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import { consistencyProof, Frontier, inclusionProof, type NodeReader } from '../../src/accesslog/merkle/tree.js'
import { signNote, verifierKey } from '../../src/accesslog/note.js'
import { formatReceipt } from '../../src/accesslog/receipt.js'
import { verifyBundle, verifyCheckpointConsistency, verifyExport, verifyReceipt } from '../../src/accesslog/verify.js'

const ORIGIN = 'court-file-gateway.test/log'
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
const keyText = `${verifierKey(ORIGIN, publicKey)}\n` // as saved from GET /v1/audit/key

/** A log as the gateway writes it: canonical JSON entries, each with `prev` = base64 leaf hash before it. */
function buildLog(n: number) {
  const leaves: Buffer[] = []
  const nodes = new Map<string, Buffer>()
  const frontier = new Frontier()
  const roots: Buffer[] = [frontier.root()]
  let prev: Buffer | undefined
  for (let i = 0; i < n; i++) {
    const entry = {
      v: 1,
      time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
      requestId: `req-${i}`,
      actor: { sub: `user-${i % 7}`, org: '230100', roles: ['prosecutor'], issuer: 'https://idp.example' },
      action: 'document.read',
      resource: { court: '黑01', caseNo: '(2024)黑01民初1号', document: `doc-${i}` },
      phase: i % 2 === 0 ? 'intent' : 'outcome',
      decision: 'allow',
      ...(prev ? { prev: prev.toString('base64') } : {}),
    }
    const leaf = Buffer.from(canonicalize(entry)!, 'utf8')
    const hash = leafHash(leaf)
    leaves.push(leaf)
    for (const node of frontier.append(hash)) nodes.set(`${node.level}/${node.index}`, node.hash)
    roots.push(frontier.root())
    prev = hash
  }
  const read: NodeReader = (level, index) => {
    const h = nodes.get(`${level}/${index}`)
    if (!h) throw new Error(`missing node ${level}/${index}`)
    return h
  }
  return { leaves, roots, read }
}

const exportOf = (leaves: Buffer[]) => leaves.map((l) => `${l.toString('utf8')}\n`).join('')
const checkpointFor = (size: number, root: Buffer, key = privateKey, origin = ORIGIN) =>
  signNote(formatCheckpoint({ origin, size, rootHash: root }), origin, key)

/** Changes one field of an entry, keeping it valid canonical JSON (as a careful forger would). */
function alter(leaf: Buffer, change: (e: Record<string, unknown>) => void): Buffer {
  const entry = JSON.parse(leaf.toString('utf8')) as Record<string, unknown>
  change(entry)
  return Buffer.from(canonicalize(entry)!, 'utf8')
}

const log = buildLog(40)
const cp40 = checkpointFor(40, log.roots[40]!)
const cp30 = checkpointFor(30, log.roots[30]!)

t.test('a faithful export verifies', async (t) => {
  const text = exportOf(log.leaves)
  const res = verifyExport({ exportText: text, checkpointText: cp40, keyText })
  t.same(res, { ok: true, origin: ORIGIN, size: 40, rootHash: log.roots[40] })
  t.same(verifyExport({ exportText: Buffer.from(text), checkpointText: Buffer.from(cp40), keyText }), res, 'as bytes')
  t.same(
    verifyExport({ exportText: text, checkpointText: cp30, keyText }),
    { ok: true, origin: ORIGIN, size: 30, rootHash: log.roots[30] },
    'entries beyond the checkpoint are ignored',
  )
  t.same(
    verifyExport({ exportText: text.slice(0, -1), checkpointText: cp40, keyText }).ok,
    true,
    'a missing final newline is tolerated',
  )
  const empty = checkpointFor(0, log.roots[0]!)
  t.same(verifyExport({ exportText: '', checkpointText: empty, keyText }).ok, true, 'empty log')
  t.same(verifyExport({ exportText: text, checkpointText: empty, keyText }).ok, true, 'empty checkpoint, longer export')
  t.match(
    verifyExport({ exportText: '', checkpointText: checkpointFor(0, Buffer.alloc(32)), keyText }),
    { ok: false, message: /empty log, but its root hash is not the empty tree's/ },
    'an empty-log checkpoint with a wrong root',
  )
})

t.test('a tampered export names the first broken index', async (t) => {
  const cases: Array<{ name: string; leaves: Buffer[]; cp?: string; index: number[]; message: RegExp }> = []
  const edit = (fn: (l: Buffer[]) => void) => {
    const copy = [...log.leaves]
    fn(copy)
    return copy
  }
  cases.push({
    name: 'one entry altered',
    leaves: edit((l) => {
      l[17] = alter(l[17]!, (e) => (e['action'] = 'volumes.read'))
    }),
    index: [17],
    message:
      /^entry 17 does not match: its hash differs from the prev of entry 18 — the export was altered at or after index 17$/,
  })
  cases.push({
    name: 'first entry altered',
    leaves: edit((l) => {
      l[0] = alter(l[0]!, (e) => (e['decision'] = 'deny'))
    }),
    index: [0],
    message: /^entry 0 does not match/,
  })
  cases.push({
    name: 'an entry and its prev altered',
    leaves: edit((l) => {
      l[17] = alter(l[17]!, (e) => (e['prev'] = leafHash(log.leaves[3]!).toString('base64')))
    }),
    index: [17],
    message:
      /^entry 17 was altered: its prev is not the hash of entry 16, and its own hash is not the prev of entry 18$/,
  })
  cases.push({
    name: 'a byte flipped (not JSON any more)',
    leaves: edit((l) => {
      l[21] = Buffer.from(l[21]!)
      l[21][0] = 0x5b
    }),
    index: [21],
    message: /^entry 21 /,
  })
  cases.push({
    name: 'an entry replaced by JSON that is not an object',
    leaves: edit((l) => {
      l[21] = Buffer.from('[1,2]')
    }),
    index: [21],
    message: /^entry 21 was altered/,
  })
  cases.push({
    name: 'last entry altered, nothing after it',
    leaves: edit((l) => {
      l[39] = alter(l[39]!, (e) => (e['requestId'] = 'forged'))
    }),
    index: [39],
    message: /every prev link is intact: the last entry the checkpoint covers \(index 39\) was altered/,
  })
  cases.push({
    name: 'last covered entry altered, a later entry vouches',
    leaves: edit((l) => {
      l[29] = alter(l[29]!, (e) => (e['requestId'] = 'forged'))
    }),
    cp: cp30,
    index: [29],
    message: /^entry 29 does not match: its hash differs from the prev of entry 30/,
  })
  cases.push({
    name: 'one entry deleted',
    leaves: edit((l) => l.splice(10, 1)),
    index: [10],
    message:
      /^entry 10 does not follow entry 9: its prev is not the hash of entry 9 — an entry is missing at index 10 \(the export has 39 of the 40 entries/,
  })
  cases.push({
    name: 'one entry deleted, later entries still cover the checkpoint',
    leaves: edit((l) => l.splice(10, 1)),
    cp: cp30,
    index: [9, 10],
    message: /entr(y|ies) .*(9|10)/,
  })
  cases.push({
    name: 'the tail cut off',
    leaves: edit((l) => l.splice(35)),
    index: [35],
    message: /^the export has 35 entries but the checkpoint covers 40: entries from index 35 on are missing$/,
  })
  cases.push({
    name: 'two entries swapped',
    leaves: edit((l) => {
      ;[l[5], l[6]] = [l[6]!, l[5]!]
    }),
    index: [5, 6],
    message: /entry [56]/,
  })
  cases.push({
    name: 'a forged entry inserted with a correct prev',
    leaves: edit((l) =>
      l.splice(
        12,
        0,
        alter(l[12]!, (e) => (e['requestId'] = 'inserted')),
      ),
    ),
    index: [12],
    message: /^entry 12 does not match: its hash differs from the prev of entry 13/,
  })
  cases.push({
    name: 'line endings converted to CR LF',
    leaves: edit((l) => {
      for (const [i, leaf] of l.entries()) l[i] = Buffer.concat([leaf, Buffer.from('\r')])
    }),
    index: [0, 1],
    message: /CR LF/,
  })

  for (const c of cases) {
    const res = verifyExport({ exportText: exportOf(c.leaves), checkpointText: c.cp ?? cp40, keyText })
    t.equal(res.ok, false, `${c.name}: fails`)
    if (res.ok) continue
    t.ok(
      res.index !== undefined && c.index.includes(res.index),
      `${c.name}: index ${res.index} in ${c.index.join(' or ')}`,
    )
    t.match(res.message, c.message, `${c.name}: message`)
  }

  // Without prev links the altered entry cannot be pinned down, and the message says so.
  const bare = log.leaves.map((l) => alter(l, (e) => delete e['prev']))
  const bareFrontier = new Frontier()
  for (const l of bare) bareFrontier.push(leafHash(l))
  const bareCp = checkpointFor(40, bareFrontier.root())
  t.same(verifyExport({ exportText: exportOf(bare), checkpointText: bareCp, keyText }).ok, true)
  bare[7] = alter(bare[7]!, (e) => (e['decision'] = 'deny'))
  const res = verifyExport({ exportText: exportOf(bare), checkpointText: bareCp, keyText })
  t.same(res, {
    ok: false,
    message:
      "the 40 entries do not match the checkpoint's root hash; they carry no prev links, so the altered entry cannot be located",
  })
})

t.test('checkpoint and key problems', async (t) => {
  const exportText = exportOf(log.leaves)
  const other = crypto.generateKeyPairSync('ed25519')
  const cases: Array<[string, { checkpointText: string; keyText: string }, RegExp]> = [
    [
      'checkpoint size altered',
      { checkpointText: cp40.replace('\n40\n', '\n39\n'), keyText },
      /^the checkpoint does not verify with key court-file-gateway\.test\/log: the signature by court-file-gateway\.test\/log\+[0-9a-f]{8} does not verify/,
    ],
    [
      'checkpoint root altered',
      { checkpointText: cp40.replace(log.roots[40]!.toString('base64'), log.roots[39]!.toString('base64')), keyText },
      /does not verify/,
    ],
    [
      'checkpoint signed by another key',
      { checkpointText: checkpointFor(40, log.roots[40]!, other.privateKey), keyText },
      /not signed by a known key/,
    ],
    [
      'wrong key file',
      { checkpointText: cp40, keyText: verifierKey(ORIGIN, other.publicKey) },
      /not signed by a known key/,
    ],
    [
      'key of another log',
      { checkpointText: cp40, keyText: verifierKey('other.example/log', publicKey) },
      /not signed by a known key/,
    ],
    [
      'malformed key',
      { checkpointText: cp40, keyText: 'not a key' },
      /^the key file is not a usable verifier key: malformed verifier key/,
    ],
    ['empty key', { checkpointText: cp40, keyText: '' }, /^the key file is not a usable verifier key/],
    [
      'malformed checkpoint note',
      { checkpointText: 'garbage', keyText },
      /^the checkpoint does not verify.*malformed note/,
    ],
    ['empty checkpoint', { checkpointText: '', keyText }, /malformed note/],
    [
      'signed but malformed checkpoint',
      {
        checkpointText: signNote(`${ORIGIN}\n040\n${log.roots[40]!.toString('base64')}\n`, ORIGIN, privateKey),
        keyText,
      },
      /malformed checkpoint: the size "040"/,
    ],
    [
      'signed checkpoint with a short root',
      { checkpointText: signNote(`${ORIGIN}\n40\nAAAA\n`, ORIGIN, privateKey), keyText },
      /root hash is 3 bytes/,
    ],
  ]
  for (const [name, args, re] of cases) {
    const res = verifyExport({ exportText, ...args })
    t.equal(res.ok, false, name)
    if (!res.ok) {
      t.match(res.message, re, `${name}: message`)
      t.equal(res.index, undefined, `${name}: no index`)
    }
  }
  // Never throws, whatever it is given.
  const weird = verifyExport({ exportText: 42, checkpointText: null, keyText: undefined } as never)
  t.equal(weird.ok, false)
  t.match(verifyExport({ exportText: 42 as never, checkpointText: cp40, keyText }), {
    ok: false,
    message: /^verification failed: /,
  })
})

t.test('a bundle: a filtered selection, each entry with its receipt (verify --bundle)', async (t) => {
  const receiptFor = (index: number, treeSize: number, cp: string) =>
    formatReceipt({ index, proof: inclusionProof(index, treeSize, log.read), checkpoint: cp })
  const lineOf = (index: number, treeSize = 40, cp = cp40, leaf = log.leaves[index]!) =>
    `${JSON.stringify({ entry: JSON.parse(leaf.toString('utf8')), index, receipt: receiptFor(index, treeSize, cp) })}\n`
  // Receipts fetched while the log grew name different checkpoints: the newest is reported.
  const bundle = lineOf(3) + lineOf(17, 30, cp30) + lineOf(39)
  t.same(verifyBundle({ bundleText: bundle, keyText }), {
    ok: true,
    origin: ORIGIN,
    size: 40,
    rootHash: log.roots[40],
    entries: 3,
  })
  t.same(verifyBundle({ bundleText: Buffer.from(lineOf(5)), keyText }).ok, true, 'bytes, one line')

  const forged =
    lineOf(3) +
    lineOf(
      17,
      40,
      cp40,
      alter(log.leaves[17]!, (e) => (e.decision = 'deny')),
    )
  t.match(verifyBundle({ bundleText: forged, keyText }), {
    ok: false,
    index: 17,
    message: /^entry 17 does not verify against the receipt/,
  })
  const swapped = lineOf(3).replace('"index":3', '"index":4')
  t.same(verifyBundle({ bundleText: swapped, keyText }), {
    ok: false,
    index: 4,
    message: 'line 1 claims entry 4, but its receipt is for entry 3',
  })
  const { privateKey: otherKey } = crypto.generateKeyPairSync('ed25519')
  const otherLog = lineOf(4, 40, checkpointFor(40, log.roots[40]!, otherKey))
  t.match(verifyBundle({ bundleText: lineOf(3) + otherLog, keyText }), {
    ok: false,
    message: /^the receipt's checkpoint does not verify with key/,
  })
  // One key may sign checkpoints of two logs: their receipts do not make one bundle.
  const otherOrigin = signNote(
    formatCheckpoint({ origin: 'other.log', size: 40, rootHash: log.roots[40]! }),
    ORIGIN,
    privateKey,
  )
  t.same(verifyBundle({ bundleText: lineOf(3) + lineOf(4, 40, otherOrigin), keyText }), {
    ok: false,
    index: 4,
    message: `the receipts are of different logs (${ORIGIN}, other.log)`,
  })
  const failures: Array<[string, RegExp]> = [
    ['', /^the bundle holds no entries$/],
    ['not json\n', /^line 1 of the bundle is not JSON/],
    [`${lineOf(3)}{"entry":{},"index":4}\n`, /^line 2 of the bundle is not \{"entry", "index", "receipt"\}$/],
    ['null\n', /^line 1 of the bundle is not \{"entry", "index", "receipt"\}$/],
  ]
  for (const [bundleText, message] of failures) {
    t.match(verifyBundle({ bundleText, keyText }), { ok: false, message }, JSON.stringify(bundleText.slice(0, 20)))
  }
})

t.test('receipts', async (t) => {
  const size = 40
  const receiptFor = (index: number, treeSize = size, cp = cp40) =>
    formatReceipt({ index, proof: inclusionProof(index, treeSize, log.read), checkpoint: cp })

  for (const index of [0, 1, 17, 31, 32, 39]) {
    t.same(
      verifyReceipt({ receiptText: receiptFor(index), entryBytes: log.leaves[index]!, keyText }),
      { ok: true, origin: ORIGIN, size, rootHash: log.roots[40], index },
      `receipt for ${index}`,
    )
  }
  const one = buildLog(1)
  const cp1 = checkpointFor(1, one.roots[1]!)
  t.equal(
    verifyReceipt({
      receiptText: formatReceipt({ index: 0, proof: [], checkpoint: cp1 }),
      entryBytes: one.leaves[0]!,
      keyText,
    }).ok,
    true,
    'one-entry log',
  )
  t.equal(
    verifyReceipt({
      receiptText: Buffer.from(receiptFor(5)),
      entryBytes: log.leaves[5]!,
      keyText: Buffer.from(keyText),
    }).ok,
    true,
    'bytes input',
  )

  const r5 = receiptFor(5)
  const altered = alter(log.leaves[5]!, (e) => (e['decision'] = 'deny'))
  const bad = verifyReceipt({ receiptText: r5, entryBytes: altered, keyText })
  t.same(bad, {
    ok: false,
    index: 5,
    message:
      "entry 5 does not verify against the receipt: the entry's bytes differ from what was logged at index 5, or the receipt's proof was altered.",
  })
  const nl = verifyReceipt({ receiptText: r5, entryBytes: Buffer.concat([log.leaves[5]!, Buffer.from('\n')]), keyText })
  t.match(nl, { ok: false, index: 5, message: /ends with a line break.*remove it/ })
  t.match(
    verifyReceipt({ receiptText: r5, entryBytes: log.leaves[6]!, keyText }),
    { ok: false, index: 5 },
    'another entry',
  )
  t.match(
    verifyReceipt({ receiptText: r5.replace('index 5', 'index 4'), entryBytes: log.leaves[5]!, keyText }),
    { ok: false, index: 4 },
    'index changed',
  )

  // Tamper with one proof hash.
  const lines = r5.split('\n')
  const hashLine = lines[2]!
  const flipped = Buffer.from(hashLine, 'base64')
  flipped[0]! ^= 1
  const tampered = r5.replace(hashLine, flipped.toString('base64'))
  t.match(verifyReceipt({ receiptText: tampered, entryBytes: log.leaves[5]!, keyText }), {
    ok: false,
    index: 5,
    message: /proof was altered/,
  })
  // A truncated proof.
  t.match(verifyReceipt({ receiptText: r5.replace(`${hashLine}\n`, ''), entryBytes: log.leaves[5]!, keyText }), {
    ok: false,
    index: 5,
  })
  // A proof for a smaller tree under the bigger checkpoint.
  t.match(
    verifyReceipt({
      receiptText: formatReceipt({ index: 5, proof: inclusionProof(5, 30, log.read), checkpoint: cp40 }),
      entryBytes: log.leaves[5]!,
      keyText,
    }),
    { ok: false, index: 5 },
  )

  const other = crypto.generateKeyPairSync('ed25519')
  const failures: Array<[string, Parameters<typeof verifyReceipt>[0], RegExp, number?]> = [
    [
      'wrong key',
      { receiptText: r5, entryBytes: log.leaves[5]!, keyText: verifierKey(ORIGIN, other.publicKey) },
      /^the receipt's checkpoint does not verify.*not signed by a known key/,
    ],
    [
      'malformed key',
      { receiptText: r5, entryBytes: log.leaves[5]!, keyText: `${ORIGIN}+zz+AAAA` },
      /^the key file is not a usable verifier key/,
    ],
    [
      'malformed receipt',
      { receiptText: r5.replace('c2sp.org/tlog-proof@v1', 'tlog-proof'), entryBytes: log.leaves[5]!, keyText },
      /^the receipt cannot be read: malformed receipt: the first line/,
    ],
    [
      'receipt without checkpoint',
      { receiptText: r5.slice(0, r5.indexOf('\n\n') + 2), entryBytes: log.leaves[5]!, keyText },
      /checkpoint is missing/,
    ],
    [
      'checkpoint in the receipt altered',
      { receiptText: r5.replace('\n40\n', '\n41\n'), entryBytes: log.leaves[5]!, keyText },
      /^the receipt's checkpoint does not verify.*does not verify/,
    ],
    [
      'index beyond the checkpoint',
      { receiptText: formatReceipt({ index: 50, proof: [], checkpoint: cp40 }), entryBytes: log.leaves[5]!, keyText },
      /^the receipt is for entry 50, but its checkpoint covers only 40 entries$/,
      50,
    ],
    ['entry is not bytes', { receiptText: r5, entryBytes: 'text' as never, keyText }, /bytes/],
    ['nothing at all', { receiptText: undefined, entryBytes: undefined, keyText: undefined } as never, /./],
  ]
  for (const [name, args, re, index] of failures) {
    const res = verifyReceipt(args)
    t.equal(res.ok, false, name)
    if (!res.ok) {
      t.match(res.message, re, `${name}: message`)
      t.equal(res.index, index, `${name}: index`)
    }
  }
})

t.test('a large export verifies, and an entry altered deep inside it is named (timing: bench/log.ts)', async (t) => {
  const n = 50_000
  // Built by hand for speed; keys are in RFC 8785 order, so each line is canonical JSON.
  const parts: string[] = []
  const frontier = new Frontier()
  let prev = ''
  for (let i = 0; i < n; i++) {
    const line =
      i === 0
        ? `{"action":"document.read","i":${i},"v":1}`
        : `{"action":"document.read","i":${i},"prev":"${prev}","v":1}`
    const hash = leafHash(Buffer.from(line))
    frontier.push(hash)
    prev = hash.toString('base64')
    parts.push(line)
  }
  const cp = checkpointFor(n, frontier.root())
  const res = verifyExport({ exportText: Buffer.from(`${parts.join('\n')}\n`), checkpointText: cp, keyText })
  t.same(res, { ok: true, origin: ORIGIN, size: n, rootHash: frontier.root() })

  const target = 37_654
  parts[target] = parts[target]!.replace('document.read', 'document.READ')
  const bad = verifyExport({ exportText: Buffer.from(`${parts.join('\n')}\n`), checkpointText: cp, keyText })
  t.match(bad, { ok: false, index: target, message: /^entry 37654 does not match/ })
})

t.test('checkpoint consistency (verify --consistency)', async (t) => {
  const proofOf = (from: number, to: number, proof = consistencyProof(from, to, log.read)) =>
    JSON.stringify({ from, to, proof: proof.map((h) => h.toString('base64')) })
  const check = (
    from: number,
    to: number,
    proofText = proofOf(from, to),
    newText = checkpointFor(to, log.roots[to]!),
  ) => verifyCheckpointConsistency({ oldText: checkpointFor(from, log.roots[from]!), newText, proofText, keyText })

  for (const [from, to] of [
    [1, 40],
    [7, 8],
    [8, 33],
    [13, 13],
  ] as const) {
    t.same(check(from, to), { ok: true, origin: ORIGIN, size: to, rootHash: log.roots[to], from }, `${from} -> ${to}`)
  }
  t.equal(check(0, 5, JSON.stringify({ from: 0, to: 5, proof: [] })).ok, true, 'the empty tree is a prefix of all')

  const altered = consistencyProof(10, 30, log.read)
  altered[0] = Buffer.alloc(32, 1)
  t.match(check(10, 30, proofOf(10, 30, altered)), { ok: false, message: /NOT consistent with the one at size 10/ })
  // A rewritten history: a tree head for size 30 whose root is not the one that extends size 10.
  t.match(check(10, 30, proofOf(10, 30), checkpointFor(30, log.roots[29]!)), { ok: false, message: /NOT consistent/ })
  t.match(check(30, 10, proofOf(10, 30), checkpointFor(10, log.roots[10]!)), {
    ok: false,
    message: /smaller than the old one/,
  })
  t.match(check(10, 30, proofOf(10, 31)), { ok: false, message: /the proof is from 10 to 31, not from 10 to 30/ })
  t.match(check(10, 30, '{"proof": ["not base64!"]}'), { ok: false, message: /not a consistency proof/ })
  t.match(check(10, 30, 'nope'), { ok: false, message: /not a consistency proof/ })
  const forged = crypto.generateKeyPairSync('ed25519').privateKey
  t.match(check(10, 30, proofOf(10, 30), checkpointFor(30, log.roots[30]!, forged)), {
    ok: false,
    message: /the new checkpoint does not verify/,
  })
  const otherOrigin = signNote(
    formatCheckpoint({ origin: 'other.log', size: 30, rootHash: log.roots[30]! }),
    ORIGIN,
    privateKey,
  )
  t.match(check(10, 30, proofOf(10, 30), otherOrigin), { ok: false, message: /different logs \(.*, other\.log\)/ })
  const otherLogKey = crypto.generateKeyPairSync('ed25519')
  t.match(
    verifyCheckpointConsistency({
      oldText: checkpointFor(10, log.roots[10]!),
      newText: checkpointFor(30, log.roots[30]!),
      proofText: proofOf(10, 30),
      keyText: verifierKey(ORIGIN, otherLogKey.publicKey),
    }),
    { ok: false, message: /the old checkpoint does not verify/ },
  )
})
