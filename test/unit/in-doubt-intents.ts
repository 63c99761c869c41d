import t from 'tap'
import type { TransparencyLog } from '../../src/accesslog/access-log.js'
import type { Entry, EntryInput } from '../../src/accesslog/entry.js'
import { SqliteLogStore } from '../../src/accesslog/sqlite-store.js'
import type { LeafRecord, TreeNode } from '../../src/accesslog/store.js'
import { openFileLog } from '../helpers/file-log.js'
import { waitFor } from '../helpers/wait.js'

/**
 * A store can commit a batch and fail to say so (a COMMIT whose reply is lost with the connection). The
 * caller of such an intent was refused, so nothing was served; the intent must still get its one outcome,
 * `interrupted`, rather than stay open for as long as the process lives. So must an intent whose outcome the
 * store refused. An intent the store really did not commit gets none, and nothing gets two.
 */

const intent = (document: string): EntryInput => ({
  action: 'document.read',
  phase: 'intent',
  decision: 'allow',
  actor: { sub: 'zhang.wei', org: '230100', roles: ['prosecutor'], issuer: 'https://idp.test' },
  resource: { court: '黑01', caseNo: '（2023）黑01民终1234号', document },
})

/** A SQLite store that, when told, loses its answer for the next batch: after committing it, or instead. */
class LossyStore extends SqliteLogStore {
  loseNext: 'after-commit' | 'before-commit' | undefined
  /** Reads of the open intents that fail before one succeeds again (the store flapping as it comes back). */
  failOpenIntents = 0

  /** After the failures, reads of the open intents that never answer (a query on a half-open connection). */
  hangOpenIntents = false

  override async openIntents(): Promise<number[]> {
    if (this.failOpenIntents === 0 && this.hangOpenIntents) return new Promise(() => {})
    if (this.failOpenIntents > 0) {
      this.failOpenIntents--
      throw new Error('connection lost again')
    }
    return super.openIntents()
  }

  override async appendBatch(leaves: LeafRecord[], nodes: TreeNode[]): Promise<void> {
    const lose = this.loseNext
    this.loseNext = undefined
    if (lose === 'before-commit') throw new Error('connection lost before COMMIT')
    await super.appendBatch(leaves, nodes)
    if (lose === 'after-commit') throw new Error('connection lost after COMMIT')
  }
}

async function entries(log: TransparencyLog): Promise<Array<{ index: number; entry: Entry }>> {
  return (await log.query({}, -1, 1000)).map(({ index, entry }) => ({ index, entry }))
}

t.test('an intent committed though its append was refused is closed as interrupted, once', async (t) => {
  const { store, log } = await openFileLog(t, { store: (db) => new LossyStore(db), checkpointIntervalMs: 20 })

  const first = await log.append(intent('main-01'))
  store.loseNext = 'after-commit'
  await t.rejects(log.append(intent('main-02')), { code: 'ACCESS_LOG_UNAVAILABLE' }, 'its caller is refused')
  store.loseNext = 'before-commit'
  await t.rejects(log.append(intent('main-03')), { code: 'ACCESS_LOG_UNAVAILABLE' }, 'so is this one')

  const closed = await waitFor(
    async () => {
      const all = await entries(log)
      const outcome = all.find(({ entry }) => entry.phase === 'outcome')
      return outcome ? { all, outcome } : undefined
    },
    { what: 'an outcome for the intent committed in doubt' },
  )
  const inDoubt = closed.all.find(({ entry }) => entry.resource?.document === 'main-02')
  t.ok(inDoubt, 'the intent whose answer was lost is in the log')
  t.match(closed.outcome.entry, {
    phase: 'outcome',
    intent: inDoubt!.index,
    action: 'document.read',
    outcome: { result: 'interrupted' },
    resource: { document: 'main-02' },
  })
  t.notOk(
    closed.all.some(({ entry }) => entry.resource?.document === 'main-03'),
    'the intent the store refused is not in the log',
  )

  // An outcome the store refused leaves its intent open: that intent is closed as interrupted instead.
  const later = await log.append(intent('main-04'))
  t.ok(later > first)
  store.loseNext = 'before-commit'
  await t.rejects(
    log.append({ ...intent('main-04'), phase: 'outcome', intent: later, outcome: { result: 'completed' } }),
    { code: 'ACCESS_LOG_UNAVAILABLE' },
  )
  const outcomes = await waitFor(
    async () => {
      const found = (await entries(log)).filter(({ entry }) => entry.phase === 'outcome')
      return found.length === 2 ? found : undefined
    },
    { what: 'an outcome for the intent whose outcome was lost' },
  )
  t.match(outcomes[1]!.entry, { intent: later, outcome: { result: 'interrupted' }, resource: { document: 'main-04' } })

  // Later still, one outcome per closed intent, and none for the first intent (still open: never in doubt).
  await log.append(intent('main-05'))
  t.same(
    (await entries(log)).filter(({ entry }) => entry.phase === 'outcome').map(({ entry }) => entry.intent),
    [inDoubt!.index, later],
    'one outcome each, for the intents in doubt',
  )
})

t.test(
  'an intent in doubt whose settling fails once the store answers again is still closed, while the store stays up',
  async (t) => {
    const { store, log } = await openFileLog(t, { store: (db) => new LossyStore(db), checkpointIntervalMs: 20 })
    await log.append(intent('main-01'))
    store.loseNext = 'after-commit'
    // The read-back after the failure succeeds, the look-up of open intents just after it fails twice: nothing
    // fails after that, so no other read-back comes, and only the checkpoint ticks can settle it.
    store.failOpenIntents = 2
    await t.rejects(log.append(intent('main-02')), { code: 'ACCESS_LOG_UNAVAILABLE' })
    const outcome = await waitFor(async () => (await entries(log)).find(({ entry }) => entry.phase === 'outcome'), {
      what: 'an outcome for the intent committed in doubt',
    })
    t.match(outcome.entry, { phase: 'outcome', intent: 1, outcome: { result: 'interrupted' } })
    t.equal(store.failOpenIntents, 0, 'after both failed look-ups')
    await log.append(intent('main-03'))
    t.equal((await entries(log)).filter(({ entry }) => entry.phase === 'outcome').length, 1, 'one outcome, once')
  },
)

t.test('a settling that never gets its answer holds back no checkpoint, receipt or close', async (t) => {
  const { store, log } = await openFileLog(t, { store: (db) => new LossyStore(db), checkpointIntervalMs: 20 })
  await log.append(intent('main-01'))
  store.loseNext = 'after-commit'
  store.failOpenIntents = 1
  store.hangOpenIntents = true
  await t.rejects(log.append(intent('main-02')), { code: 'ACCESS_LOG_UNAVAILABLE' })
  // The next tick's settling waits for ever; the entries after it are still checkpointed and have receipts.
  const later = await log.append(intent('main-03'))
  const receipt = await within(log.receipt(later), 'a receipt')
  t.match(receipt, /\S/, 'a receipt for the entry appended after the failure')
  t.ok(log.latestCheckpoint().size > later, 'a checkpoint covers it')
  await within(log.close(), 'close()')
  t.pass('close() finished')
})

/** `promise`, or a failure once 10 s have passed without it settling (a hang must fail the test, not stall it). */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not come within 10 s`)), 10_000)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
