import type { Filter, Item } from './api.js'
import type { Patterns } from './patterns.js'
import type { Verdict } from './trust.js'

/**
 * A one-page summary of the current filter for a supervision file, printed with the browser's print dialog
 * (console.css @media print shows this section alone). It states what was checked and what was not: the
 * checkpoint's signature and consistency, and the inclusion proofs of the entries shown on screen.
 */
export interface Summary {
  filter: Filter
  made: string
  entries: number
  complete: boolean
  byDecision: Record<string, number>
  byAction: Record<string, number>
  patterns: Patterns
  checkpoint: Verdict | undefined
  proofs: { verified: number; failed: number; shown: number }
}

const tally = (items: Item[], key: (item: Item) => string | undefined) => {
  const counts: Record<string, number> = {}
  for (const item of items) {
    const k = key(item) ?? '—'
    counts[k] = (counts[k] ?? 0) + 1
  }
  return counts
}

export function summarise(
  items: Item[],
  rest: Omit<Summary, 'entries' | 'byDecision' | 'byAction' | 'made'>,
  now = new Date(),
): Summary {
  return {
    ...rest,
    made: now.toISOString(),
    entries: items.length,
    byDecision: tally(items, (item) => item.entry.decision),
    byAction: tally(items, (item) => item.entry.action),
  }
}

function Counts({ caption, counts }: { caption: string; counts: Record<string, number> }) {
  return (
    <table>
      <caption>{caption}</caption>
      <tbody>
        {Object.entries(counts).map(([name, count]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function SummaryView({ summary }: { summary: Summary }) {
  const filter = Object.entries(summary.filter).filter(([, value]) => value)
  const { verified, failed, shown } = summary.proofs
  return (
    <section class="card summary" id="summary" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Access-log summary</h2>
      <p>Made {summary.made.replace('T', ' ').replace(/\.\d+Z$/, 'Z')} in the auditor console.</p>
      <h3>Filter</h3>
      {filter.length === 0 ? (
        <p>None: the whole log this auditor may see.</p>
      ) : (
        <dl class="fields" id="summary-filter">
          {filter.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      <h3>Verification</h3>
      <p id="summary-checkpoint" class={`status ${summary.checkpoint?.state ?? 'wait'}`}>
        {summary.checkpoint?.message ?? 'The checkpoint was not checked.'}
      </p>
      <p id="summary-proofs" class={`status ${failed > 0 ? 'bad' : verified === shown && shown > 0 ? 'ok' : 'wait'}`}>
        Inclusion proofs of the {shown} entries on screen: {verified} verified, {failed} failed
        {verified + failed < shown ? `, ${shown - verified - failed} not checked` : ''}.
      </p>
      <h3>Counts</h3>
      <p id="summary-entries">
        {summary.entries} entries{summary.complete ? '' : ' (the first of more: narrow the filter)'}
        {`; ${summary.patterns.subVolumeReads} sub-volume reads`}
      </p>
      <div class="pair">
        <Counts caption="By decision" counts={summary.byDecision} />
        <Counts caption="By action" counts={summary.byAction} />
      </div>
      <h3>Flags</h3>
      {summary.patterns.flags.length === 0 ? (
        <p>None with the configured thresholds.</p>
      ) : (
        <ul id="summary-flags">
          {summary.patterns.flags.map((flag) => (
            <li key={`${flag.rule} ${flag.who}`}>
              <strong>{flag.rule}</strong> {flag.who}: {flag.message} (entries {flag.indexes.join(', ')})
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
