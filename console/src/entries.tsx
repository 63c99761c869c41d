import { useEffect, useState } from 'preact/hooks'
import type { Api, Entry, Filter, Item, Page } from './api.js'
import { saveFile } from './download.js'
import { Status } from './forms.js'
import { type Checkpoint, entryLeaf, fromBase64, toHex } from './verify.js'
import { checkInclusion, type Verdict } from './trust.js'

const who = (entry: Entry) => entry.actor?.sub ?? ''

export function Table({
  page,
  proofs,
  onOpen,
}: {
  page: Page
  proofs: Map<number, Verdict>
  onOpen: (item: Item) => void
}) {
  if (page.items.length === 0) return <p class="card">No entries match.</p>
  return (
    <div class="scroll">
      <table id="entries">
        <caption>
          Entries {page.items[0]!.index} to {page.items.at(-1)!.index}
        </caption>
        <thead>
          <tr>
            {[
              'Index',
              'Time',
              'Person',
              'Organisation',
              'Action',
              'Court',
              'Case',
              'Phase',
              'Decision',
              'Proof',
              '',
            ].map((h) => (
              <th scope="col" key={h}>
                {h || <span class="visually-hidden">Details</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {page.items.map((item) => {
            const { entry } = item
            const proof = proofs.get(item.index)
            return (
              <tr key={item.index} data-index={item.index}>
                <td>{item.index}</td>
                <td>
                  <time dateTime={entry.time}>{entry.time.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z')}</time>
                </td>
                <td>{who(entry)}</td>
                <td>{entry.actor?.org ?? ''}</td>
                <td>{entry.action}</td>
                <td class="court">{entry.resource?.court ?? ''}</td>
                <td>{entry.resource?.caseNo ?? ''}</td>
                <td>{entry.phase}</td>
                <td class={entry.decision === 'deny' ? 'deny' : ''}>
                  {entry.decision ?? ''}
                  {entry.reason ? ` (${entry.reason})` : ''}
                </td>
                <td class={`proof ${proof?.state ?? 'wait'}`} title={proof?.message}>
                  {proof ? (proof.state === 'ok' ? '✔ verified' : proof.state === 'bad' ? '✘ FAILED' : 'pending') : '…'}
                </td>
                <td>
                  <button type="button" onClick={() => onOpen(item)} aria-label={`Open entry ${item.index}`}>
                    Open
                  </button>
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}

function Fields({ entry }: { entry: Entry }) {
  const rows: Array<[string, string]> = []
  const walk = (prefix: string, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v)
    } else rows.push([prefix, Array.isArray(value) ? value.join(', ') : String(value)])
  }
  walk('', entry)
  return (
    <dl class="fields">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  )
}

/** The other half of a read: an outcome names its intent; an intent's outcome is found by asking the API. */
async function pairOf(client: Api, item: Item): Promise<Item | undefined> {
  const { entry } = item
  if (entry.phase === 'outcome' && entry.intent !== undefined) return client.entry(entry.intent)
  if (entry.phase !== 'intent') return undefined
  const filter: Filter = { action: entry.action, since: entry.time }
  if (entry.actor?.sub) filter.actor = entry.actor.sub
  if (entry.actor?.org) filter.org = entry.actor.org
  if (entry.resource?.grant) filter.grant = entry.resource.grant
  const page = await client.entries(filter, 500)
  return page.items.find((candidate) => candidate.entry.intent === item.index)
}

export function Detail({
  client,
  item,
  checkpoint,
  onClose,
}: {
  client: Api
  item: Item
  checkpoint: Checkpoint | undefined
  onClose: () => void
}) {
  const [leaf, setLeaf] = useState<{ text: string; b64: string; matches: boolean }>()
  const [pair, setPair] = useState<Item | null>()
  const [inclusion, setInclusion] = useState<Verdict>()
  const [error, setError] = useState<string>()
  useEffect(() => {
    let live = true
    void (async () => {
      try {
        const served = await client.entry(item.index)
        const bytes = fromBase64(served.leaf) ?? new Uint8Array()
        const shown = entryLeaf(item.entry)
        const matches = toHex(bytes) === toHex(shown)
        if (live) setLeaf({ text: new TextDecoder().decode(bytes), b64: served.leaf, matches })
        const other = await pairOf(client, item)
        if (live) setPair(other ?? null)
      } catch (e) {
        if (live) setError((e as Error).message)
      }
    })()
    if (checkpoint) void checkInclusion(client, item, checkpoint).then((v) => live && setInclusion(v))
    else setInclusion({ state: 'wait', message: 'Pin the verifier key to verify this entry.' })
    return () => {
      live = false
    }
  }, [item.index, checkpoint?.size])
  const download = async () => {
    try {
      saveFile(`receipt-${item.index}.txt`, await client.receipt(item.index), 'text/plain')
    } catch (e) {
      setError((e as Error).message)
    }
  }
  return (
    <section class="card detail" id="detail" aria-labelledby="detail-heading" tabIndex={-1}>
      <h2 id="detail-heading">Entry {item.index}</h2>
      <Status verdict={inclusion} id="inclusion" />
      {leaf && (
        <Status
          verdict={
            leaf.matches
              ? { state: 'ok', message: 'The leaf bytes served are exactly the entry shown (RFC 8785).' }
              : { state: 'bad', message: 'The leaf bytes served differ from the entry shown.' }
          }
        />
      )}
      {error && (
        <p class="status bad" role="alert">
          {error}
        </p>
      )}
      <div class="pair">
        <div>
          <h3>{item.entry.phase === 'outcome' ? 'Outcome' : item.entry.phase === 'intent' ? 'Intent' : 'Event'}</h3>
          <Fields entry={item.entry} />
        </div>
        {item.entry.phase !== 'event' && (
          <div>
            <h3>{item.entry.phase === 'outcome' ? `Its intent` : 'Its outcome'}</h3>
            {pair === undefined ? (
              <p>Looking…</p>
            ) : pair === null ? (
              <p>{item.entry.phase === 'intent' ? 'No outcome logged (yet).' : 'Not visible to you.'}</p>
            ) : (
              <>
                <p>Entry {pair.index}</p>
                <Fields entry={pair.entry} />
              </>
            )}
          </div>
        )}
      </div>
      <h3>Leaf bytes</h3>
      <pre id="leaf">{leaf?.text ?? '…'}</pre>
      <details>
        <summary>Base64</summary>
        <pre>{leaf?.b64}</pre>
      </details>
      <div class="actions">
        <button type="button" onClick={download}>
          Download receipt
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </section>
  )
}
