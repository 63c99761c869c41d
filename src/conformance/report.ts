import { passed, type CheckResult } from './kit.js'

const MARK = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' } as const

/** The report a person reads: one block per check, what was sent and what came back. */
export function textReport(target: string, results: CheckResult[]): string {
  const lines = [`Conformance of ${target} to openapi/adapter.yaml`, '']
  for (const result of results) {
    const optional = result.required ? '' : ' (not required)'
    lines.push(`${MARK[result.outcome]}  ${result.name}${optional}`)
    if (result.detail) lines.push(`      why:      ${result.detail}`)
    lines.push(`      sent:     ${result.sent}`, `      received: ${result.received}`)
  }
  const failed = results.filter((r) => r.required && r.outcome !== 'pass')
  lines.push(
    '',
    passed(results)
      ? `All ${results.filter((r) => r.required).length} required checks passed.`
      : `${failed.length} required check(s) did not pass: ${failed.map((r) => r.name).join(', ')}`,
  )
  return `${lines.join('\n')}\n`
}

export function jsonReport(target: string, results: CheckResult[]): string {
  return `${JSON.stringify({ target, passed: passed(results), checks: results }, null, 2)}\n`
}

const xml = (text: string) =>
  text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    // Characters XML 1.0 cannot carry at all (an adapter's garbage may contain them).
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')

/** JUnit XML as CI servers read it: one test case per check; a failed optional check is reported as skipped. */
export function junitReport(target: string, results: CheckResult[]): string {
  const failures = results.filter((r) => r.required && r.outcome !== 'pass').length
  const skipped = results.filter((r) => !r.required && r.outcome !== 'pass').length
  const cases = results.map((result) => {
    const open = `  <testcase classname="adapter-contract" name="${xml(result.name)}">`
    const out = `    <system-out>${xml(`sent: ${result.sent}\nreceived: ${result.received}`)}</system-out>`
    const why = xml(result.detail ?? result.outcome)
    const verdict =
      result.outcome === 'pass'
        ? ''
        : result.required
          ? `    <failure message="${why}">${why}</failure>\n`
          : `    <skipped message="${why}"/>\n`
    return `${open}\n${verdict}${out}\n  </testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xml(`adapter conformance: ${target}`)}" tests="${results.length}" failures="${failures}" skipped="${skipped}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n')
}
