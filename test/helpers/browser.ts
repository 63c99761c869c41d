import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import axe from 'axe-core'
import { chromium, type Page } from 'playwright-core'
import type { Test } from 'tap'

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

/**
 * Chromium with a profile folder of its own, removed only once the browser has closed: a t.testdir() is removed
 * by tap while Chromium may still be writing into it (ENOTEMPTY, and a browser left running).
 */
export async function launchBrowser(t: Test, options: Parameters<typeof chromium.launchPersistentContext>[1]) {
  const profile = mkdtempSync(join(tmpdir(), 'console-profile-'))
  const context = await chromium.launchPersistentContext(profile, options)
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}

/** axe-core's WCAG A/AA rules (labels, names, contrast, structure); evaluated by the driver, not by the page. */
export async function accessible(t: Test, page: Page, what: string) {
  await page.evaluate(axe.source)
  const result = (await page.evaluate(
    "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] } })",
  )) as axe.AxeResults
  const problems = result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  t.same(problems, [], `${what}: no accessibility violations`)
}
