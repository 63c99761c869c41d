/**
 * Patterns worth a second look in a set of access-log entries (docs/auditors.md#patterns). Pure: entries and
 * thresholds in, counts and flags out; the thresholds are the gateway's configuration (console.patterns, GET /v1/audit/patterns). A flag is a
 * reason to look, never a finding: each names the entries behind it so an auditor can open them.
 *
 * Days and working hours are China Standard Time (UTC+8, no daylight saving), where the courts and
 * procuratorates are. A read is a `document.read` outcome that allowed it: the outcome, not the intent, names
 * the volume, and a read refused once the document's volume is known has an allowed intent and a denied outcome.
 */
export interface Thresholds {
  /** Distinct cases one person may read in a day before it is flagged. */
  manyCasesPerDay: number
  /** The gateway's limits.documentsPerDay, and the fraction of it that is "close". */
  dailyQuota: number
  quotaWarningFraction: number
  /** Working hours [start, end) in CST, and working weekdays (0 = Sunday). */
  workingHours: { start: number; end: number; weekdays: number[] }
  /** A sub-volume read needs a main-volume read of the same case by the same person within this many days. */
  recentMainReadDays: number
  /** A grant approved within this many minutes of its creation is quick; a pair of people with this many is flagged. */
  quickApprovalMinutes: number
  quickApprovalsPerPair: number
}

export interface PatternEntry {
  time: string
  action: string
  phase: string
  decision?: string | undefined
  reason?: string | undefined
  actor?: { sub?: string | undefined; org?: string | undefined } | undefined
  resource?:
    | {
        court?: string | undefined
        caseNo?: string | undefined
        grant?: string | undefined
        volume?: string | undefined
      }
    | undefined
}

export interface Flag {
  rule: 'many-cases' | 'near-quota' | 'outside-hours' | 'sub-without-main' | 'quick-approval'
  /** Who the flag is about: `org/sub`, or `creator → approver` for quick approvals. */
  who: string
  message: string
  indexes: number[]
}

export interface Patterns {
  /** Reads per CST day (YYYY-MM-DD) per procuratorate code, and per court code. */
  readsByOrg: Record<string, Record<string, number>>
  readsByCourt: Record<string, Record<string, number>>
  denialsByReason: Record<string, number>
  subVolumeReads: number
  flags: Flag[]
}

const CST_OFFSET_MS = 8 * 3_600_000
const DAY_MS = 86_400_000

/** The CST calendar day, hour and weekday of an instant. */
function cst(time: string): { day: string; hour: number; weekday: number; ms: number } {
  const ms = Date.parse(time)
  const shifted = new Date(ms + CST_OFFSET_MS)
  return { day: shifted.toISOString().slice(0, 10), hour: shifted.getUTCHours(), weekday: shifted.getUTCDay(), ms }
}

const person = (e: PatternEntry) => `${e.actor?.org ?? '?'}/${e.actor?.sub ?? '?'}`

function bump(table: Record<string, Record<string, number>>, key: string, day: string): void {
  const row = table[key] ?? {}
  row[day] = (row[day] ?? 0) + 1
  table[key] = row
}

function group<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const list = groups.get(k)
    if (list) list.push(item)
    else groups.set(k, [item])
  }
  return groups
}

export function findPatterns(items: Array<{ index: number; entry: PatternEntry }>, limits: Thresholds): Patterns {
  const sorted = [...items].sort((a, b) => a.index - b.index)
  const readsByOrg: Patterns['readsByOrg'] = {}
  const readsByCourt: Patterns['readsByCourt'] = {}
  const denialsByReason: Record<string, number> = {}
  const flags: Flag[] = []
  const reads = sorted.filter(
    ({ entry }) => entry.action === 'document.read' && entry.phase === 'outcome' && entry.decision === 'allow',
  )

  for (const { entry } of sorted) {
    if (entry.decision === 'deny')
      denialsByReason[entry.reason ?? 'unknown'] = (denialsByReason[entry.reason ?? 'unknown'] ?? 0) + 1
  }
  for (const { entry } of reads) {
    const { day } = cst(entry.time)
    bump(readsByOrg, entry.actor?.org ?? '?', day)
    bump(readsByCourt, entry.resource?.court ?? '?', day)
  }

  // Per person and CST day: many distinct cases, or close to the daily quota.
  for (const [key, list] of group(reads, ({ entry }) => `${person(entry)} ${cst(entry.time).day}`)) {
    const [who = '', day = ''] = key.split(' ')
    const cases = new Set(list.map(({ entry }) => `${entry.resource?.court}|${entry.resource?.caseNo}`))
    const indexes = list.map((r) => r.index)
    if (cases.size >= limits.manyCasesPerDay)
      flags.push({ rule: 'many-cases', who, message: `${cases.size} cases read on ${day}`, indexes })
    if (list.length >= limits.dailyQuota * limits.quotaWarningFraction)
      flags.push({
        rule: 'near-quota',
        who,
        message: `${list.length} of ${limits.dailyQuota} daily documents on ${day}`,
        indexes,
      })
  }

  const { start, end, weekdays } = limits.workingHours
  for (const [who, list] of group(
    reads.filter(({ entry }) => {
      const t = cst(entry.time)
      return !weekdays.includes(t.weekday) || t.hour < start || t.hour >= end
    }),
    ({ entry }) => person(entry),
  )) {
    flags.push({
      rule: 'outside-hours',
      who,
      message: `${list.length} read(s) outside working hours (CST)`,
      indexes: list.map((r) => r.index),
    })
  }

  // A sub-volume read is flagged unless the same person read the main volume of the same case shortly before.
  const lastMain = new Map<string, number>()
  const unbacked: Array<{ index: number; entry: PatternEntry }> = []
  for (const read of reads) {
    const { entry } = read
    const key = `${person(entry)}|${entry.resource?.court}|${entry.resource?.caseNo}`
    const at = cst(entry.time).ms
    if (entry.resource?.volume === 'sub') {
      const main = lastMain.get(key)
      if (main === undefined || at - main > limits.recentMainReadDays * DAY_MS) unbacked.push(read)
    } else lastMain.set(key, at)
  }
  for (const [who, list] of group(unbacked, ({ entry }) => person(entry))) {
    flags.push({
      rule: 'sub-without-main',
      who,
      message: `${list.length} sub-volume read(s) without a main-volume read of the case in the ${limits.recentMainReadDays} days before`,
      indexes: list.map((r) => r.index),
    })
  }

  // Grants approved within minutes of creation, grouped by the pair of people (creator, approver).
  const created = new Map<string, { index: number; entry: PatternEntry }>()
  const quick: Array<{ pair: string; indexes: number[] }> = []
  for (const item of sorted) {
    const { entry } = item
    const grant = entry.resource?.grant
    if (!grant || entry.decision !== 'allow') continue
    if (entry.action === 'grant.create') created.set(grant, item)
    if (entry.action === 'grant.approve') {
      const origin = created.get(grant)
      if (origin && cst(entry.time).ms - cst(origin.entry.time).ms <= limits.quickApprovalMinutes * 60_000)
        quick.push({ pair: `${person(origin.entry)} → ${person(entry)}`, indexes: [origin.index, item.index] })
    }
  }
  for (const [pair, list] of group(quick, (q) => q.pair)) {
    if (list.length >= limits.quickApprovalsPerPair)
      flags.push({
        rule: 'quick-approval',
        who: pair,
        message: `${list.length} grants approved within ${limits.quickApprovalMinutes} minutes of creation`,
        indexes: list.flatMap((q) => q.indexes),
      })
  }

  return {
    readsByOrg,
    readsByCourt,
    denialsByReason,
    subVolumeReads: reads.filter(({ entry }) => entry.resource?.volume === 'sub').length,
    flags,
  }
}
