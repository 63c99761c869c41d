/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the share of
 * samples in which the process was idle.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
const [file, topText] = process.argv.slice(2)
if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)!
  const delta = profile.timeDeltas[i] ?? 0
  total += delta
  const { functionName, url, lineNumber } = node.callFrame
  const where =
    url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`
  const key = `${functionName || '(anonymous)'}${where}`
  self.set(key, (self.get(key) ?? 0) + delta)
}
const idle = self.get('(idle)') ?? 0
console.log(`${(total / 1e6).toFixed(1)} s sampled, ${((100 * (total - idle)) / total).toFixed(1)} % busy\n`)
console.log('| self % of busy | self ms | function |')
console.log('| --: | --: | --- |')
const rows = [...self.entries()].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1])
for (const [key, micros] of rows.slice(0, Number(topText ?? 25))) {
  console.log(`| ${((100 * micros) / (total - idle)).toFixed(1)} | ${(micros / 1000).toFixed(0)} | \`${key}\` |`)
}
