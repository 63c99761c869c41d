import fc from 'fast-check'
import t from 'tap'
import type { Entry } from '../../src/accesslog/entry.js'
import {
  type Harness,
  MAIN_GRANT,
  PEOPLE,
  type Person,
  registerAdapter,
  startAdapter,
  startGateway,
  tokenOf,
} from '../helpers/harness.js'
import { verifiedLog } from '../helpers/log-check.js'

/**
 * Generated requests — every state-changing and reading route, bodies and parameters built from odd strings
 * (lone surrogates, bidi and other format characters, controls and NUL, emoji, huge strings), by anyone,
 * in any order, some sent at once — against a real gateway in front of the reference court adapter.
 * After every run: no request got a 5xx for its input, every response is a problem+json or a success, the
 * grants and adapters the API shows are exactly what the log's entries of their changes say, and the log
 * verifies against its signed checkpoint.
 */

const ODD = [
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u202e',
  '\u2066',
  '\u200f',
  '\u061c',
  '\u200b',
  '\ufeff',
  '\u0000',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '😀',
  '👩‍⚖️',
  '\n',
  '"',
  '\\',
  '%00',
  '../',
  '?#',
  '黑01',
  '（',
  ' ',
]
const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...ODD), { minLength: 1, maxLength: 4 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(501), '黑'.repeat(3000), 'y'.repeat(70_000), '') },
)
/**
 * For paths and queries: no huge strings, as the HTTP parser refuses a request line beyond 16 KiB before the
 * gateway sees it (that answer is the HTTP server's, outside this test).
 */
const urlString = oddString.filter((text) => text.length <= 600)
/** A valid value most of the time, or it with something odd around it, or something odd instead. */
const around = (valid: string) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(valid) },
    { weight: 1, arbitrary: oddString.map((odd) => `${valid}${odd}`) },
    { weight: 1, arbitrary: oddString.map((odd) => `${odd}${valid}`) },
    { weight: 1, arbitrary: oddString },
  )
/**
 * Percent-encodes `text` for a query, a lone surrogate as the three bytes a careless client's encoder
 * (WTF-8) sends, since encodeURIComponent refuses to.
 */
function encode(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code < 0xd800 || code > 0xdfff) out += encodeURIComponent(char)
    else
      for (const byte of [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)])
        out += `%${byte.toString(16).toUpperCase()}`
  }
  return out
}
/**
 * Percent-encodes a path segment as a URL encoder does (a lone surrogate becomes U+FFFD). A path that is not
 * UTF-8 once decoded is refused by Fastify's router before any route or hook runs; that answer is Fastify's
 * own error, covered where those are turned into problem+json.
 */
const segment = (text: string) => encodeURIComponent(text.replace(/\p{Cs}/gu, '\ufffd'))
/** Path parameters longer than the router's 200-character limit are likewise refused by Fastify itself. */
const pathString = urlString.filter((text) => segment(text).length <= 200)
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 })

const anyone = fc.constantFrom(...(Object.keys(PEOPLE) as Person[]))
/** Mostly people who may do it, sometimes anyone. */
const mostly = (...people: Person[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...people) }, { weight: 1, arbitrary: anyone })
const person = anyone
/** A grant or adapter the run created (the n-th, modulo), or an odd id. */
const target = fc.oneof(
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ pick })) },
  { weight: 1, arbitrary: pathString.map((raw) => ({ raw })) },
)
const days = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 90 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 181, 1.5, 1e308) },
)
const note = maybe(fc.oneof(fc.constant('审查'), oddString))
/** Something odd for any field: a string, a list of them, a number, null. */
const oddValue = fc.oneof(
  { weight: 4, arbitrary: oddString },
  { weight: 1, arbitrary: fc.array(oddString, { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 0, -1, 1e308, true, {}) },
)
/** A valid body most of the time; else one of `keys` odd (or missing), so that the request fails on that alone. */
const mostlyValid = <T extends Record<string, unknown>>(valid: fc.Arbitrary<T>, keys: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: valid },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.constantFrom(...keys)).chain(([body, key]) => {
        const value = body[key]
        // A valid string with something odd before or after it (e.g. a court code and a bidi override), or
        // anything odd instead, or nothing.
        const odd = typeof value === 'string' ? fc.oneof(around(value), maybe(oddValue)) : maybe(oddValue)
        return odd.map((replaced) => ({ ...body, [key]: replaced }))
      }),
    },
  )

interface Op {
  route: string
  as: Person | undefined
  method: string
  path: (ids: Ids) => string
  body?: unknown
}
interface Ids {
  grants: string[]
  adapters: string[]
  courtUrl: string
}
const pickFrom = (list: string[], ref: { pick: number } | { raw: string }) =>
  'raw' in ref ? segment(ref.raw) : (list[ref.pick % Math.max(list.length, 1)] ?? 'none')

const grantBody = mostlyValid(
  fc.record(
    {
      court: fc.constant('黑01'),
      caseNo: fc.constantFrom(MAIN_GRANT.caseNo, '(2023)黑01民终1234号', '（2023）黑01民初5678号'),
      supervisionCase: fc.nat({ max: 40 }).map((n) => `哈检民监〔2024〕${n}号`),
      volumes: fc.constantFrom(['main'], ['main', 'sub'], ['sub', 'main']),
      reason: fc.oneof({ weight: 3, arbitrary: fc.constant('民事生效裁判监督') }, { weight: 1, arbitrary: oddString }),
      members: fc.array(fc.constantFrom('li.na', '230100/li.na', 'wang.wu'), { maxLength: 2 }),
      days: days,
    },
    { requiredKeys: ['court', 'caseNo', 'supervisionCase', 'volumes', 'reason'] },
  ),
  ['court', 'caseNo', 'supervisionCase', 'volumes', 'reason', 'members', 'days'],
)
const adapterBody = mostlyValid(
  fc.record(
    {
      court: fc.constantFrom('黑01', '黑0103'),
      baseUrl: fc.constantFrom('COURT', 'COURT/', 'http://127.0.0.1:9'),
      covers: fc.constantFrom([], ['黑0103']),
      description: oddString,
      probeCase: fc.constant('（2023）黑01民终1234号'),
    },
    { requiredKeys: ['court', 'baseUrl'] },
  ),
  ['court', 'baseUrl', 'covers', 'description', 'probeCase'],
)

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(grantBody, mostly('prosecutor', 'colleague', 'otherProsecutor'))
      .map(([body, as]): Op => ({ route: 'createGrant', as, method: 'POST', path: () => '/v1/grants', body })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        fc.constantFrom('approve', 'reject', 'revoke'),
        target,
        mostly('approver', 'approver2', 'prosecutor'),
        note,
      )
      .map(
        ([verb, ref, as, text]): Op => ({
          route: `${verb}Grant`,
          as,
          method: 'POST',
          path: (ids) => `/v1/grants/${pickFrom(ids.grants, ref)}/${verb}`,
          body: text === undefined ? {} : verb === 'approve' ? { note: text } : { reason: text },
        }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(target, mostly('prosecutor', 'colleague'), days).map(
      ([ref, as, n]): Op => ({
        route: 'renewGrant',
        as,
        method: 'POST',
        path: (ids) => `/v1/grants/${pickFrom(ids.grants, ref)}/renew`,
        body: { days: n },
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '/case', '/volumes', '/documents/main-05-judgment', '/documents/sub-02-deliberation'),
        target,
        person,
      )
      .map(
        ([suffix, ref, as]): Op => ({
          route: `readGrant${suffix}`,
          as,
          method: 'GET',
          path: (ids) => `/v1/grants/${pickFrom(ids.grants, ref)}${suffix}`,
        }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(target, pathString, person).map(
      ([ref, doc, as]): Op => ({
        route: 'readDocument',
        as,
        method: 'GET',
        path: (ids) => `/v1/grants/${pickFrom(ids.grants, ref)}/documents/${segment(doc)}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(maybe(fc.oneof(fc.constant('active'), urlString)), person).map(
      ([status, as]): Op => ({
        route: 'listGrants',
        as,
        method: 'GET',
        path: () => `/v1/grants${status === undefined ? '' : `?status=${encode(status)}`}`,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(adapterBody, mostly('courtAdmin', 'courtAdmin0103'))
      .map(([body, as]): Op => ({ route: 'createAdapter', as, method: 'POST', path: () => '/v1/adapters', body })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        target,
        adapterBody,
        mostly('courtAdmin', 'operator'),
        fc.subarray(['baseUrl', 'covers', 'description', 'probeCase', 'court'], { minLength: 1 }),
      )
      .map(
        ([ref, body, as, keys]): Op => ({
          route: 'updateAdapter',
          as,
          method: 'PATCH',
          path: (ids) => `/v1/adapters/${pickFrom(ids.adapters, ref)}`,
          body: Object.fromEntries(
            keys.map((key) => [key, body[key as keyof typeof body]]).filter(([, v]) => v !== undefined),
          ),
        }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('activate', 'suspend'), target, mostly('operator')).map(
      ([verb, ref, as]): Op => ({
        route: `${verb}Adapter`,
        as,
        method: 'POST',
        path: (ids) => `/v1/adapters/${pickFrom(ids.adapters, ref)}/${verb}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('', '/health'), target, person).map(
      ([suffix, ref, as]): Op => ({
        route: `readAdapter${suffix}`,
        as,
        method: 'GET',
        path: (ids) => `/v1/adapters/${pickFrom(ids.adapters, ref)}${suffix}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('/v1/adapters', '/v1/courts', '/v1/audit/checkpoint', '/v1/audit/key'), person)
      .map(([path, as]): Op => ({ route: path, as, method: 'GET', path: () => path })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('actor', 'org', 'court', 'caseNo', 'grant', 'action', 'decision', 'since', 'cursor', 'limit'),
        urlString,
        person,
      )
      .map(
        ([key, value, as]): Op => ({
          route: 'listAuditEntries',
          as,
          method: 'GET',
          path: () => `/v1/audit/entries?${key}=${encode(value)}`,
        }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.oneof(fc.nat({ max: 50 }).map(String), pathString), fc.constantFrom('', '/receipt')).map(
      ([index, suffix]): Op => ({
        route: 'getAuditEntry',
        as: 'auditor',
        method: 'GET',
        path: () => `/v1/audit/entries/${segment(index)}${suffix}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(urlString, urlString).map(
      ([a, b]): Op => ({
        route: 'proofs',
        as: 'auditor',
        method: 'GET',
        path: () => `/v1/audit/proofs/inclusion?index=${encode(a)}&size=${encode(b)}`,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: oddString.map(
      (value): Op => ({
        route: 'unauthenticated',
        as: undefined,
        method: 'POST',
        path: () => '/v1/grants',
        body: { ...MAIN_GRANT, reason: value },
      }),
    ),
  },
)

/** Replaces the placeholder COURT by the reference adapter's URL, everywhere in a body. */
function withCourtUrl(value: unknown, url: string): unknown {
  if (typeof value === 'string') return value.replace('COURT', url)
  if (Array.isArray(value)) return value.map((item) => withCourtUrl(item, url))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withCourtUrl(item, url)]))
  }
  return value
}

/** 5xx that the state of a court explains (no active adapter serves it), not the request's input. */
const NOT_THE_INPUT = new Set(['ADAPTER_UNAVAILABLE'])

/** Grants and adapters as their logged changes say they are. */
function replay(entries: Entry[]) {
  const grants = new Map<string, { status: string; expiresAt: string }>()
  const adapters = new Map<string, { status: string; baseUrl: string }>()
  for (const entry of entries) {
    if (entry.decision !== 'allow' || entry.phase === 'intent') continue
    const detail = (entry.detail ?? {}) as Record<string, any>
    const grant = entry.resource?.grant
    const adapter = entry.resource?.adapter
    switch (entry.action) {
      case 'grant.create':
        grants.set(grant!, { status: detail.status, expiresAt: detail.expiresAt })
        break
      case 'grant.approve':
      case 'grant.reject':
      case 'grant.revoke':
        grants.get(grant!)!.status = detail.to
        break
      case 'grant.renew':
        grants.get(grant!)!.expiresAt = detail.to
        break
      case 'adapter.register':
        adapters.set(adapter!, { status: 'pending', baseUrl: detail.baseUrl })
        break
      case 'adapter.update': {
        const known = adapters.get(adapter!)!
        known.status = 'pending'
        if (detail.baseUrl !== undefined) known.baseUrl = String(detail.baseUrl).replace(/\/+$/, '')
        break
      }
      case 'adapter.activate':
        adapters.get(adapter!)!.status = 'active'
        break
      case 'adapter.suspend':
        adapters.get(adapter!)!.status = 'suspended'
        break
    }
  }
  return { grants, adapters }
}

t.test('generated requests never break the log promise', async (t) => {
  const h: Harness = await startGateway(t, {
    limits: { requestsPerMinute: 1_000_000, organisationRequestsPerMinute: 1_000_000, documentsPerDay: 1_000_000 },
  })
  const court = await startAdapter(t, h.url)
  const first = await registerAdapter(h, court.url)
  const ids: Ids = { grants: [], adapters: [first], courtUrl: court.url }
  const failures: string[] = []

  const send = async (request: Op) => {
    const body = request.body === undefined ? undefined : withCourtUrl(request.body, ids.courtUrl)
    const path = request.path(ids)
    const response = await h.call(request.method, path, {
      ...(request.as ? { token: tokenOf(h, request.as) } : {}),
      ...(body === undefined ? {} : { body }),
    })
    const what = `${request.route} ${request.method} ${path.slice(0, 200)} as ${request.as}: ${response.status} ${response.text.slice(0, 300)}`
    if (response.status >= 500 && !NOT_THE_INPUT.has(response.json?.code)) failures.push(`5xx: ${what}`)
    if (response.status >= 400 && !/^application\/problem\+json/.test(String(response.headers['content-type']))) {
      failures.push(`not problem+json: ${what}`)
    }
    if (response.status === 201 && request.route === 'createGrant') ids.grants.push(response.json.id)
    if (response.status === 201 && request.route === 'createAdapter') ids.adapters.push(response.json.id)
  }

  /**
   * Before each run: the court 黑01 is served, by a newly registered adapter if a run suspended or moved
   * every one (a fresh one: the circuit breaker of a moved one may be open), so grants can be opened and read.
   */
  const ensureServed = async () => {
    const courts = await h.call('GET', '/v1/courts', { token: tokenOf(h, 'prosecutor') })
    const served = courts.json.items.find((item: { code: string }) => item.code === '黑01')?.adapters?.trial
    if (served?.status !== 'active') ids.adapters.push(await registerAdapter(h, court.url))
  }

  /** What the API shows, read by people who see everything of its kind. */
  const shown = async () => {
    const grants = new Map<string, { status: string; expiresAt: string }>()
    for (const approver of ['approver', 'approver0103'] as const) {
      const listed = await h.call('GET', '/v1/grants?limit=1000', { token: tokenOf(h, approver) })
      for (const grant of listed.json.items) grants.set(grant.id, { status: grant.status, expiresAt: grant.expiresAt })
    }
    const listed = await h.call('GET', '/v1/adapters', { token: tokenOf(h, 'operator') })
    const adapters = new Map<string, { status: string; baseUrl: string }>(
      listed.json.items.map((adapter: { id: string; status: string; baseUrl: string }) => [
        adapter.id,
        { status: adapter.status, baseUrl: adapter.baseUrl },
      ]),
    )
    return { grants, adapters }
  }

  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 8 }),
      async (rounds) => {
        failures.length = 0
        await ensureServed()
        // Each round's requests are sent at once: decisions race and must still be all-or-nothing.
        for (const round of rounds) await Promise.all(round.map(send))
        const log = await verifiedLog(h)
        if (!log.result.ok) failures.push(`the log does not verify: ${JSON.stringify(log.result)}`)
        const fromLog = replay(log.entries)
        const api = await shown()
        const compare = (kind: string, a: Map<string, unknown>, b: Map<string, unknown>) => {
          for (const [id, state] of a) {
            if (JSON.stringify(state) !== JSON.stringify(b.get(id))) {
              failures.push(
                `${kind} ${id}: the API shows ${JSON.stringify(state)}, its log entries ${JSON.stringify(b.get(id))}`,
              )
            }
          }
          for (const id of b.keys()) if (!a.has(id)) failures.push(`${kind} ${id} is logged but not shown`)
        }
        compare('grant', api.grants, fromLog.grants)
        compare('adapter', api.adapters, fromLog.adapters)
        if (failures.length > 0) throw new Error(failures.join('\n'))
      },
    ),
    { numRuns: 30, endOnFailure: true },
  )
  t.pass(`30 runs; ${ids.grants.length} grants and ${ids.adapters.length} adapters made along the way`)
})
