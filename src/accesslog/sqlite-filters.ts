import type { EntryFilter } from './store.js'

/**
 * The index of a SQLite log (`log_filters`, schema version 3), kept out of the durable commit.
 *
 * Indexed on `log_entries` itself, the auditors' five filter columns and the two indexes that find open intents
 * cost seven of a single-entry commit's eleven WAL pages, each written and fsync'd before a read may reach its
 * court. Instead the writer copies those columns of committed entries into `log_filters` in batches of
 * FILTER_INDEX_BATCH, after answering the commit and without an fsync of their own (the next durable commit's
 * fsync covers them). `log_filters` holds exactly the entries [0, end): every copy is one contiguous range in
 * one transaction, and a copy lost in a crash is made again from its end. A lookup reads the index below the end
 * and the few entries from there on from `log_entries`, so it never misses a committed entry.
 *
 * `log_filters` is derived data and not part of what the log's proofs cover; a query re-applies its filter to
 * the entry's own columns (checked against the leaf bytes by fsck), so a wrong index row can hide an entry (or an
 * open intent) but never show a wrong one, and fsck reports index rows that disagree with their entries or have
 * none.
 */

/**
 * A copy holds the writer, and any commit sent meanwhile, for 6–9 µs per entry (medians: 0.19 ms for 32 entries,
 * 2.4 ms for 256, entries of 50 readers in 300 cases): small copies keep that short. They touch more index pages
 * per entry, but those pages are only written, never fsync'd on their own.
 */
export const FILTER_INDEX_BATCH = 32

/** Copies the indexed columns of entries [?, ?) from log_entries; the range starts at the index's end. */
export const COPY_FILTERS_SQL = `INSERT INTO log_filters (idx, actor, org, court, case_no, grant_id, phase, intent_ref)
  SELECT idx, actor, org, court, case_no, grant_id, phase, intent_ref FROM log_entries
  WHERE idx >= ? AND idx < ? ORDER BY idx`

/** The first entry not yet in the index. */
export const FILTERS_END_SQL = 'SELECT COALESCE(MAX(idx) + 1, 0) FROM log_filters'

/** Intents that no outcome refers to, ascending: in the index below its end, and after it in log_entries. */
export const OPEN_INTENTS_SQL = `WITH bound AS (SELECT COALESCE(MAX(idx) + 1, 0) AS at FROM log_filters),
  tail AS MATERIALIZED (SELECT idx, phase, intent_ref FROM log_entries WHERE idx >= (SELECT at FROM bound))
  SELECT i.idx AS "index" FROM (
    SELECT idx FROM log_filters WHERE phase = 'intent'
    UNION ALL SELECT idx FROM tail WHERE phase = 'intent'
  ) i
  WHERE NOT EXISTS (SELECT 1 FROM log_filters o WHERE o.intent_ref = i.idx)
    AND NOT EXISTS (SELECT 1 FROM tail o WHERE o.intent_ref = i.idx)
  ORDER BY i.idx`

/** 1 when an outcome refers to the intent at @intent, else 0. */
export const INTENT_CLOSED_SQL = `SELECT EXISTS (SELECT 1 FROM log_filters WHERE intent_ref = @intent)
  OR EXISTS (SELECT 1 FROM log_entries WHERE idx >= (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_filters)
    AND intent_ref = @intent)`

/** Filters that log_filters' indexes serve (its columns have the names of log_entries'). */
const INDEXED = new Set<keyof EntryFilter>(['actor', 'org', 'court', 'caseNo', 'grant'])

const CONDITIONS: Record<keyof EntryFilter, string> = {
  actor: 'actor = ?',
  org: 'org = ?',
  court: 'court = ?',
  caseNo: 'case_no = ?',
  grant: 'grant_id = ?',
  action: 'action = ?',
  decision: 'decision = ?',
  since: 'time >= ?',
  until: 'time < ?',
}

export interface FilterQuery {
  /** Ends in `LIMIT ?`: the caller appends the limit to `params`. */
  sql: string
  params: unknown[]
}

/**
 * The statements of one query: entries matching `filter` with idx > `after`, ascending, given that the filter
 * index holds the entries below `indexedEnd`. With an indexed filter and entries to look up in the index: the
 * index's part (in idx order along the column's index, so a page stops at its limit), then the unindexed tail,
 * which the caller runs only for what the first left of the limit. Otherwise a scan of log_entries by idx.
 */
export function filterQueries(
  filter: EntryFilter,
  after: number,
  indexedEnd: number,
): { indexed?: FilterQuery; tail: FilterQuery } {
  const conditions: string[] = []
  const values: unknown[] = []
  const indexedConditions: string[] = []
  const indexedValues: unknown[] = []
  for (const [key, condition] of Object.entries(CONDITIONS) as Array<[keyof EntryFilter, string]>) {
    const value = filter[key]
    if (value === undefined) continue
    conditions.push(` AND e.${condition}`)
    values.push(value)
    if (INDEXED.has(key)) {
      indexedConditions.push(` AND f.${condition}`)
      indexedValues.push(value)
    }
  }
  const where = conditions.join('')
  const tail = (from: number): FilterQuery => ({
    sql: `SELECT e.idx AS "index", e.leaf FROM log_entries e WHERE e.idx > ?${where} ORDER BY e.idx LIMIT ?`,
    params: [from, ...values],
  })
  if (indexedConditions.length === 0 || after >= indexedEnd - 1) return { tail: tail(after) }
  return {
    indexed: {
      sql: `SELECT e.idx AS "index", e.leaf FROM log_filters f JOIN log_entries e ON e.idx = f.idx
        WHERE f.idx > ? AND f.idx < ?${indexedConditions.join('')}${where} ORDER BY f.idx LIMIT ?`,
      params: [after, indexedEnd, ...indexedValues, ...values],
    },
    tail: tail(indexedEnd - 1),
  }
}
