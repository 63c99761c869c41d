import t from 'tap'
import type { EntryInput } from '../../src/accesslog/entry.js'
import { SqliteGrantStore } from '../../src/grants/sqlite-store.js'
import type { Grant } from '../../src/grants/types.js'
import { ChangeConflict } from '../../src/storage/state-change.js'
import { checkLogFile, openFileLog } from '../helpers/file-log.js'

/**
 * The log store applies a state change in the transaction of the entry recording it: a change whose
 * condition fails is refused alone (ChangeConflict), with nothing of it or its entry written, while the
 * other entries of its batch, and of the batches pipelined behind it, are sequenced again and commit.
 */

const event = (n: number, grant?: string): EntryInput => ({
  action: 'grant.approve',
  phase: 'event',
  decision: 'allow',
  ...(grant ? { resource: { grant } } : {}),
  detail: { n },
})

const grantOf = (id: string, overrides: Partial<Grant> = {}): Grant => ({
  id,
  status: 'pending',
  court: '黑01',
  caseNo: '（2023）黑01民终1234号',
  supervisionCase: `S-${id}`,
  volumes: ['main', 'sub'],
  reason: '监督',
  org: '230100',
  createdBy: 'zhang.wei',
  members: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2027-01-01T00:00:00.000Z',
  ...overrides,
})

for (const writer of ['thread', 'inline'] as const) {
  t.test(`${writer} writer: a conflicting change is refused alone; its batch commits without it`, async (t) => {
    const { db, log, path } = await openFileLog(t, { writer })
    const grants = new SqliteGrantStore(db)
    const pending = grantOf('g1')
    t.equal(await log.append(event(-1, 'g1'), { kind: 'grant.open', grant: pending }), 0)
    t.same(await grants.get('g1'), pending, 'opened with its entry')

    // 300 appends in one turn: three prepared slices, two in flight at once. The second change decided on
    // the pending grant conflicts with the first one; one other slot opens a twin of g1 (refused too).
    const approved = { ...pending, status: 'active' as const, approvedBy: 'chen.jie' }
    const rejected = { ...pending, status: 'rejected' as const, rejectedBy: 'wang.fang' }
    const twin = grantOf('g2', { supervisionCase: pending.supervisionCase })
    const appends = Array.from({ length: 300 }, (_, i) => {
      if (i === 3) return log.append(event(i, 'g1'), { kind: 'grant.replace', grant: approved, expected: pending })
      if (i === 5) return log.append(event(i, 'g1'), { kind: 'grant.replace', grant: rejected, expected: pending })
      if (i === 200) return log.append(event(i, 'g2'), { kind: 'grant.open', grant: twin })
      if (i === 250) return log.append(event(i, 'g3'), { kind: 'grant.open', grant: grantOf('g3') })
      return log.append(event(i))
    })
    const settled = await Promise.allSettled(appends)
    const refused = settled.flatMap((result, i) => (result.status === 'rejected' ? [i] : []))
    t.same(refused, [5, 200], 'only the two conflicting changes are refused')
    for (const i of refused) {
      t.type((settled[i] as PromiseRejectedResult).reason, ChangeConflict)
    }
    t.same(await grants.get('g1'), approved, 'the first decision holds')
    t.equal(await grants.get('g2'), undefined, 'no twin was opened')
    t.same(await grants.get('g3'), grantOf('g3'), 'an unrelated grant opened in the same batches')
    t.equal(log.size(), 299, 'the opening, and every entry but the two refused ones')
    const details: number[] = []
    for await (const { leaf } of log.leaves(0, log.size())) details.push(JSON.parse(leaf.toString()).detail.n)
    t.notOk(details.includes(5) || details.includes(200), 'the refused entries are not in the log')
    t.same(
      [...details].sort((a, b) => a - b),
      [-1, ...Array.from({ length: 300 }, (_, i) => i).filter((i) => i !== 5 && i !== 200)],
      'the others all are, once each',
    )
    await log.close()
    const check = checkLogFile(path)
    t.match(check, { ok: true, size: 299, problems: [] }, 'the stored tree and its checkpoints verify')
  })
}

t.test('an entry the log cannot serialise takes its change with it', async (t) => {
  const { db, log } = await openFileLog(t)
  const grant = grantOf('g1', { reason: 'lone \ud800' })
  await t.rejects(log.append({ ...event(0, 'g1'), detail: { reason: grant.reason } }, { kind: 'grant.open', grant }), {
    code: 'ACCESS_LOG_UNAVAILABLE',
  })
  t.equal(await new SqliteGrantStore(db).get('g1'), undefined, 'the grant was not opened')
  t.equal(log.size(), 0)
})

t.test('a writer lost before or after its commit: the change and its entry are both there, or neither', async (t) => {
  const { db, store, log, path } = await openFileLog(t)
  const grants = new SqliteGrantStore(db)
  await log.append(event(0)) // starts the writer thread

  let crashed = store.crashWriter('before')
  await t.rejects(log.append(event(1, 'g1'), { kind: 'grant.open', grant: grantOf('g1') }), {
    code: 'ACCESS_LOG_UNAVAILABLE',
  })
  await crashed
  t.equal(await grants.get('g1'), undefined, 'lost before its commit: no grant')
  t.equal((await log.query({ grant: 'g1' }, -1, 10)).length, 0, 'and no entry')

  t.equal(await log.append(event(2)), 1, 'a new writer takes over')
  crashed = store.crashWriter('after')
  await t.rejects(log.append(event(3, 'g2'), { kind: 'grant.open', grant: grantOf('g2') }), {
    code: 'ACCESS_LOG_UNAVAILABLE',
  })
  await crashed
  t.same(await grants.get('g2'), grantOf('g2'), 'lost after its commit: the grant is open')
  t.same(
    (await log.query({ grant: 'g2' }, -1, 10)).map((logged) => logged.entry.detail),
    [{ n: 3 }],
    'and its entry is in the log',
  )
  t.equal(await log.append(event(4)), 3, 'the log goes on after the committed entry')
  await log.close()
  const check = checkLogFile(path)
  t.match(check, { ok: true, size: 4, problems: [] })
})
