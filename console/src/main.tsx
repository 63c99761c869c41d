import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { type Api, api, type Entry, type Filter, type Item, type Page } from './api.js'
import thresholds from '../patterns.json' with { type: 'json' }
import { findPatterns, type Patterns, type Thresholds } from './patterns.js'
import { checkCheckpoint, checkInclusion, type Verdict } from './trust.js'
import {
  type Checkpoint,
  canonicalJson,
  entryLeaf,
  fromBase64,
  type PinnedKey,
  parseVerifierKey,
  toHex,
} from './verify.js'

/**
 * The auditor console: sign in with a bearer token (this tab only), pin the log's verifier key (this browser),
 * query the log with the API's filters, and see for every shown entry whether the signed log proves it.
 */
const TOKEN_KEY = 'cfg.token'
const VKEY_KEY = 'cfg.vkey'
const FILTERS = [
  ['actor', 'Person (sub)'],
  ['org', 'Organisation code'],
  ['court', 'Court code'],
  ['caseNo', 'Case number'],
  ['grant', 'Grant id'],
  ['action', 'Action'],
] as const

function Status({ verdict, id }: { verdict: Verdict | undefined; id?: string }) {
  if (!verdict)
    return (
      <p id={id} class="status wait">
        Checking…
      </p>
    )
  return (
    <p id={id} class={`status ${verdict.state}`} role={verdict.state === 'bad' ? 'alert' : 'status'}>
      {verdict.state === 'ok' ? '✔ ' : verdict.state === 'bad' ? '✘ ' : ''}
      {verdict.message}
    </p>
  )
}

function SignIn({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState('')
  return (
    <form
      class="card"
      onSubmit={(event) => {
        event.preventDefault()
        if (value.trim()) onToken(value.trim().replace(/^Bearer\s+/i, ''))
      }}
    >
      <h2>Sign in</h2>
      <p>Paste your bearer token. It is kept in this tab only and sent to this gateway only.</p>
      <label for="token">Bearer token</label>
      <textarea id="token" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} autocomplete="off" />
      <button type="submit">Sign in</button>
    </form>
  )
}

function KeyPanel({ pinned, onPin }: { pinned: PinnedKey | undefined; onPin: (key: PinnedKey | undefined) => void }) {
  const [value, setValue] = useState('')
  const [error, setError] = useState<string>()
  const pin = async (text: string) => {
    try {
      onPin(await parseVerifierKey(text))
      setError(undefined)
    } catch (e) {
      setError(`Not a usable verifier key: ${(e as Error).message}.`)
    }
  }
  if (pinned) {
    return (
      <section class="card" aria-labelledby="key-heading">
        <h2 id="key-heading">Verifier key (pinned in this browser)</h2>
        <p>
          <code id="vkey">{pinned.text}</code>
        </p>
        <p>
          Fingerprint (SHA-256 of the public key): <code id="fingerprint">{pinned.fingerprint}</code>. Compare it with
          the one your log's operator published.
        </p>
        <button type="button" onClick={() => onPin(undefined)}>
          Unpin key
        </button>
      </section>
    )
  }
  return (
    <form
      class="card"
      aria-labelledby="key-heading"
      onSubmit={(event) => {
        event.preventDefault()
        void pin(value)
      }}
    >
      <h2 id="key-heading">Pin the verifier key</h2>
      <p>
        Paste the log's verifier key as published out of band (<code>court-file-gateway vkey --key FILE</code>), or read
        it from a file. Nothing is verified until a key is pinned; it is never taken from the server.
      </p>
      <label for="vkey-input">Verifier key</label>
      <input id="vkey-input" value={value} onInput={(e) => setValue(e.currentTarget.value)} autocomplete="off" />
      <label for="vkey-file">Or a key file</label>
      <input
        id="vkey-file"
        type="file"
        accept=".txt,.vkey,text/plain"
        onChange={async (e) => {
          const file = e.currentTarget.files?.[0]
          if (file) await pin(await file.text())
        }}
      />
      <button type="submit">Pin key</button>
      {error && (
        <p class="status bad" role="alert">
          {error}
        </p>
      )}
    </form>
  )
}

function FilterForm({ onSearch }: { onSearch: (filter: Filter, limit: number) => void }) {
  return (
    <form
      class="card filters"
      aria-label="Filter the log"
      onSubmit={(event) => {
        event.preventDefault()
        const data = new FormData(event.currentTarget)
        const filter: Filter = {}
        for (const [name] of FILTERS) filter[name] = String(data.get(name) ?? '').trim()
        filter.decision = String(data.get('decision') ?? '')
        for (const name of ['since', 'until'] as const) {
          const local = String(data.get(name) ?? '')
          if (local) filter[name] = new Date(local).toISOString()
        }
        onSearch(filter, Number(data.get('limit') ?? 25))
      }}
    >
      {FILTERS.map(([name, label]) => (
        <div class="field" key={name}>
          <label for={`f-${name}`}>{label}</label>
          <input id={`f-${name}`} name={name} autocomplete="off" />
        </div>
      ))}
      <div class="field">
        <label for="f-decision">Decision</label>
        <select id="f-decision" name="decision">
          <option value="">any</option>
          <option value="allow">allow</option>
          <option value="deny">deny</option>
        </select>
      </div>
      <div class="field">
        <label for="f-since">From (local time)</label>
        <input id="f-since" name="since" type="datetime-local" step="1" />
      </div>
      <div class="field">
        <label for="f-until">Until (local time)</label>
        <input id="f-until" name="until" type="datetime-local" step="1" />
      </div>
      <div class="field">
        <label for="f-limit">Per page</label>
        <select id="f-limit" name="limit">
          <option>25</option>
          <option>100</option>
          <option>500</option>
        </select>
      </div>
      <div class="actions">
        <button type="submit">Search</button>
        <button type="reset">Clear</button>
      </div>
    </form>
  )
}

const who = (entry: Entry) => entry.actor?.sub ?? ''

function Table({ page, proofs, onOpen }: { page: Page; proofs: Map<number, Verdict>; onOpen: (item: Item) => void }) {
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

function Detail({
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
      const receipt = await client.receipt(item.index)
      const url = URL.createObjectURL(new Blob([receipt], { type: 'text/plain' }))
      const link = document.createElement('a')
      link.href = url
      link.download = `receipt-${item.index}.txt`
      link.click()
      setTimeout(() => URL.revokeObjectURL(url), 10_000)
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

/** The most entries patterns and exports read for one filter: beyond it, narrow the filter (or use the API). */
const MAX_ENTRIES = 20_000

async function everyPage(client: Api, filter: Filter): Promise<{ items: Item[]; complete: boolean }> {
  const items: Item[] = []
  let cursor: string | undefined
  do {
    const page = await client.entries(filter, 1000, cursor)
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor && items.length < MAX_ENTRIES)
  return { items, complete: !cursor }
}

function saveFile(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
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

function PatternsView({ patterns, complete }: { patterns: Patterns; complete: boolean }) {
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

function Console({ token, onSignOut }: { token: string; onSignOut: (why?: string) => void }) {
  const client = api(token)
  const [key, setKey] = useState<PinnedKey>()
  const [checkpoint, setCheckpoint] = useState<{ cp?: Checkpoint; verdict?: Verdict }>({})
  const [query, setQuery] = useState<{ filter: Filter; limit: number; cursors: string[] }>({
    filter: {},
    limit: 25,
    cursors: [],
  })
  const [page, setPage] = useState<Page>()
  const [error, setError] = useState<string>()
  const [proofs, setProofs] = useState(new Map<number, Verdict>())
  const [open, setOpen] = useState<Item>()
  const [patterns, setPatterns] = useState<{ patterns: Patterns; complete: boolean }>()
  const [busy, setBusy] = useState<string>()

  useEffect(() => {
    const stored = localStorage.getItem(VKEY_KEY)
    if (stored) parseVerifierKey(stored).then(setKey, () => localStorage.removeItem(VKEY_KEY))
  }, [])

  const refreshCheckpoint = async (pinned = key) => {
    if (!pinned) {
      setCheckpoint({ verdict: { state: 'wait', message: 'Nothing is verified: pin the verifier key first.' } })
      return
    }
    setCheckpoint({})
    const { checkpoint: cp, verdict } = await checkCheckpoint(client, pinned, localStorage)
    setCheckpoint(verdict.state === 'ok' && cp ? { cp, verdict } : { verdict })
  }
  useEffect(() => {
    void refreshCheckpoint()
  }, [key?.text])

  useEffect(() => {
    let live = true
    setError(undefined)
    client.entries(query.filter, query.limit, query.cursors.at(-1)).then(
      (p) => live && setPage(p),
      (e: Error & { status?: number }) => {
        if (!live) return
        if (e.status === 401) onSignOut('Your token was refused; sign in again.')
        else setError(e.message)
      },
    )
    return () => {
      live = false
    }
  }, [query])

  // Every shown entry is checked against the verified checkpoint, four proofs at a time.
  useEffect(() => {
    const cp = checkpoint.cp
    if (!page) return
    const results = new Map<number, Verdict>()
    setProofs(new Map())
    if (!cp) return
    let live = true
    const queue = [...page.items]
    const worker = async () => {
      for (let item = queue.shift(); item && live; item = queue.shift()) {
        results.set(item.index, await checkInclusion(client, item, cp))
        if (live) setProofs(new Map(results))
      }
    }
    void Promise.all([worker(), worker(), worker(), worker()])
    return () => {
      live = false
    }
  }, [page, checkpoint.cp])

  const pin = (pinned: PinnedKey | undefined) => {
    if (pinned) localStorage.setItem(VKEY_KEY, pinned.text)
    else localStorage.removeItem(VKEY_KEY)
    setKey(pinned)
  }
  const whole = async (what: string, use: (all: { items: Item[]; complete: boolean }) => void) => {
    setBusy(what)
    try {
      use(await everyPage(client, query.filter))
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(undefined)
    }
  }
  const showPatterns = () =>
    whole('Reading the entries for patterns…', ({ items, complete }) =>
      setPatterns({ patterns: findPatterns(items, thresholds as Thresholds), complete }),
    )
  // One line per entry: its index and the entry, whose canonical JSON is its leaf (verify with receipts).
  const exportNdjson = () =>
    whole('Exporting…', ({ items }) =>
      saveFile(
        'access-log-filtered.ndjson',
        items.map((item) => `{"entry":${canonicalJson(item.entry)},"index":${item.index}}\n`).join(''),
        'application/x-ndjson',
      ),
    )
  const failures = [...proofs.values()].filter((v) => v.state === 'bad').length

  return (
    <>
      <div class="toolbar">
        <button type="button" onClick={() => onSignOut()}>
          Sign out
        </button>
      </div>
      <KeyPanel pinned={key} onPin={pin} />
      <section class="card" aria-labelledby="cp-heading">
        <h2 id="cp-heading">Signed checkpoint</h2>
        <Status verdict={checkpoint.verdict} id="checkpoint" />
        <button type="button" onClick={() => void refreshCheckpoint()}>
          Check the latest checkpoint
        </button>
      </section>
      <FilterForm onSearch={(filter, limit) => setQuery({ filter, limit, cursors: [] })} />
      {error && (
        <p class="status bad" role="alert">
          {error}
        </p>
      )}
      {failures > 0 && (
        <p class="status bad" role="alert" id="proof-failures">
          ✘ {failures} shown {failures === 1 ? 'entry does' : 'entries do'} NOT verify against the signed log.
        </p>
      )}
      {page && <Table page={page} proofs={proofs} onOpen={setOpen} />}
      <div class="actions">
        <button type="button" onClick={showPatterns} disabled={!!busy}>
          Patterns of this filter
        </button>
        <button type="button" onClick={exportNdjson} disabled={!!busy}>
          Export this filter (NDJSON)
        </button>
        {busy && <span role="status">{busy}</span>}
      </div>
      <nav class="actions" aria-label="Pages">
        <button
          type="button"
          disabled={query.cursors.length === 0}
          onClick={() => setQuery({ ...query, cursors: query.cursors.slice(0, -1) })}
        >
          Previous page
        </button>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setQuery({ ...query, cursors: [...query.cursors, page.nextCursor] })}
        >
          Next page
        </button>
      </nav>
      {patterns && <PatternsView patterns={patterns.patterns} complete={patterns.complete} />}
      {open && (
        <Detail
          key={open.index}
          client={client}
          item={open}
          checkpoint={checkpoint.cp}
          onClose={() => setOpen(undefined)}
        />
      )}
    </>
  )
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? '')
  const [notice, setNotice] = useState<string>()
  const signIn = (value: string) => {
    sessionStorage.setItem(TOKEN_KEY, value)
    setNotice(undefined)
    setToken(value)
  }
  const signOut = (why?: string) => {
    sessionStorage.removeItem(TOKEN_KEY)
    setNotice(why)
    setToken('')
  }
  return (
    <>
      <header>
        <h1>Access log</h1>
        <p>Who read which court file, when and why, checked against the signed log in this browser.</p>
      </header>
      <main>
        {notice && (
          <p class="status bad" role="alert">
            {notice}
          </p>
        )}
        {token ? <Console token={token} onSignOut={signOut} /> : <SignIn onToken={signIn} />}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
