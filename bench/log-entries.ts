/**
 * The entries the access-log benchmarks write (bench/log.ts on SQLite, bench/pg-log.ts on PostgreSQL): a
 * realistic `document.read` intent, and the same entry as canonical JSON built by hand for big trees.
 */
import crypto from 'node:crypto'
import canonicalize from 'canonicalize'
import type { EntryInput } from '../src/accesslog/entry.js'
import type { LeafRecord } from '../src/accesslog/store.js'

/** A document read as the gateway logs it (about 560 bytes of canonical JSON, Chinese case number). */
export function reading(i: number): EntryInput {
  return {
    requestId: crypto.randomUUID(),
    actor: { sub: `prosecutor.${i % 97}`, org: '230100', roles: ['prosecutor'], issuer: 'https://idp.hlj.jcy.gov.cn' },
    action: 'document.read',
    resource: {
      court: '黑01',
      caseNo: `（2023）黑01民终${1000 + (i % 5000)}号`,
      grant: '6f1c2a9e-0b5d-4e7a-9a43-2d1f0c8b7e55',
      document: `main-${(i % 40) + 1}`,
      adapter: '0ff91ec4-e413-4f6e-ad53-d707da6b06fc',
    },
    purpose: { supervisionCase: '哈检民监〔2024〕12号' },
    phase: 'intent',
    decision: 'allow',
  }
}

/**
 * The same entry as canonical JSON built by hand (keys already in RFC 8785 order), with `prev`: generating a
 * million through canonicalize() would take longer than what is measured. Checked against canonicalize().
 */
export function syntheticLeaf(i: number, prev: Buffer | undefined): Buffer {
  const time = new Date(Date.UTC(2025, 0, 1) + i * 10).toISOString()
  const p = prev ? `"prev":"${prev.toString('base64')}",` : ''
  return Buffer.from(
    `{"action":"document.read","actor":{"issuer":"https://idp.hlj.jcy.gov.cn","org":"230100","roles":["prosecutor"],"sub":"prosecutor.${i % 97}"},"decision":"allow","phase":"intent",${p}"purpose":{"supervisionCase":"哈检民监〔2024〕12号"},"requestId":"req-${i.toString(16).padStart(12, '0')}","resource":{"adapter":"0ff91ec4-e413-4f6e-ad53-d707da6b06fc","caseNo":"（2023）黑01民终${1000 + (i % 5000)}号","court":"黑01","document":"main-${(i % 40) + 1}","grant":"6f1c2a9e-0b5d-4e7a-9a43-2d1f0c8b7e55"},"time":"${time}","v":1}`,
    'utf8',
  )
}
for (const i of [0, 1, 12345]) {
  const leaf = syntheticLeaf(i, i === 0 ? undefined : Buffer.alloc(32, 7))
  if (canonicalize(JSON.parse(leaf.toString('utf8'))) !== leaf.toString('utf8'))
    throw new Error('syntheticLeaf is not canonical')
}

export function metaOf(i: number): LeafRecord['meta'] {
  return {
    time: new Date(Date.UTC(2025, 0, 1) + i * 10).toISOString(),
    actor: `prosecutor.${i % 97}`,
    org: '230100',
    court: '黑01',
    caseNo: `（2023）黑01民终${1000 + (i % 5000)}号`,
    grant: '6f1c2a9e-0b5d-4e7a-9a43-2d1f0c8b7e55',
    action: 'document.read',
    decision: 'allow',
    phase: 'intent',
  }
}
