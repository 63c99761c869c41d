import canonicalize from 'canonicalize'
import t from 'tap'
import { openCheckpoint } from '../../src/accesslog/checkpoint.js'
import type { Entry } from '../../src/accesslog/entry.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import { verifyConsistency, verifyInclusion } from '../../src/accesslog/merkle/tree.js'
import { parseVerifierKey } from '../../src/accesslog/note.js'
import { verifyExport, verifyReceipt } from '../../src/accesslog/verify.js'
import {
  eventually,
  type Harness,
  type Person,
  registerAdapter,
  startAdapter,
  startGateway,
  tokenOf,
} from '../helpers/harness.js'

const CASE_01 = '（2023）黑01民终1234号'
const CASE_0103 = '（2023）黑0103民初4567号'
const PROBLEM = 'application/problem+json; charset=utf-8'

/** What the helpers need of a test (the shape harness.ts asks for). */
type Tap = { testdir(): string; teardown(fn: () => unknown): void }

interface Item {
  index: number
  entry: Entry
}

/** Every page of a query, following nextCursor; fails the test on a repeated or out-of-order index. */
async function pages(h: Harness, person: Person, query: string, limit: number): Promise<Item[]> {
  const items: Item[] = []
  let cursor: string | undefined
  for (let page = 0; page < 1000; page++) {
    const params = new URLSearchParams(query)
    params.set('limit', String(limit))
    if (cursor) params.set('cursor', cursor)
    const response = await h.call('GET', `/v1/audit/entries?${params}`, { token: tokenOf(h, person) })
    if (response.status !== 200) throw new Error(`entries ${params}: ${response.status} ${response.text}`)
    const got = response.json.items as Item[]
    if (got.length > limit) throw new Error(`a page of ${got.length} items for limit ${limit}`)
    for (const item of got) {
      const last = items.at(-1)
      if (last && item.index <= last.index)
        throw new Error(`index ${item.index} after ${last.index}: out of order or repeated`)
      items.push(item)
    }
    cursor = response.json.nextCursor
    if (cursor === undefined) return items
    if (got.length !== limit) throw new Error(`a page of ${got.length} < ${limit} items has a next cursor`)
  }
  throw new Error('paging did not end')
}

/**
 * A gateway with two courts' adapters and reads at both, so the log holds entries of several actors,
 * organisations, courts, grants, actions and both decisions.
 */
async function populated(t: Tap) {
  const h = await startGateway(t, { limits: { requestsPerMinute: 100_000, documentsPerDay: 100_000 } })
  const courtA = await startAdapter(t, h.url)
  const courtB = await startAdapter(t, h.url)
  await registerAdapter(h, courtA.url)
  await registerAdapter(h, courtB.url, { court: '黑0103', admin: 'courtAdmin0103', probeCase: CASE_0103 })

  const reads: Array<{ person: Person; court: string; caseNo: string; docs: string[]; denied: string }> = [
    {
      person: 'prosecutor',
      court: '黑01',
      caseNo: CASE_01,
      docs: ['main-01-appeal', 'main-02-answer'],
      denied: 'sub-02-deliberation',
    },
    {
      person: 'otherProsecutor',
      court: '黑0103',
      caseNo: CASE_0103,
      docs: ['main-01-complaint'],
      denied: 'sub-01-report',
    },
  ]
  const grants: string[] = []
  for (const read of reads) {
    const token = tokenOf(h, read.person)
    const created = await h.call('POST', '/v1/grants', {
      token,
      body: { court: read.court, caseNo: read.caseNo, supervisionCase: 'S-2024-1', volumes: ['main'], reason: '监督' },
    })
    if (created.status !== 201) throw new Error(`grant: ${created.status} ${created.text}`)
    const grant = created.json.id as string
    grants.push(grant)
    await h.call('GET', `/v1/grants/${grant}/volumes`, { token })
    for (const doc of read.docs) {
      const response = await h.call('GET', `/v1/grants/${grant}/documents/${doc}`, {
        token,
        headers: { range: 'bytes=0-99' },
      })
      if (response.status !== 206) throw new Error(`read: ${response.status} ${response.text}`)
    }
    const denied = await h.call('GET', `/v1/grants/${grant}/documents/${read.denied}`, { token })
    if (denied.status !== 403) throw new Error(`expected a denial, got ${denied.status}`)
  }
  // An outcome is appended once its stream has ended, just after the client saw the last byte.
  await eventually(async () => {
    const response = await h.call('GET', '/v1/audit/entries?action=document.read&limit=1000', {
      token: tokenOf(h, 'auditor'),
    })
    const items = response.json.items as Item[]
    const closed = new Set(items.map((i) => i.entry.intent))
    const open = items.filter((i) => i.entry.phase === 'intent' && !closed.has(i.index))
    return items.length > 0 && open.length === 0 ? true : undefined
  })
  const all = await pages(h, 'auditor', '', 1000)
  return { h, grants, all }
}

async function checkpointNow(h: Harness) {
  const auditor = tokenOf(h, 'auditor')
  const key = parseVerifierKey((await h.call('GET', '/v1/audit/key', { token: auditor })).text.trim())
  const text = (await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text
  return { text, ...openCheckpoint(text, [key]) }
}

/** Waits until a checkpoint covers at least `size` entries (one is signed every 50 ms while the log grows). */
function checkpointCovering(h: Harness, size: number) {
  return eventually(async () => {
    const cp = await checkpointNow(h)
    return cp.size >= size ? cp : undefined
  })
}

t.test('entries: every filter, cursor paging, one entry with its exact leaf', async (t) => {
  const { h, grants, all } = await populated(t)
  const snapshot = all.at(-1)!.index
  t.same(
    all.map((i) => i.index),
    Array.from({ length: all.length }, (_, i) => i),
    'a full auditor sees every index from 0, in order',
  )
  const upTo = (items: Item[]) => items.filter((i) => i.index <= snapshot)
  const expectFilter = async (query: string, predicate: (e: Entry) => boolean, what: string) => {
    const expected = all.filter((i) => predicate(i.entry)).map((i) => i.index)
    t.ok(expected.length > 0, `${what}: the log has matching entries`)
    t.ok(expected.length < all.length, `${what}: and entries that do not match`)
    const got = upTo(await pages(h, 'auditor', query, 1000)).map((i) => i.index)
    t.same(got, expected, what)
  }
  const sample = all.find((i) => i.entry.action === 'document.read' && i.entry.phase === 'intent')!.entry
  await expectFilter(`actor=${sample.actor!.sub}`, (e) => e.actor?.sub === sample.actor!.sub, 'actor')
  await expectFilter('org=230103', (e) => e.actor?.org === '230103', 'org')
  await expectFilter('court=黑0103', (e) => e.resource?.court === '黑0103', 'court')
  await expectFilter(`caseNo=${encodeURIComponent(CASE_01)}`, (e) => e.resource?.caseNo === CASE_01, 'caseNo')
  await expectFilter(`grant=${grants[0]}`, (e) => e.resource?.grant === grants[0], 'grant')
  await expectFilter('action=document.read', (e) => e.action === 'document.read', 'action')
  await expectFilter('decision=deny', (e) => e.decision === 'deny', 'decision')
  await expectFilter(
    'court=黑01&action=document.read&decision=allow',
    (e) => e.resource?.court === '黑01' && e.action === 'document.read' && e.decision === 'allow',
    'filters combine',
  )
  const since = all[Math.floor(all.length / 3)]!.entry.time
  const until = all[Math.floor((2 * all.length) / 3)]!.entry.time
  await expectFilter(`since=${encodeURIComponent(since)}`, (e) => e.time >= since, 'since (inclusive)')
  await expectFilter(`until=${encodeURIComponent(until)}`, (e) => e.time < until, 'until (exclusive)')
  await expectFilter(
    `since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
    (e) => e.time >= since && e.time < until,
    'since and until',
  )
  const none = await h.call('GET', '/v1/audit/entries?actor=nobody', { token: tokenOf(h, 'auditor') })
  t.same(none.json, { items: [] }, 'no match: an empty page and no cursor')

  // Paging: small pages give exactly the one-page result, whatever the page size.
  const reads = all.filter((i) => i.entry.action === 'document.read').map((i) => i.index)
  for (const limit of [1, 2, 3, reads.length, reads.length + 1]) {
    const paged = await pages(h, 'auditor', 'action=document.read', limit)
    t.same(
      paged.map((i) => i.index),
      reads,
      `pages of ${limit}`,
    )
  }
  // Unfiltered paging goes on across the audit.query entries that the paging itself appends, and ends.
  const everything = await pages(h, 'auditor', '', 7)
  t.same(upTo(everything), all, 'unfiltered pages of 7: no duplicates, nothing skipped')
  t.ok(everything.length > all.length, 'and the queries since are in the log too')

  for (const { index, entry } of [all[0]!, all[Math.floor(all.length / 2)]!, all.at(-1)!]) {
    const one = await h.call('GET', `/v1/audit/entries/${index}`, { token: tokenOf(h, 'auditor') })
    t.equal(one.status, 200)
    t.equal(one.json.index, index)
    t.same(one.json.entry, entry, `entry ${index} as listed`)
    const leaf = Buffer.from(one.json.leaf, 'base64')
    t.equal(leaf.toString('base64'), one.json.leaf, 'leaf is canonical base64')
    t.ok(
      leaf.equals(Buffer.from(canonicalize(one.json.entry)!, 'utf8')),
      `leaf ${index} is the RFC 8785 form of the entry`,
    )
    t.same(JSON.parse(leaf.toString('utf8')), entry)
  }
  const first = await h.call('GET', '/v1/audit/entries/0', { token: tokenOf(h, 'auditor') })
  t.notOk('prev' in first.json.entry, 'entry 0 has no prev')
  const second = await h.call('GET', '/v1/audit/entries/1', { token: tokenOf(h, 'auditor') })
  t.equal(
    second.json.entry.prev,
    leafHash(Buffer.from(first.json.leaf, 'base64')).toString('base64'),
    'entry 1 links to entry 0',
  )
  const missing = await h.call('GET', `/v1/audit/entries/${snapshot + 100_000}`, { token: tokenOf(h, 'auditor') })
  t.equal(missing.status, 404)
  t.equal(missing.json.code, 'NOT_FOUND')
})

t.test('checkpoint, key, inclusion and consistency proofs, export and receipts all verify', async (t) => {
  const { h, all } = await populated(t)
  const auditor = tokenOf(h, 'auditor')
  const keyResponse = await h.call('GET', '/v1/audit/key', { token: auditor })
  t.equal(keyResponse.status, 200)
  t.match(keyResponse.headers['content-type'], /^text\/plain/)
  t.match(keyResponse.text, /^test\.gateway\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/)
  const keyText = keyResponse.text

  const cp1 = await checkpointCovering(h, all.length)
  t.equal(cp1.origin, 'test.gateway/log')
  t.same(cp1.verifiedBy, ['test.gateway/log'], 'the checkpoint is signed by the log key')
  const cpResponse = await h.call('GET', '/v1/audit/checkpoint', { token: auditor })
  t.match(cpResponse.headers['content-type'], /^text\/plain/)

  // Export: one leaf per line, byte for byte, each linked to the one before.
  const exported = await h.call('GET', `/v1/audit/export?to=${cp1.size}`, { token: auditor })
  t.equal(exported.status, 200)
  t.equal(exported.headers['content-type'], 'application/x-ndjson')
  t.equal(exported.bytes.at(-1), 0x0a, 'every line ends with a newline')
  const lines = exported.bytes
    .subarray(0, -1)
    .toString('utf8')
    .split('\n')
    .map((l) => Buffer.from(l, 'utf8'))
  t.equal(lines.length, cp1.size, 'one line per entry of the checkpoint')
  let brokenLinks = 0
  for (const [i, line] of lines.entries()) {
    const entry = JSON.parse(line.toString('utf8')) as Entry
    if (i === 0) t.equal(entry.prev, undefined)
    else if (entry.prev !== leafHash(lines[i - 1]!).toString('base64')) brokenLinks++
    if (i < all.length) t.ok(line.equals(Buffer.from(canonicalize(all[i]!.entry)!, 'utf8')), `line ${i} is entry ${i}`)
  }
  t.equal(brokenLinks, 0, 'the prev chain is intact')
  t.same(verifyExport({ exportText: exported.bytes, checkpointText: cp1.text, keyText }), {
    ok: true,
    origin: cp1.origin,
    size: cp1.size,
    rootHash: cp1.rootHash,
  })
  const middle = await h.call('GET', `/v1/audit/entries/${Math.floor(cp1.size / 2)}`, { token: auditor })
  t.ok(Buffer.from(middle.json.leaf, 'base64').equals(lines[Math.floor(cp1.size / 2)]!), 'export line = entry leaf')
  const part = await h.call('GET', `/v1/audit/export?from=3&to=9`, { token: auditor })
  t.ok(
    part.bytes.equals(Buffer.concat(lines.slice(3, 9).flatMap((l) => [l, Buffer.from('\n')]))),
    'a range exports [from, to)',
  )
  const emptyRange = await h.call('GET', `/v1/audit/export?from=4&to=4`, { token: auditor })
  t.equal(emptyRange.status, 200)
  t.equal(emptyRange.bytes.length, 0, 'an empty range exports nothing')
  // By default the export ends where the latest checkpoint does: its own query entry, appended just before,
  // is not in it yet.
  // A new checkpoint may be signed at any moment (the queries grow the log): when the ones before and after
  // the export are the same, the export was cut at that one.
  const { byDefault, defaultCp } = await eventually(async () => {
    const before = await checkpointNow(h)
    const byDefault = await h.call('GET', '/v1/audit/export', { token: auditor })
    const after = await checkpointNow(h)
    return before.size === after.size ? { byDefault, defaultCp: after } : undefined
  })
  t.notOk(
    byDefault.text.includes(byDefault.headers['x-request-id'] as string),
    'the default export ends at a checkpoint',
  )
  t.equal(byDefault.bytes.subarray(0, -1).toString('utf8').split('\n').length, defaultCp.size)
  t.ok(
    verifyExport({ exportText: byDefault.bytes, checkpointText: defaultCp.text, keyText }).ok,
    'the default export verifies against the latest checkpoint',
  )

  // Inclusion of every leaf in the checkpoint's tree; a proof for another leaf does not fit.
  for (let index = 0; index < cp1.size; index++) {
    const proof = await h.call('GET', `/v1/audit/proofs/inclusion?index=${index}&size=${cp1.size}`, { token: auditor })
    t.equal(proof.status, 200)
    t.same({ index: proof.json.index, size: proof.json.size }, { index, size: cp1.size })
    const hashes = (proof.json.proof as string[]).map((p) => Buffer.from(p, 'base64'))
    if (!verifyInclusion(leafHash(lines[index]!), index, cp1.size, hashes, cp1.rootHash))
      t.fail(`inclusion of ${index}`)
    if (index > 0 && verifyInclusion(leafHash(lines[index - 1]!), index, cp1.size, hashes, cp1.rootHash)) {
      t.fail(`leaf ${index - 1} passes as ${index}`)
    }
  }
  t.pass(`${cp1.size} inclusion proofs verify against the checkpoint root`)
  const small = await h.call('GET', '/v1/audit/proofs/inclusion?index=0&size=1', { token: auditor })
  t.same(small.json.proof, [], 'a one-leaf tree needs no proof')

  // More activity, a later checkpoint, and a consistency proof between the two.
  for (let i = 0; i < 5; i++) await h.call('GET', '/v1/audit/entries?limit=1', { token: auditor })
  const cp2 = await checkpointCovering(h, cp1.size + 5)
  const consistency = await h.call('GET', `/v1/audit/proofs/consistency?from=${cp1.size}&to=${cp2.size}`, {
    token: auditor,
  })
  t.equal(consistency.status, 200)
  t.same({ from: consistency.json.from, to: consistency.json.to }, { from: cp1.size, to: cp2.size })
  const proof = (consistency.json.proof as string[]).map((p) => Buffer.from(p, 'base64'))
  t.ok(
    verifyConsistency(cp1.size, cp2.size, proof, cp1.rootHash, cp2.rootHash),
    'the later checkpoint extends the earlier',
  )
  t.notOk(verifyConsistency(cp1.size, cp2.size, proof, cp2.rootHash, cp1.rootHash), 'and not the other way round')
  for (const from of [1, 2, 7, cp1.size - 1]) {
    const other = await h.call('GET', `/v1/audit/proofs/consistency?from=${from}&to=${cp2.size}`, { token: auditor })
    const hashes = (other.json.proof as string[]).map((p) => Buffer.from(p, 'base64'))
    const exportFrom = await h.call('GET', `/v1/audit/export?to=${from}`, { token: auditor })
    const oldLines = exportFrom.bytes.subarray(0, -1).toString('utf8').split('\n')
    t.equal(oldLines.length, from)
    // The root of the first `from` leaves, recomputed from the export, is what the proof must link up.
    const { Frontier } = await import('../../src/accesslog/merkle/tree.js')
    const frontier = new Frontier()
    for (const line of oldLines) frontier.push(leafHash(Buffer.from(line, 'utf8')))
    t.ok(verifyConsistency(from, cp2.size, hashes, frontier.root(), cp2.rootHash), `consistency ${from} → ${cp2.size}`)
  }
  const same = await h.call('GET', `/v1/audit/proofs/consistency?from=${cp2.size}&to=${cp2.size}`, { token: auditor })
  t.same(same.json.proof, [], 'from = to: an empty proof')

  // Receipts: an entry, its inclusion proof and a signed checkpoint, verifiable offline.
  for (const index of [0, 1, Math.floor(cp1.size / 2), cp1.size - 1]) {
    const receipt = await h.call('GET', `/v1/audit/entries/${index}/receipt`, { token: auditor })
    t.equal(receipt.status, 200)
    t.match(receipt.text, /^c2sp\.org\/tlog-proof@v1\nindex \d+\n/)
    const result = verifyReceipt({ receiptText: receipt.text, entryBytes: lines[index]!, keyText })
    t.match(result, { ok: true, index }, `receipt ${index} verifies`)
    const other = lines[index === 0 ? 1 : 0]!
    t.match(
      verifyReceipt({ receiptText: receipt.text, entryBytes: other, keyText }),
      { ok: false, index },
      'not for another entry',
    )
  }
  // An entry newer than every checkpoint gets its receipt once the next checkpoint covers it.
  const newest = (
    await h.call('GET', '/v1/audit/entries?action=audit.query&limit=1000', { token: auditor })
  ).json.items.at(-1)
  const late = await h.call('GET', `/v1/audit/entries/${newest.index}/receipt`, { token: auditor })
  const leaf = Buffer.from(
    (await h.call('GET', `/v1/audit/entries/${newest.index}`, { token: auditor })).json.leaf,
    'base64',
  )
  t.match(verifyReceipt({ receiptText: late.text, entryBytes: leaf, keyText }), { ok: true, index: newest.index })
})

t.test('who may audit: everything, one court, or nothing; every query is logged', async (t) => {
  const { h, all } = await populated(t)
  const snapshot = all.at(-1)!.index
  const court = await pages(h, 'courtAuditor', '', 1000)
  t.ok(court.length > 0)
  t.ok(
    court.every((i) => i.entry.resource?.court === '黑01'),
    'a court auditor sees only entries about its court',
  )
  t.same(
    court.filter((i) => i.index <= snapshot),
    all.filter((i) => i.entry.resource?.court === '黑01'),
    'and all of them',
  )
  const own = await pages(h, 'courtAuditor', 'court=黑01&action=document.read', 1000)
  t.ok(own.length > 0 && own.every((i) => i.entry.resource?.court === '黑01'), 'filtering on its own court is fine')
  const paged = await pages(h, 'courtAuditor', 'action=document.read', 2)
  t.same(paged, own, 'paging a court view skips other courts’ entries')

  const courtToken = tokenOf(h, 'courtAuditor')
  const otherCourt = all.find((i) => i.entry.resource?.court === '黑0103')!
  const ownEntry = all.find((i) => i.entry.resource?.court === '黑01')!
  const noCourt = all.find((i) => i.entry.resource?.court === undefined)!
  for (const [path, status] of [
    ['/v1/audit/entries?court=黑0103', 403],
    [`/v1/audit/entries/${otherCourt.index}`, 404],
    [`/v1/audit/entries/${noCourt.index}`, 404],
    [`/v1/audit/entries/${otherCourt.index}/receipt`, 404],
    [`/v1/audit/entries/${ownEntry.index}`, 200],
    ['/v1/audit/export', 403],
    ['/v1/audit/export?from=0&to=1', 403],
    ['/v1/audit/checkpoint', 200],
    ['/v1/audit/key', 200],
    ['/v1/audit/proofs/inclusion?index=0&size=1', 200],
    ['/v1/audit/proofs/consistency?from=1&to=2', 200],
  ] as const) {
    const response = await h.call('GET', encodeURI(path), { token: courtToken })
    t.equal(response.status, status, `court auditor ${path}`)
    if (status !== 200) t.equal(response.headers['content-type'], PROBLEM)
  }

  const endpoints = [
    '/v1/audit/entries',
    '/v1/audit/entries/0',
    '/v1/audit/entries/0/receipt',
    '/v1/audit/checkpoint',
    '/v1/audit/key',
    '/v1/audit/proofs/inclusion?index=0&size=1',
    '/v1/audit/proofs/consistency?from=1&to=2',
    '/v1/audit/export',
  ]
  const deniedIds: string[] = []
  for (const person of ['prosecutor', 'approver', 'operator', 'courtAdmin'] as const) {
    for (const path of endpoints) {
      const response = await h.call('GET', path, { token: tokenOf(h, person) })
      t.equal(response.status, 403, `${person} ${path}`)
      t.equal(response.json?.code, 'FORBIDDEN')
      deniedIds.push(response.headers['x-request-id'] as string)
    }
  }
  const anonymous = await h.call('GET', '/v1/audit/checkpoint')
  t.equal(anonymous.status, 401, 'no token: 401')

  // Every query, allowed or refused, is in the log with its request id.
  const allowedIds: string[] = []
  for (const [person, path] of [
    ['auditor', '/v1/audit/entries?limit=1'],
    ['auditor', '/v1/audit/entries/0'],
    ['auditor', '/v1/audit/checkpoint'],
    ['auditor', '/v1/audit/key'],
    ['auditor', '/v1/audit/proofs/inclusion?index=0&size=2'],
    ['auditor', '/v1/audit/proofs/consistency?from=1&to=2'],
    ['auditor', '/v1/audit/export?to=1'],
    ['auditor', '/v1/audit/entries/0/receipt'],
    ['courtAuditor', '/v1/audit/entries?limit=1'],
  ] as const) {
    const response = await h.call('GET', path, { token: tokenOf(h, person) })
    t.equal(response.status, 200, `${person} ${path}`)
    allowedIds.push(response.headers['x-request-id'] as string)
  }
  const logged = await pages(h, 'auditor', 'action=audit.query', 1000)
  const byRequest = new Map(logged.map((i) => [i.entry.requestId, i.entry]))
  for (const id of allowedIds) t.equal(byRequest.get(id)?.decision, 'allow', `allowed query ${id} is logged`)
  for (const id of deniedIds) {
    const entry = byRequest.get(id)
    t.match(entry, { decision: 'deny', reason: 'FORBIDDEN', phase: 'event' }, `refused query ${id} is logged`)
  }
  const courtQuery = byRequest.get(allowedIds.at(-1))!
  t.same(courtQuery.resource, { court: '黑01' }, 'a court auditor’s query is about its court, so it sees it')
  t.equal(courtQuery.actor?.sub, 'audit.hrb')
})

t.test('bad input: 400 problem+json', async (t) => {
  const { h } = await populated(t)
  const auditor = tokenOf(h, 'auditor')
  const cp = await checkpointNow(h)
  const size = cp.size
  const beyond = size + 1000
  const cursorOf = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
  const cases = [
    // inclusion
    `/v1/audit/proofs/inclusion?index=${size}&size=${size}`,
    `/v1/audit/proofs/inclusion?index=${size + 5}&size=${size}`,
    '/v1/audit/proofs/inclusion?index=0&size=0',
    `/v1/audit/proofs/inclusion?index=0&size=${beyond}`,
    '/v1/audit/proofs/inclusion?index=abc&size=2',
    '/v1/audit/proofs/inclusion?index=1&size=two',
    '/v1/audit/proofs/inclusion?index=-1&size=2',
    '/v1/audit/proofs/inclusion?index=1.5&size=2',
    '/v1/audit/proofs/inclusion?index=0x1&size=2',
    '/v1/audit/proofs/inclusion?index=&size=2',
    '/v1/audit/proofs/inclusion?index=0',
    '/v1/audit/proofs/inclusion?size=2',
    '/v1/audit/proofs/inclusion?index=9007199254740993&size=9007199254740994',
    '/v1/audit/proofs/inclusion?index=0&size=9007199254740992',
    '/v1/audit/proofs/inclusion?index=0&size=99999999999999999999',
    '/v1/audit/proofs/inclusion?index=0&size=1e3',
    // consistency
    '/v1/audit/proofs/consistency?from=3&to=2',
    '/v1/audit/proofs/consistency?from=0&to=2',
    '/v1/audit/proofs/consistency?from=0&to=0',
    `/v1/audit/proofs/consistency?from=1&to=${beyond}`,
    `/v1/audit/proofs/consistency?from=${beyond}&to=${beyond}`,
    '/v1/audit/proofs/consistency?from=x&to=2',
    '/v1/audit/proofs/consistency?from=-1&to=2',
    '/v1/audit/proofs/consistency?from=1&to=-2',
    '/v1/audit/proofs/consistency?from=1',
    '/v1/audit/proofs/consistency?from=1&to=9007199254740993',
    // entries
    '/v1/audit/entries?limit=0',
    '/v1/audit/entries?limit=100000',
    '/v1/audit/entries?limit=-1',
    '/v1/audit/entries?limit=ten',
    '/v1/audit/entries?cursor=zzzz',
    `/v1/audit/entries?cursor=${cursorOf('c1:abc')}`,
    `/v1/audit/entries?cursor=${cursorOf('c2:5')}`,
    `/v1/audit/entries?cursor=${cursorOf('c1:99999999999999999')}`,
    `/v1/audit/entries?cursor=${'A'.repeat(300)}`,
    '/v1/audit/entries?decision=maybe',
    '/v1/audit/entries?since=yesterday',
    '/v1/audit/entries?action=DROP%20TABLE',
    '/v1/audit/entries/abc',
    '/v1/audit/entries/-1',
    '/v1/audit/entries/1.0',
    '/v1/audit/entries/9007199254740993',
    '/v1/audit/entries/99999999999999999',
    '/v1/audit/entries/9007199254740993/receipt',
    // export
    '/v1/audit/export?from=5&to=2',
    `/v1/audit/export?to=${beyond}`,
    `/v1/audit/export?from=${beyond}`,
    '/v1/audit/export?from=-1',
    '/v1/audit/export?to=abc',
    '/v1/audit/export?to=9007199254740993',
  ]
  for (const path of cases) {
    const response = await h.call('GET', path, { token: auditor })
    t.equal(response.status, 400, path)
    t.equal(response.headers['content-type'], PROBLEM, `${path}: problem+json`)
    t.match(
      response.json,
      { status: 400, code: /^(VALIDATION_FAILED|INVALID_PROOF_REQUEST)$/, title: String },
      `${path}: a code`,
    )
  }
  // The gateway is still fine after all that.
  const ok = await h.call('GET', `/v1/audit/proofs/inclusion?index=0&size=${size}`, { token: auditor })
  t.equal(ok.status, 200)
})
