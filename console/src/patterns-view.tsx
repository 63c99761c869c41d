import type { Api, Filter, Item } from './api.js'
import type { Patterns } from './patterns.js'

/** The most entries patterns and exports read for one filter: beyond it, narrow the filter (or use the API). */
const MAX_ENTRIES = 20_000

export async function everyPage(client: Api, filter: Filter): Promise<{ items: Item[]; complete: boolean }> {
  const items: Item[] = []
  let cursor: string | undefined
  do {
    const page = await client.entries(filter, 1000, cursor)
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor && items.length < MAX_ENTRIES)
  return { items, complete: !cursor }
}

function CountTable({
  id,
  caption,
  rows,
}: {
  id: string
  caption: string
  rows: Record<string, Record<string, number>>
}) {
  const days = [...new Set(Object.values(rows).flatMap((row) => Object.keys(row)))].sort()
  const most = Math.max(1, ...Object.values(rows).flatMap((row) => Object.values(row)))
  return (
    <div class="scroll">
      <table id={id}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Code</th>
            {days.map((day) => (
              <th scope="col" key={day}>
                {day}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {Object.entries(rows).map(([code, row]) => (
            <tr key={code}>
              <th scope="row">{code}</th>
              {days.map((day) => (
                <td key={day}>
                  <span class="bar" style={{ width: `${((row[day] ?? 0) / most) * 6}rem` }} />
                  {row[day] ?? 0}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export function PatternsView({ patterns, complete }: { patterns: Patterns; complete: boolean }) {
  return (
    <section class="card" aria-labelledby="patterns-heading" id="patterns">
      <h2 id="patterns-heading">Patterns worth a second look</h2>
      {!complete && (
        <p class="status wait">
          Only the first {MAX_ENTRIES} entries of this filter were read: narrow it for the rest.
        </p>
      )}
      <CountTable id="reads-by-org" caption="Reads per day (CST) by procuratorate" rows={patterns.readsByOrg} />
      <CountTable id="reads-by-court" caption="Reads per day (CST) by court" rows={patterns.readsByCourt} />
      <h3>Denials by reason</h3>
      <ul id="denials">
        {Object.entries(patterns.denialsByReason).map(([reason, count]) => (
          <li key={reason}>
            {reason}: {count}
          </li>
        ))}
      </ul>
      <p>Sub-volume reads: {patterns.subVolumeReads}</p>
      <h3>Flags</h3>
      {patterns.flags.length === 0 ? (
        <p>None with the configured thresholds.</p>
      ) : (
        <ul id="flags">
          {patterns.flags.map((flag) => (
            <li key={`${flag.rule} ${flag.who}`}>
              <strong>{flag.rule}</strong> {flag.who}: {flag.message} (entries {flag.indexes.join(', ')})
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
