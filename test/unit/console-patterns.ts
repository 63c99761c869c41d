import { tmpdir } from 'node:os'
import t from 'tap'
import { findPatterns, type PatternEntry, type Thresholds } from '../../console/src/patterns.js'
import { testConfig } from '../helpers/harness.js'

/** The defaults of the gateway's configuration console.patterns (dailyQuota: limits.documentsPerDay). */
const LIMITS: Thresholds = testConfig(tmpdir()).console.patterns
const TIGHT: Thresholds = { ...LIMITS, manyCasesPerDay: 3, dailyQuota: 5, quotaWarningFraction: 0.8 }

let next = 0
const items: Array<{ index: number; entry: PatternEntry }> = []
function log(entry: Partial<PatternEntry> & { time: string }): number {
  const index = next++
  items.push({ index, entry: { action: 'document.read', phase: 'outcome', decision: 'allow', ...entry } })
  return index
}
const zhang = { sub: 'zhang.wei', org: '230100' }
const li = { sub: 'li.na', org: '230103' }
const at = (cstTime: string) => new Date(`${cstTime}+08:00`).toISOString()

// Monday 2026-11-30, CST. zhang reads four cases in working hours, li one case at night and one on Sunday.
const zhangReads = ['A', 'B', 'C', 'D'].map((c, i) =>
  log({ time: at(`2026-11-30T09:0${i}:00`), actor: zhang, resource: { court: '黑01', caseNo: c, volume: 'main' } }),
)
log({ time: at('2026-11-30T09:05:00'), actor: zhang, resource: { court: '黑01', caseNo: 'A' }, phase: 'intent' })
const night = log({
  time: at('2026-11-30T23:30:00'),
  actor: li,
  resource: { court: '黑0103', caseNo: 'E', volume: 'main' },
})
const sunday = log({
  time: at('2026-11-29T10:00:00'),
  actor: li,
  resource: { court: '黑0103', caseNo: 'F', volume: 'main' },
})
// Sub-volume reads: backed by zhang's main read of A that morning; not backed for case G, nor for E read 42 days on.
const backed = log({
  time: at('2026-11-30T11:00:00'),
  actor: zhang,
  resource: { court: '黑01', caseNo: 'A', volume: 'sub' },
})
const unbacked = log({
  time: at('2026-11-30T11:30:00'),
  actor: zhang,
  resource: { court: '黑01', caseNo: 'G', volume: 'sub' },
})
const stale = log({
  time: at('2027-01-11T10:00:00'),
  actor: li,
  resource: { court: '黑0103', caseNo: 'E', volume: 'sub' },
})
// Denials, one of them a read refused at its outcome once the volume was known (an allowed intent before it).
log({ time: at('2026-11-30T09:59:59'), actor: zhang, phase: 'intent', resource: { court: '黑01', caseNo: 'A' } })
log({
  time: at('2026-11-30T10:00:00'),
  actor: zhang,
  decision: 'deny',
  reason: 'SUB_VOLUME_NOT_APPROVED',
  resource: { court: '黑01', caseNo: 'A', volume: 'sub' },
})
log({
  time: at('2026-11-30T10:01:00'),
  actor: li,
  action: 'grant.create',
  phase: 'event',
  decision: 'deny',
  reason: 'OUT_OF_JURISDICTION',
})
log({
  time: at('2026-11-30T10:02:00'),
  actor: li,
  action: 'grant.create',
  phase: 'event',
  decision: 'deny',
  reason: 'OUT_OF_JURISDICTION',
})
// Grants: zhang creates, chen approves within minutes, twice; once after an hour; wang approves quickly once.
const chen = { sub: 'chen.jie', org: '230100' }
const wang = { sub: 'wang.fang', org: '230100' }
const grant = (id: string, created: string, approved: string, approver = chen) => [
  log({ time: at(created), actor: zhang, action: 'grant.create', phase: 'event', resource: { grant: id } }),
  log({ time: at(approved), actor: approver, action: 'grant.approve', phase: 'event', resource: { grant: id } }),
]
const quick1 = grant('g1', '2026-11-30T14:00:00', '2026-11-30T14:02:00')
const quick2 = grant('g2', '2026-11-30T15:00:00', '2026-11-30T15:05:00')
grant('g3', '2026-11-30T16:00:00', '2026-11-30T17:00:00')
grant('g4', '2026-11-30T16:10:00', '2026-11-30T16:11:00', wang)

t.test('counts: reads per CST day by procuratorate and court, denials by reason, sub-volume reads', async (t) => {
  const p = findPatterns(items, LIMITS)
  t.same(p.readsByOrg, {
    '230100': { '2026-11-30': 6 },
    '230103': { '2026-11-30': 1, '2026-11-29': 1, '2027-01-11': 1 },
  })
  t.same(p.readsByCourt, { 黑01: { '2026-11-30': 6 }, 黑0103: { '2026-11-30': 1, '2026-11-29': 1, '2027-01-11': 1 } })
  t.same(p.denialsByReason, { SUB_VOLUME_NOT_APPROVED: 1, OUT_OF_JURISDICTION: 2 })
  t.equal(p.subVolumeReads, 3)
})

t.test('a CST day is not a UTC day', async (t) => {
  // 2026-11-30 17:00 UTC is 01:00 on 1 December in Beijing, and outside working hours.
  const p = findPatterns(
    [
      {
        index: 0,
        entry: {
          time: '2026-11-30T17:00:00.000Z',
          action: 'document.read',
          phase: 'outcome',
          decision: 'allow',
          actor: li,
          resource: { court: 'X' },
        },
      },
    ],
    LIMITS,
  )
  t.same(p.readsByCourt, { X: { '2026-12-01': 1 } })
  t.same(
    p.flags.map((f) => f.rule),
    ['outside-hours'],
  )
})

t.test('flags with the default thresholds', async (t) => {
  const p = findPatterns(items, LIMITS)
  t.same(
    p.flags.map((f) => [f.rule, f.who, f.indexes]),
    [
      ['outside-hours', '230103/li.na', [night, sunday]],
      ['sub-without-main', '230100/zhang.wei', [unbacked]],
      ['sub-without-main', '230103/li.na', [stale]],
      ['quick-approval', '230100/zhang.wei → 230100/chen.jie', [...quick1, ...quick2]],
    ],
  )
  t.notOk(
    p.flags.some((f) => f.indexes.includes(backed)),
    'a sub-volume read after a main read of the case is fine',
  )
})

t.test('flags follow their thresholds', async (t) => {
  const p = findPatterns(items, TIGHT)
  const many = p.flags.find((f) => f.rule === 'many-cases')
  t.match(many, { who: '230100/zhang.wei', message: '5 cases read on 2026-11-30' })
  t.same(many?.indexes, [...zhangReads, backed, unbacked])
  t.match(
    p.flags.find((f) => f.rule === 'near-quota'),
    { who: '230100/zhang.wei', message: '6 of 5 daily documents on 2026-11-30' },
  )
  t.notOk(findPatterns(items, { ...TIGHT, dailyQuota: 100 }).flags.some((f) => f.rule === 'near-quota'))
  t.notOk(findPatterns(items, { ...LIMITS, quickApprovalsPerPair: 3 }).flags.some((f) => f.rule === 'quick-approval'))
  const lenient = findPatterns(items, { ...LIMITS, recentMainReadDays: 60 })
  t.same(
    lenient.flags.filter((f) => f.rule === 'sub-without-main').map((f) => f.indexes),
    [[unbacked]],
  )
  const allDay = findPatterns(items, {
    ...LIMITS,
    workingHours: { start: 0, end: 24, weekdays: [0, 1, 2, 3, 4, 5, 6] },
  })
  t.notOk(allDay.flags.some((f) => f.rule === 'outside-hours'))
})
