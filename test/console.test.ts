import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { GATEWAY_SPEC, PROJECT_ROOT } from '../src/paths.js'
import Fastify from 'fastify'
import { CONSOLE_CSP, consoleRoutes } from '../src/http/console-routes.js'
import { loadSpec } from '../src/http/openapi.js'
import problemPlugin from '../src/http/problem-plugin.js'
import { specValidatorCompiler } from '../src/http/validator-compiler.js'
import type { Services } from '../src/services.js'
import { findPatterns } from '../console/src/patterns.js'
import { accessible, CHROMIUM, DEADLINE, newBrowserContext } from './helpers/browser.js'
import { cliInProcess } from './helpers/children.js'
import { buildConsole } from './helpers/console-build.js'
import {
  eventually,
  type Harness,
  type Person,
  registerAdapter,
  startAdapter,
  startGateway,
  testConfig,
  tokenOf,
} from './helpers/harness.js'
// Signing in to the console with an OpenID Connect provider (test/console/sign-in.ts) runs in this process too, in
// the same Chromium (test/helpers/browser.ts launches one per process) and on the same console build: a test file
// and a browser launch fewer in the suite (issue 9).
import './console/sign-in.js'

/**
 * The auditor console end to end: Debian's Chromium driven by playwright-core against a real gateway with a
 * real log. Doctored answers (page.route) stand in for a lying server: the page must say so.
 */
// The screenshots linked from docs/auditors.md are refreshed only on request (UPDATE_SCREENSHOTS=1), so that a
// test run never changes the repository; otherwise they go to a scratch folder (still taken: it exercises each view).
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(PROJECT_ROOT, 'docs', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'console-shots-'))
const CASE_01 = '（2023）黑01民终1234号'
const CASE_0103 = '（2023）黑0103民初4567号'
/** The configuration's defaults of console.patterns, with the enforced daily quota of the test gateway. */
const DEFAULT_THRESHOLDS = {
  manyCasesPerDay: 10,
  dailyQuota: 100_000,
  quotaWarningFraction: 0.8,
  workingHours: { start: 8, end: 18, weekdays: [1, 2, 3, 4, 5] },
  recentMainReadDays: 30,
  quickApprovalMinutes: 5,
  quickApprovalsPerPair: 2,
}

t.test('a gateway without a build of the console answers 404 on /console', async (t) => {
  const app = Fastify()
  app.setValidatorCompiler(specValidatorCompiler())
  await app.register(problemPlugin)
  const dir = t.testdir()
  await consoleRoutes(app, { spec: loadSpec(GATEWAY_SPEC), config: testConfig(dir) } as Services, dir)
  t.teardown(() => app.close())
  const page = await app.inject('/console')
  t.equal(page.statusCode, 404)
  t.match(page.json(), { code: 'NOT_FOUND', detail: 'the console is not built: run npm run build' })
  t.match((await app.inject('/console/assets/main-X.js')).json(), { code: 'NOT_FOUND' })
})

t.test('the auditor console', async (t) => {
  const built = await buildConsole()
  t.comment(`console page weight: ${built.gzipBytes} bytes gzip (${built.files.join(', ')})`)
  t.ok(built.gzipBytes < 200 * 1024, 'page weight under 200 KB compressed')

  const h = await populated(t)
  const served = await h.call('GET', '/console')
  t.equal(served.status, 200)
  t.equal(served.headers['content-security-policy'], CONSOLE_CSP)
  t.notMatch(served.text, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script')
  t.notMatch(CONSOLE_CSP, /unsafe/, 'no unsafe-inline, no unsafe-eval')
  const script = /src="(\/console\/assets\/main-[A-Z0-9]+\.js)"/.exec(served.text)?.[1]
  t.ok(script, 'the page names its content-hashed script')
  const asset = await h.call('GET', script!)
  t.equal(asset.status, 200)
  t.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(asset.headers['content-security-policy'], CONSOLE_CSP)
  t.equal((await h.call('GET', '/console/assets/main-NOPE.js')).status, 404)

  if (!existsSync(CHROMIUM)) {
    t.comment(`SKIPPED: ${CHROMIUM} is missing (Debian package chromium): the console was not tested in a browser`)
    return
  }

  const auditorKey = (await h.call('GET', '/v1/audit/key', { token: tokenOf(h, 'auditor') })).text.trim()
  await checkpointCovering(h, (await h.call('GET', '/v1/audit/checkpoint', { token: tokenOf(h, 'auditor') })).text)

  mkdirSync(SHOTS, { recursive: true })
  const context = await newBrowserContext(t, { viewport: { width: 1400, height: 1000 } })
  const cspViolations: string[] = []
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })

  const page = await context.newPage()
  const started = Date.now()
  await page.goto(`${h.url}/console`)
  await page.getByLabel('Bearer token').waitFor({ timeout: DEADLINE })
  t.comment(`first view rendered in ${Date.now() - started} ms`)
  await page.screenshot({ path: join(SHOTS, 'console-sign-in.png') })
  await accessible(t, page, 'sign-in view')

  // Signing in by keyboard alone: the token field is the first stop, the button the next.
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate('document.activeElement?.id'), 'token', 'Tab reaches the token field first')
  await page.keyboard.insertText(tokenOf(h, 'auditor'))
  await page.keyboard.press('Tab')
  await page.keyboard.press('Enter')
  await page.getByText('Nothing is verified: pin the verifier key first.').waitFor({ timeout: DEADLINE })

  await page.getByLabel('Verifier key', { exact: true }).fill(auditorKey)
  await page.getByRole('button', { name: 'Pin key' }).click()
  await page.locator('#vkey').waitFor({ timeout: DEADLINE })
  t.equal(await page.locator('#vkey').textContent(), auditorKey, 'the pinned key is shown as its C2SP vkey')
  t.match(await page.locator('#fingerprint').textContent(), /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/)
  await page.locator('#checkpoint.ok').waitFor({ timeout: DEADLINE })
  t.match(await page.locator('#checkpoint').textContent(), /signature verified with the pinned key; the first/)

  // Filtered: reads at the district court only; every row is that court's and proven in the signed log.
  await page.getByLabel('Court code').fill('黑0103')
  await page.getByLabel('Action').fill('document.read')
  await page.getByRole('button', { name: 'Search' }).click()
  const rows = page.locator('#entries tbody tr')
  await eventually(async () =>
    (await rows.count()) > 0 && (await courts(page)).every((c) => c === '黑0103') ? true : undefined,
  )
  const expected = h.all.filter((i) => i.entry.resource?.court === '黑0103' && i.entry.action === 'document.read')
  t.same(
    await indexes(page),
    expected.map((i) => i.index),
    'exactly the entries the API holds for this filter',
  )
  await allVerified(page)
  await page.screenshot({ path: join(SHOTS, 'console-log.png'), fullPage: true })
  await accessible(t, page, 'log view')

  // One entry in detail: its intent paired with its outcome, its leaf bytes, its inclusion.
  const outcome = expected.find((i) => i.entry.phase === 'outcome')!
  await page.getByRole('button', { name: `Open entry ${outcome.index}` }).click()
  await page.locator('#inclusion.ok').waitFor({ timeout: DEADLINE })
  t.match(await page.locator('#inclusion').textContent(), /Included in the checkpoint at size \d+/)
  await page.getByText(`Entry ${outcome.entry.intent}`, { exact: true }).waitFor({ timeout: DEADLINE })
  t.match(await page.locator('#leaf').textContent(), /"phase":"outcome"/)
  const download = page.waitForEvent('download', { timeout: DEADLINE })
  await page.getByRole('button', { name: 'Download receipt' }).click()
  t.equal((await download).suggestedFilename(), `receipt-${outcome.index}.txt`)
  await page.screenshot({ path: join(SHOTS, 'console-entry.png'), fullPage: true })
  await accessible(t, page, 'entry view')

  // Paging with cursors: an unfiltered log of more than 25 entries has a second page.
  await page.getByRole('button', { name: 'Clear' }).click()
  await page.getByRole('button', { name: 'Search' }).click()
  await eventually(async () => ((await indexes(page))[0] === 0 ? true : undefined))
  const first = await indexes(page)
  t.equal(first.length, 25)
  await page.getByRole('button', { name: 'Next page' }).click()
  await eventually(async () => ((await indexes(page))[0] === 25 ? true : undefined))
  await page.getByRole('button', { name: 'Previous page' }).click()
  await eventually(async () => ((await indexes(page))[0] === 0 ? true : undefined))

  // Patterns of the whole log (unfiltered): counts per court and the denials by reason.
  await page.getByRole('button', { name: 'Patterns of this filter' }).click()
  await page.locator('#patterns').waitFor({ timeout: DEADLINE })
  const byCourt = await page.locator('#reads-by-court tbody th').allTextContents()
  t.same(byCourt.sort(), ['黑01', '黑0103'], 'reads by court')
  t.match(await page.locator('#denials').textContent(), /SUB_VOLUME_NOT_APPROVED: 2/)
  // The thresholds are the gateway's configuration: its dailyQuota of 3 flags the prosecutor's two reads,
  // which the default (the enforced quota of 100 000) does not.
  const configured = await h.call('GET', '/v1/audit/patterns', { token: tokenOf(h, 'auditor') })
  t.same(
    configured.json,
    { ...DEFAULT_THRESHOLDS, dailyQuota: 3, quotaWarningFraction: 0.5 },
    'served from the configuration',
  )
  const nearQuota = await page.locator('#flags li', { hasText: 'near-quota' }).allTextContents()
  t.same(nearQuota.length, 1, 'one person is close to the configured quota')
  t.match(nearQuota[0], /^near-quota 230100\/zhang\.wei: 2 of 3 daily documents on /)
  t.equal(
    findPatterns(h.all, { ...h.config.console.patterns, dailyQuota: 100_000 }).flags.filter(
      (f) => f.rule === 'near-quota',
    ).length,
    0,
    'no flag with the enforced quota',
  )
  await page.locator('#patterns').screenshot({ path: join(SHOTS, 'console-patterns.png') })
  await accessible(t, page, 'patterns view')

  // The current filter as NDJSON with receipts: one line per entry, its index, the entry (whose canonical JSON
  // is its leaf) and its receipt, which `court-file-gateway verify --bundle` checks offline.
  await page.getByLabel('Court code').fill('黑0103')
  await page.getByLabel('Action').fill('document.read')
  await page.getByRole('button', { name: 'Search' }).click()
  await eventually(async () => ((await courts(page)).every((c) => c === '黑0103') ? true : undefined))
  const exported = page.waitForEvent('download', { timeout: DEADLINE })
  await page.getByRole('button', { name: 'Export this filter with receipts (NDJSON)' }).click()
  const scratch = t.testdir()
  const bundle = join(scratch, 'export.ndjson')
  await (await exported).saveAs(bundle)
  const lines = readFileSync(bundle, 'utf8').split('\n')
  t.equal(lines.pop(), '', 'every line ends with a newline')
  const parsed = lines.map((line) => JSON.parse(line) as { entry: unknown; index: number; receipt: string })
  t.same(
    parsed.map(({ entry, index }) => ({ entry, index })),
    expected.map((i) => ({ entry: i.entry, index: i.index })),
  )
  t.ok(
    parsed.every((line) => line.receipt.startsWith(`c2sp.org/tlog-proof@v1\n`)),
    'every line has its receipt',
  )
  const keyFile = join(scratch, 'key.txt')
  writeFileSync(keyFile, `${auditorKey}\n`)
  const verified = await cliInProcess(['verify', '--key', keyFile, '--bundle', bundle])
  t.equal(verified.code, 0, verified.stderr)
  t.match(
    verified.stdout,
    new RegExp(`^OK: ${expected.length} entries verified by their receipts against the checkpoint of `),
  )
  // An entry changed after export no longer verifies, and the CLI names it.
  const altered = structuredClone(parsed)
  const victim = altered[1]!
  ;(victim.entry as { actor: { sub: string } }).actor.sub = 'someone-else'
  const alteredFile = join(scratch, 'altered.ndjson')
  writeFileSync(alteredFile, altered.map((line) => `${JSON.stringify(line)}\n`).join(''))
  const refused = await cliInProcess(['verify', '--key', keyFile, '--bundle', alteredFile])
  t.equal(refused.code, 1)
  t.match(refused.stderr, new RegExp(`^FAILED: entry ${victim.index} does not verify against the receipt`))

  // The printable summary of the same filter: printed alone (@media print), with what was and was not verified.
  await allVerified(page)
  // The print dialog cannot be driven headless: the page's window.print is counted instead (evaluated by the
  // driver, outside the page's Content-Security-Policy).
  await page.evaluate(
    'window.print = () => { document.body.dataset.printed = String(Number(document.body.dataset.printed ?? 0) + 1) }',
  )
  await page.getByRole('button', { name: 'Print summary' }).click()
  await page.locator('#summary').waitFor({ timeout: DEADLINE })
  await eventually(async () => ((await page.locator('body').getAttribute('data-printed')) === '1' ? true : undefined))
  t.same(await page.locator('#summary-filter dd').allTextContents(), ['黑0103', 'document.read'], 'the filter')
  t.match(await page.locator('#summary-checkpoint').getAttribute('class'), /\bok\b/)
  t.match(
    await page.locator('#summary-checkpoint').textContent(),
    /^Checkpoint of test\.gateway\/log at size \d+: signature verified with the pinned key/,
  )
  t.equal(
    await page.locator('#summary-proofs').textContent(),
    `Inclusion proofs of the ${expected.length} entries on screen: ${expected.length} verified, 0 failed.`,
  )
  t.match(await page.locator('#summary-entries').textContent(), new RegExp(`^${expected.length} entries; `))
  const flags = findPatterns(expected, h.config.console.patterns).flags
  t.equal(await page.locator('#summary-flags li').count(), flags.length, 'the flags of the filter')
  await page.emulateMedia({ media: 'print' })
  t.ok(await page.locator('#summary').isVisible(), 'the summary is printed')
  t.notOk(await page.locator('#entries').isVisible(), 'the table is not')
  t.ok(await page.locator('h1').isVisible(), 'under the page title')
  await accessible(t, page, 'print view')
  const pdf = join(SHOTS, 'console-summary.pdf')
  await page.pdf({ path: pdf, format: 'A4' })
  t.equal(readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-', 'the browser prints it as a PDF')
  await page.emulateMedia({ media: 'screen' })

  await t.test('a doctored inclusion proof is reported as a failure', async (t) => {
    const tampered = await context.newPage()
    await tampered.route('**/v1/audit/proofs/inclusion**', async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as { proof: string[] }
      body.proof[0] = flipFirstChar(body.proof[0]!)
      await route.fulfill({ response, json: body })
    })
    await signIn(tampered, h.url, tokenOf(h, 'auditor'))
    await tampered.locator('#proof-failures').waitFor({ timeout: DEADLINE })
    t.match(await tampered.locator('#proof-failures').textContent(), /NOT verify against the signed log/)
    t.ok((await tampered.locator('td.proof.bad').count()) > 0, 'the rows say FAILED')
    await tampered.screenshot({ path: join(SHOTS, 'console-tampered-proof.png') })
    await tampered.close()
  })

  await t.test('a doctored checkpoint is reported as a failure', async (t) => {
    const tampered = await context.newPage()
    await tampered.route('**/v1/audit/checkpoint', async (route) => {
      const response = await route.fetch()
      const [origin, size, ...rest] = (await response.text()).split('\n')
      await route.fulfill({ response, body: [origin, String(Number(size) + 1), ...rest].join('\n') })
    })
    await signIn(tampered, h.url, tokenOf(h, 'auditor'))
    await tampered.locator('#checkpoint.bad').waitFor({ timeout: DEADLINE })
    t.match(
      await tampered.locator('#checkpoint').textContent(),
      /Checkpoint NOT verified: the signature by .* does not verify/,
    )
    t.equal(await tampered.locator('td.proof.ok').count(), 0, 'no entry is called verified')
    await tampered.close()
  })

  await t.test('a checkpoint that does not extend the one this browser saw is reported', async (t) => {
    const before = await h.call('GET', '/v1/audit/checkpoint', { token: tokenOf(h, 'auditor') })
    await checkpointCovering(h, before.text, 1)
    const tampered = await context.newPage()
    await tampered.route('**/v1/audit/proofs/consistency**', async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as { proof: string[] }
      body.proof[0] = flipFirstChar(body.proof[0]!)
      await route.fulfill({ response, json: body })
    })
    await signIn(tampered, h.url, tokenOf(h, 'auditor'))
    await tampered.locator('#checkpoint.bad').waitFor({ timeout: DEADLINE })
    t.match(
      await tampered.locator('#checkpoint').textContent(),
      /NOT consistent with the one this browser saw at size \d+/,
    )
    await tampered.screenshot({ path: join(SHOTS, 'console-tampered-checkpoint.png') })
    await tampered.close()
    // Honest answers again: the new checkpoint is proven consistent with the remembered one.
    const honest = await context.newPage()
    await signIn(honest, h.url, tokenOf(h, 'auditor'))
    await honest.locator('#checkpoint.ok').waitFor({ timeout: DEADLINE })
    t.match(
      await honest.locator('#checkpoint').textContent(),
      /consistent with the checkpoint this browser saw at size \d+/,
    )
    await honest.close()
  })

  await t.test('a court auditor sees only its own court, as the API decides', async (t) => {
    // Another browser profile: no key pinned, no checkpoint remembered.
    const other = await newBrowserContext(t)
    const court = await other.newPage()
    await signIn(court, h.url, tokenOf(h, 'courtAuditor'))
    await court.getByLabel('Per page').selectOption('500')
    await court.getByRole('button', { name: 'Search' }).click()
    await eventually(async () => ((await court.locator('#entries tbody tr').count()) > 0 ? true : undefined))
    const seen = await courts(court)
    t.ok(seen.length > 0)
    t.same([...new Set(seen)], ['黑01'], 'every row is about 黑01')
    t.ok(
      h.all.some((i) => i.entry.resource?.court === '黑0103'),
      'the log does hold entries of 黑0103',
    )
    await court.getByLabel('Court code').fill('黑0103')
    await court.getByRole('button', { name: 'Search' }).click()
    await court.getByText(/403 FORBIDDEN: An auditor of court 黑01 sees only entries about that court/).waitFor({
      timeout: DEADLINE,
    })
    await court.screenshot({ path: join(SHOTS, 'console-court-auditor.png') })
  })

  t.same(cspViolations, [], 'the page never broke its Content-Security-Policy')
})

/** A new tab has no token (it is kept per tab); the pinned key and the last checkpoint are this browser's. */
async function signIn(page: Page, url: string, token: string) {
  await page.goto(`${url}/console`)
  await page.getByLabel('Bearer token').fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

const courts = (page: Page) => page.locator('#entries tbody td.court').allTextContents()
const indexes = async (page: Page) =>
  (await page.locator('#entries tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-index')))).map(
    Number,
  )

async function allVerified(page: Page) {
  await eventually(async () => {
    const cells = await page.locator('#entries tbody td.proof').allTextContents()
    return cells.length > 0 && cells.every((c) => c === '✔ verified') ? true : undefined
  })
}

function flipFirstChar(b64: string): string {
  return (b64[0] === 'A' ? 'B' : 'A') + b64.slice(1)
}

/** Until the signed checkpoint is larger than the one given (`by` entries or more) and covers the log. */
async function checkpointCovering(h: Harness, previous: string, by = 0) {
  const size = (text: string) => Number(text.split('\n')[1])
  await eventually(async () => {
    const now = await h.call('GET', '/v1/audit/checkpoint', { token: tokenOf(h, 'auditor') })
    return size(now.text) >= size(previous) + by && size(now.text) >= h.gateway.log.size() - 1 ? true : undefined
  })
}

type Tap = { testdir(): string; teardown(fn: () => unknown): void }

/** Two courts' adapters and reads at both (allowed and denied), so the log holds both courts. */
async function populated(t: Tap) {
  const h = await startGateway(t, {
    limits: { requestsPerMinute: 100_000, documentsPerDay: 100_000 },
    // Tighter than the quota the gateway enforces: the prosecutor's two reads are close to it (a flag).
    console: { patterns: { dailyQuota: 3, quotaWarningFraction: 0.5 } },
  })
  await registerAdapter(h, (await startAdapter(t, h.url)).url)
  await registerAdapter(h, (await startAdapter(t, h.url)).url, {
    court: '黑0103',
    admin: 'courtAdmin0103',
    probeCase: CASE_0103,
  })
  const reads: Array<{ person: Person; court: string; caseNo: string; docs: string[]; denied: string }> = [
    {
      person: 'prosecutor',
      court: '黑01',
      caseNo: CASE_01,
      docs: ['main-01-appeal', 'main-02-answer'],
      denied: 'sub-02-deliberation',
    },
    {
      person: 'otherProsecutor',
      court: '黑0103',
      caseNo: CASE_0103,
      docs: ['main-01-complaint'],
      denied: 'sub-01-report',
    },
  ]
  for (const read of reads) {
    const token = tokenOf(h, read.person)
    const created = await h.call('POST', '/v1/grants', {
      token,
      body: { court: read.court, caseNo: read.caseNo, supervisionCase: 'S-2024-1', volumes: ['main'], reason: '监督' },
    })
    if (created.status !== 201) throw new Error(`grant: ${created.status} ${created.text}`)
    for (const doc of read.docs) {
      const response = await h.call('GET', `/v1/grants/${created.json.id}/documents/${doc}`, { token })
      if (response.status !== 200) throw new Error(`read: ${response.status} ${response.text}`)
    }
    const denied = await h.call('GET', `/v1/grants/${created.json.id}/documents/${read.denied}`, { token })
    if (denied.status !== 403) throw new Error(`expected a denial, got ${denied.status}`)
  }
  // Enough queries for a second page of 25, and every read's outcome logged.
  const all = await eventually(async () => {
    const response = await h.call('GET', '/v1/audit/entries?limit=1000', { token: tokenOf(h, 'auditor') })
    const items = response.json.items as Array<{ index: number; entry: any }>
    const closed = new Set(items.map((i) => i.entry.intent))
    const open = items.filter(
      (i) => i.entry.action === 'document.read' && i.entry.phase === 'intent' && !closed.has(i.index),
    )
    return items.length > 30 && open.length === 0 ? items : undefined
  })
  return Object.assign(h, { all })
}
