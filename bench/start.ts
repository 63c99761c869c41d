/**
 * Start to ready, the production way: `node dist/src/cli.js serve --config FILE` (no TypeScript loader), timed
 * from the spawn to the first 200 of `/readyz`. Each round starts once on a fresh data folder (no database, no
 * keys: the gateway creates both) and once more on the folder the first start left behind (an existing
 * database, keys to load, a log to check against its checkpoint).
 *
 *   node --import tsx bench/start.ts [--runs N] [--root TREE] [--profile DIR]
 *
 * TREE (default: this one) must have been built (`npm run build`). bench/run.ts imports `measureStart` for its
 * start figure. With --profile, each start writes a V8 CPU profile (bench/profile-summary.ts reads them).
 */
import { spawn } from 'node:child_process'
import { get } from 'node:http'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const HERE = dirname(fileURLToPath(import.meta.url))

export interface StartTimes {
  /** Spawn → first 200 of /readyz, ms, one per round. */
  fresh: number[]
  existing: number[]
  /** CPU time of the gateway process (all its threads) until it was ready, ms: less moved by a busy machine. */
  freshCpu: number[]
  existingCpu: number[]
}

/** utime + stime of a process from /proc, in ms (Linux's USER_HZ is 100). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** One start: resolves with spawn → ready in ms, after the process has been stopped again. */
async function startOnce(
  root: string,
  dir: string,
  profileDir: string | undefined,
): Promise<{ ms: number; cpuMs: number }> {
  const flags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const spawnedAt = performance.now()
  const child = spawn(
    process.execPath,
    [...flags, join(root, 'dist/src/cli.js'), 'serve', '--config', join(dir, 'config.json')],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } },
  )
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()))
  try {
    const listen = await new Promise<string>((resolveListen, reject) => {
      const timer = setTimeout(() => reject(new Error('the gateway did not start within 60 s')), 60_000)
      let buffered = ''
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8')
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
          const line = buffered.slice(0, end)
          buffered = buffered.slice(end + 1)
          try {
            const parsed = JSON.parse(line) as { msg?: string; listen?: string }
            if (parsed.msg === 'court-file-gateway started' && parsed.listen) {
              clearTimeout(timer)
              resolveListen(parsed.listen)
            }
          } catch {
            // not a log line
          }
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the gateway exited (${code}) before it listened`))
      })
    })
    const deadline = performance.now() + 60_000
    for (;;) {
      const status = await statusOf(`${listen}/readyz`)
      if (status === 200) return { ms: performance.now() - spawnedAt, cpuMs: cpuMsOf(child.pid!) }
      if (performance.now() > deadline) throw new Error(`/readyz still ${status} after 60 s`)
      await new Promise((r) => setTimeout(r, 5))
    }
  } finally {
    child.kill('SIGTERM')
    const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 30_000, false))])
    if (!stopped) child.kill('SIGKILL')
  }
}

/**
 * The status of a GET, by node:http (already loaded): `fetch` loads its client at the first call, which on a
 * busy machine took longer than some of the starts measured here.
 */
function statusOf(url: string): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const request = get(url, (response) => {
      response.resume()
      response.once('end', () => resolveStatus(response.statusCode ?? 0))
    })
    request.setTimeout(10_000, () => request.destroy(new Error(`GET ${url}: no answer in 10 s`)))
    request.once('error', reject)
  })
}

function writeConfig(root: string, dir: string): void {
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
    identity: { audience: 'court-file-gateway', issuers: [] },
    directory: join(root, 'config', 'directory', 'heilongjiang.json'),
    accessLog: { origin: 'bench.gateway/log', signingKeyFile: join(dir, 'log.pem') },
    adapters: { allowHttp: true, allowedNetworks: ['127.0.0.0/8'], signingKeyFile: join(dir, 'adapter.pem') },
    limits: { requestsPerMinute: 600, documentsPerDay: 500 },
    dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2))
}

/** `runs` rounds of a start on a fresh folder followed by one on the folder it left. */
export async function measureStart(options: { root: string; runs: number; profileDir?: string }): Promise<StartTimes> {
  const times: StartTimes = { fresh: [], existing: [], freshCpu: [], existingCpu: [] }
  for (let round = 0; round < options.runs; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-start-'))
    try {
      writeConfig(options.root, dir)
      const fresh = await startOnce(options.root, dir, options.profileDir)
      const existing = await startOnce(options.root, dir, options.profileDir)
      times.fresh.push(fresh.ms)
      times.freshCpu.push(fresh.cpuMs)
      times.existing.push(existing.ms)
      times.existingCpu.push(existing.cpuMs)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return times
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      root: { type: 'string' },
      baseline: { type: 'string' },
      profile: { type: 'string' },
    },
  })
  const trees = [
    { label: 'this tree', root: resolve(values.root ?? join(HERE, '..')) },
    ...(values.baseline ? [{ label: 'baseline', root: resolve(values.baseline) }] : []),
  ]
  const runs = Number(values.runs ?? 5)
  if (values.profile) mkdirSync(values.profile, { recursive: true })
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')
  console.log(`start to /readyz, node on dist/, ${runs} rounds; load average ${load()}`)
  const results = trees.map((tree) => ({
    ...tree,
    times: { fresh: [], existing: [], freshCpu: [], existingCpu: [] } as StartTimes,
  }))
  // Rounds alternate between the trees, so that a change in the machine's load falls on both.
  for (let round = 0; round < runs; round++) {
    for (const tree of results) {
      const times = await measureStart({
        root: tree.root,
        runs: 1,
        ...(values.profile ? { profileDir: values.profile } : {}),
      })
      tree.times.fresh.push(...times.fresh)
      tree.times.existing.push(...times.existing)
      tree.times.freshCpu.push(...times.freshCpu)
      tree.times.existingCpu.push(...times.existingCpu)
    }
  }
  const show = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ')
  for (const { label, root, times } of results) {
    console.log(`${label} (${root})`)
    console.log(
      `  fresh data folder:    median ${median(times.fresh).toFixed(0)} ms (${show(times.fresh)}); CPU median ${median(times.freshCpu).toFixed(0)} ms`,
    )
    console.log(
      `  existing data folder: median ${median(times.existing).toFixed(0)} ms (${show(times.existing)}); CPU median ${median(times.existingCpu).toFixed(0)} ms`,
    )
  }
  console.log(`load average at the end ${load()}`)
}
