/**
 * What the access-log benchmarks (bench/log.ts on SQLite, bench/pg-log.ts on PostgreSQL) share: timing
 * inclusion proofs the way an auditor asks for them, and printing the figures.
 */
import crypto from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { TransparencyLog } from '../src/accesslog/access-log.js'
import { leafHash } from '../src/accesslog/merkle/hash.js'
import { verifyInclusion } from '../src/accesslog/merkle/tree.js'

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/**
 * `count` inclusion proofs at random indexes of a tree of `size` leaves, in ms, sorted; after a warm-up of
 * 200 whose proofs are checked against `root`, so that what is timed is known to be right.
 */
export async function timeProofs(
  log: TransparencyLog,
  readLeaf: (index: number) => Promise<Buffer | undefined>,
  size: number,
  root: Buffer,
  count: number,
  beforeTiming: () => void = () => {},
): Promise<number[]> {
  for (let k = 0; k < 200; k++) {
    const index = crypto.randomInt(size)
    const proof = await log.inclusionProof(index, size)
    if (!verifyInclusion(leafHash((await readLeaf(index))!), index, size, proof, root))
      throw new Error(`bad proof for ${index}`)
  }
  beforeTiming()
  const samples: number[] = []
  for (let k = 0; k < count; k++) {
    const index = crypto.randomInt(size)
    const t0 = performance.now()
    await log.inclusionProof(index, size)
    samples.push(performance.now() - t0)
  }
  return samples.sort((a, b) => a - b)
}

export function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`
  console.log(`\n${title}\n`)
  console.log(line(header))
  console.log(`|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`)
  for (const row of rows) console.log(line(row))
}
