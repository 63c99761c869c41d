import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { api, type Filter, type Item, type Page } from './api.js'
import { saveFile } from './download.js'
import { Detail, Table } from './entries.js'
import { FilterForm, KeyPanel, SignIn, Status } from './forms.js'
import { completeSignIn, isSignInAnswer } from './oidc.js'
import { eachAtMost } from './pool.js'
import { findPatterns, type Patterns, type Thresholds } from './patterns.js'
import { everyPage, PatternsView } from './patterns-view.js'
import { type Summary, SummaryView, summarise } from './summary.js'
import { checkCheckpoint, checkInclusion, type Verdict } from './trust.js'
import { type Checkpoint, canonicalJson, type PinnedKey, parseVerifierKey } from './verify.js'

/**
 * The auditor console: sign in with a bearer token, pasted or obtained from an issuer (this tab only), pin the
 * log's verifier key (this browser), query the log with the API's filters, and see for every shown entry
 * whether the signed log proves it.
 */
const TOKEN_KEY = 'cfg.token'
const VKEY_KEY = 'cfg.vkey'
let patternThresholds: Thresholds | undefined

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
  const [summary, setSummary] = useState<Summary>()

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
    void eachAtMost(
      page.items,
      async (item) => {
        results.set(item.index, await checkInclusion(client, item, cp))
        if (live) setProofs(new Map(results))
      },
      { live: () => live },
    )
    return () => {
      live = false
    }
  }, [page, checkpoint.cp])

  const pin = (pinned: PinnedKey | undefined) => {
    if (pinned) localStorage.setItem(VKEY_KEY, pinned.text)
    else localStorage.removeItem(VKEY_KEY)
    setKey(pinned)
  }
  // The thresholds are the gateway's configuration (console.patterns), read when they are first needed.
  const thresholds = async () => {
    patternThresholds ??= await client.patterns()
    return patternThresholds
  }
  const whole = async (what: string, use: (all: { items: Item[]; complete: boolean }) => void | Promise<void>) => {
    setBusy(what)
    try {
      await use(await everyPage(client, query.filter))
    } catch (e) {
      setError((e as Error).message)
    } finally {
      setBusy(undefined)
    }
  }
  const showPatterns = () =>
    whole('Reading the entries for patterns…', async ({ items, complete }) =>
      setPatterns({ patterns: findPatterns(items, await thresholds()), complete }),
    )
  // One line per entry: the entry (whose canonical JSON is its leaf), its index and its receipt, so that
  // `court-file-gateway verify --key KEYFILE --bundle FILE` checks every line offline (docs/auditors.md#exports).
  const exportBundle = () =>
    whole('Exporting with receipts…', async ({ items }) => {
      const receipts = new Map<number, string>()
      await eachAtMost(items, async (item) => {
        receipts.set(item.index, await client.receipt(item.index))
      })
      saveFile(
        'access-log-filtered.ndjson',
        items
          .map(
            (item) =>
              `{"entry":${canonicalJson(item.entry)},"index":${item.index},"receipt":${JSON.stringify(receipts.get(item.index))}}\n`,
          )
          .join(''),
        'application/x-ndjson',
      )
    })
  const failures = [...proofs.values()].filter((v) => v.state === 'bad').length
  const printSummary = () =>
    whole('Summarising…', async ({ items, complete }) => {
      const verdicts = [...proofs.values()]
      setSummary(
        summarise(items, {
          filter: query.filter,
          complete,
          patterns: findPatterns(items, await thresholds()),
          checkpoint: checkpoint.verdict,
          proofs: {
            verified: verdicts.filter((v) => v.state === 'ok').length,
            failed: failures,
            shown: page?.items.length ?? 0,
          },
        }),
      )
    })
  // Printed once the summary is on the page, so that the print shows it.
  useEffect(() => {
    if (summary) window.print()
  }, [summary])

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
        <button type="button" onClick={exportBundle} disabled={!!busy}>
          Export this filter with receipts (NDJSON)
        </button>
        <button type="button" onClick={printSummary} disabled={!!busy}>
          Print summary
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
      {summary && <SummaryView summary={summary} />}
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
  // Loaded as an issuer's answer to a sign-in (docs/auditors.md#signing-in): finish it before anything else.
  const [answer] = useState(() => {
    const params = new URLSearchParams(location.search)
    return isSignInAnswer(params) ? params : undefined
  })
  const [finishing, setFinishing] = useState(!!answer)
  useEffect(() => {
    if (!answer) return
    // The code leaves the address bar and the history at once: it is redeemed below, once, by this tab.
    history.replaceState(null, '', location.pathname)
    completeSignIn(answer, sessionStorage)
      .then(signIn, (e: Error) => setNotice(`Sign-in failed: ${e.message}`))
      .finally(() => setFinishing(false))
  }, [])
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
        {finishing ? (
          <p role="status">Signing in…</p>
        ) : token ? (
          <Console token={token} onSignOut={signOut} />
        ) : (
          <SignIn onToken={signIn} redirectUri={`${location.origin}${location.pathname}`} />
        )}
      </main>
    </>
  )
}

render(<App />, document.getElementById('app')!)
