import { useEffect, useState } from 'preact/hooks'
import type { Filter } from './api.js'
import { beginSignIn, type SignInIssuer } from './oidc.js'
import type { Verdict } from './trust.js'
import { type PinnedKey, parseVerifierKey } from './verify.js'

/** The filters of GET /v1/audit/entries that are free text, with their labels. */
const FILTERS = [
  ['actor', 'Person (sub)'],
  ['org', 'Organisation code'],
  ['court', 'Court code'],
  ['caseNo', 'Case number'],
  ['grant', 'Grant id'],
  ['action', 'Action'],
] as const

export function Status({ verdict, id }: { verdict: Verdict | undefined; id?: string }) {
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

export function SignIn({ onToken, redirectUri }: { onToken: (token: string) => void; redirectUri: string }) {
  const [value, setValue] = useState('')
  const [issuers, setIssuers] = useState<SignInIssuer[]>([])
  const [error, setError] = useState<string>()
  const [going, setGoing] = useState<string>()
  useEffect(() => {
    // Without it the console still signs in with a pasted token, so a failure here only hides the buttons.
    fetch('/console/sign-in', { cache: 'no-store' })
      .then((response) => (response.ok ? (response.json() as Promise<{ issuers: SignInIssuer[] }>) : { issuers: [] }))
      .then(
        (answer) => setIssuers(answer.issuers),
        () => setIssuers([]),
      )
  }, [])
  const go = async (issuer: SignInIssuer) => {
    setError(undefined)
    setGoing(issuer.issuer)
    try {
      location.assign(await beginSignIn(issuer, redirectUri, sessionStorage))
    } catch (e) {
      setError(`Sign-in with ${issuer.issuer} could not start: ${(e as Error).message}`)
      setGoing(undefined)
    }
  }
  return (
    <>
      {issuers.length > 0 && (
        <section class="card" aria-labelledby="issuers-heading">
          <h2 id="issuers-heading">Sign in with your organisation</h2>
          <p>Your identity provider signs you in and hands this tab a token for this gateway.</p>
          <div class="actions">
            {issuers.map((issuer) => (
              <button type="button" key={issuer.issuer} disabled={!!going} onClick={() => void go(issuer)}>
                {issuer.label}
              </button>
            ))}
          </div>
          {going && <p role="status">Going to {going}…</p>}
          {error && (
            <p class="status bad" role="alert">
              {error}
            </p>
          )}
        </section>
      )}
      <form
        class="card"
        onSubmit={(event) => {
          event.preventDefault()
          if (value.trim()) onToken(value.trim().replace(/^Bearer\s+/i, ''))
        }}
      >
        <h2>{issuers.length > 0 ? 'Or paste a token' : 'Sign in'}</h2>
        <p>Paste your bearer token. It is kept in this tab only and sent to this gateway only.</p>
        <label for="token">Bearer token</label>
        <textarea
          id="token"
          rows={4}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          autocomplete="off"
        />
        <button type="submit">Sign in</button>
      </form>
    </>
  )
}

export function KeyPanel({
  pinned,
  onPin,
}: {
  pinned: PinnedKey | undefined
  onPin: (key: PinnedKey | undefined) => void
}) {
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

export function FilterForm({ onSearch }: { onSearch: (filter: Filter, limit: number) => void }) {
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
