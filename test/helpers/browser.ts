import axe from 'axe-core'
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core'
import tap, { type Test } from 'tap'

/** Debian's Chromium (package chromium); CHROMIUM names another build. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'

/** Every wait in the browser has this deadline; the machine is shared and slow, so it is generous. */
export const DEADLINE = 30_000

/** Headless Chromium without the background traffic that would reach past this machine. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

let browser: Promise<Browser> | undefined

/**
 * A browser profile of its own (a context: its own storage, cookies and downloads, closed at the end of `t`), in
 * the one Chromium a test file launches when first asked and closes when the file ends: a launch costs about a
 * second of CPU, a context a fraction of that. Playwright keeps each context's profile in memory and the browser's
 * own folder under the system's temporary folder, which it removes once the browser has closed.
 */
export async function newBrowserContext(t: Test, options: BrowserContextOptions = {}) {
  if (!browser) {
    browser = chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    tap.teardown(async () => (await browser!).close())
  }
  const context = await (await browser).newContext(options)
  t.teardown(() => context.close())
  return context
}

/** axe-core's WCAG A/AA rules (labels, names, contrast, structure); evaluated by the driver, not by the page. */
export async function accessible(t: Test, page: Page, what: string) {
  // Loaded once per page: the console changes views without loading another page, and axe-core is half a megabyte.
  if (!(await page.evaluate("typeof axe === 'object'"))) await page.evaluate(axe.source)
  const result = (await page.evaluate(
    "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] } })",
  )) as axe.AxeResults
  const problems = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  t.same(problems, [], `${what}: no accessibility violations`)
}
