/**
 * `npm run bench` (issue 10): the read path side by side, in one run, printed as one table.
 *
 *   npm run bench                      # full: 8 s per wrk run, 1 GiB stream, 32 × 64 MiB
 *   npm run bench -- --quick           # under two minutes: 2 s per run, 128 MiB stream, 32 × 16 MiB
 *   npm run bench -- --baseline <rev>  # adds a gateway row for the commit <rev> (before/after in one run);
 *                                      # several, comma-separated, give one row each
 *   npm run bench -- --profile <dir>   # runs this tree's gateway under `node --cpu-prof` into <dir>, the floor
 *                                      # into <dir>/floor
 *   npm run bench -- --only small      # only the 20 KB rows (or `catalogue`) of the wrk table, nothing else
 *   npm run bench -- --only large      # only the large-document figures: one stream, RSS under 32 downloads
 *   npm run bench -- --only rss        # only the RSS under 32 downloads (two rounds, with the gateway's heap)
 *   npm run bench -- --only latency    # only the 20 KB rows and the added latency at half load
 *   npm run bench -- --only latency --rate 1000,2000   # the added latency at these rates instead of half load
 *   npm run bench -- --variant 'inline={"hashInWorkerFromBytes":0}'
 *                                      # adds a row of this tree's gateway with those `adapters` settings
 *   npm run bench -- --node-flags='--max-semi-space-size=32' --variant 'plain={}'
 *                                      # Node flags for the gateway rows of this tree (not its variants)
 *
 * Every path reads the same bytes from one plain upstream (bench/upstream.ts): straight from it, through
 * nginx (one worker, a generated configuration), through a bare Fastify + @fastify/reply-from proxy
 * (bench/bare-proxy.ts), through the floor (bench/floor-proxy.ts: the bare proxy plus only what the log's
 * promise needs: two durable entries, a signed court token, the digest) and through the gateway with
 * everything on (bench/gateway-server.ts). The load generator is wrk (one thread, a Lua script for the
 * Authorization header); nginx and wrk are installed with apt-get when missing.
 * CPU per request is the server process's utime+stime delta from /proc (all its threads; for nginx its worker)
 * over the requests wrk counted. The machine is shared: compare the ratios within one run, not absolute
 * figures across runs, and read the load average printed with each run. Benchmarks print; no test depends
 * on them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Pool, request } from 'undici'
import { measureStart, median, type StartTimes } from './start.js'

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    seconds: { type: 'string' },
    rate: { type: 'string' },
    profile: { type: 'string' },
    only: { type: 'string' },
    variant: { type: 'string', multiple: true },
    'node-flags': { type: 'string' },
  },
})
const QUICK = args.quick === true
const SECONDS = Number(args.seconds ?? (QUICK ? 2 : 8))
/** `--rate`: the open loop's rates (requests/s) instead of half of each gateway's best rate. */
const RATES = args.rate?.split(',').map(Number)
const MiB = 1024 * 1024
const STREAM_BYTES = QUICK ? 128 * MiB : 1024 * MiB
const PARALLEL_BYTES = QUICK ? 16 * MiB : 64 * MiB
const PARALLEL = 32
const CONNECTIONS = [1, 32, 256]
const ROOT = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'cfg-bench-'))
const children: ChildProcess[] = []
const began = performance.now()

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')
const say = (line: string) => process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(0)} s] ${line}\n`)

function ensureTool(binary: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' })
  } catch {
    say(`${binary} is missing: apt-get install ${pkg}`)
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], {
      stdio: 'inherit',
    })
  }
}

/** A JSON line a child printed; each child prints its own fields (see its file). */
// biome-ignore lint/suspicious/noExplicitAny: the children's lines are read field by field, as documented there
type Line = Record<string, any>

/** Spawns a child and resolves with the JSON of its first `lines` stdout lines. */
function start(
  command: string,
  argv: string[],
  lines = 1,
  options: { cwd?: string } = {},
): Promise<{ child: ChildProcess; out: Line[]; spawnedAt: number }> {
  const spawnedAt = performance.now()
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], cwd: options.cwd ?? ROOT })
  children.push(child)
  return new Promise((resolvePromise, reject) => {
    const out: Line[] = []
    let buffer = ''
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start in 120 s`)), 120_000)
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf('\n')
        // Lines that are not JSON (Node's --trace-gc, say, given with --node-flags) go to the bench's stderr.
        if (!line.startsWith('{')) {
          process.stderr.write(`${line}\n`)
          continue
        }
        out.push(JSON.parse(line))
        child.emit('line', out.at(-1))
        if (out.length === lines) {
          clearTimeout(timer)
          resolvePromise({ child, out, spawnedAt })
        }
      }
    })
  })
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolvePromise(port))
    })
  })
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100

/** User + system CPU milliseconds of the processes, all threads. */
function cpuMs(pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    ticks += Number(fields[11]) + Number(fields[12])
  }
  return (ticks * 1000) / CLK_TCK
}

/** User and system CPU milliseconds per thread name (/proc/PID/task/TID/comm), summed over threads of one name. */
function cpuMsByThread(pid: number): Map<string, { user: number; sys: number }> {
  const byName = new Map<string, { user: number; sys: number }>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const sum = byName.get(name) ?? { user: 0, sys: 0 }
      sum.user += (Number(fields[11]) * 1000) / CLK_TCK
      sum.sys += (Number(fields[12]) * 1000) / CLK_TCK
      byName.set(name, sum)
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return byName
}

/** Per thread name, user and system ms spent between two readings of cpuMsByThread, busiest first. */
function threadDelta(before: ReturnType<typeof cpuMsByThread>, after: ReturnType<typeof cpuMsByThread>) {
  return [...after]
    .map(([name, { user, sys }]) => {
      const was = before.get(name) ?? { user: 0, sys: 0 }
      return { name, user: user - was.user, sys: sys - was.sys }
    })
    .filter((thread) => thread.user + thread.sys > 0)
    .sort((a, b) => b.user + b.sys - (a.user + a.sys))
}

/** The whole machine's CPU ticks from /proc/stat: busy (not idle or waiting for I/O), stolen by the host, all. */
function machineTicks(): { busy: number; steal: number; all: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields as number[]
  const all = user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal!
  return { busy: all - idle! - iowait!, steal: steal!, all }
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) * 1024
}

function childPids(parent: number): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent) pids.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

interface Target {
  name: string
  /** Processes whose CPU counts as the server's. */
  pids: number[]
  url: { catalogue: string; small: string }
  token: string
}

interface WrkResult {
  rps: number
  p50: number
  p99: number
  requests: number
  errors: number
  cpuPerRequestMs: number
  /** Share of the machine's CPU time that was busy during the run, and the share the host stole. */
  machineBusy: number
  steal: number
  /** For a server of one process: its threads' user and system CPU per request, µs. */
  threads?: ReturnType<typeof threadDelta>
  load: string
}

const toMs = (text: string): number => {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (!match) return Number.NaN
  const value = Number(match[1])
  return match[2] === 'us' ? value / 1000 : match[2] === 'ms' ? value : match[2] === 's' ? value * 1000 : value * 60_000
}

function wrk(target: Target, url: string, connections: number, seconds: number): WrkResult {
  const lua = join(work, 'auth.lua')
  writeFileSync(lua, `wrk.headers["Authorization"] = "Bearer ${target.token}"\n`)
  const before = cpuMs(target.pids)
  const machineBefore = machineTicks()
  const threadsBefore = target.pids.length === 1 ? cpuMsByThread(target.pids[0]!) : undefined
  const output = execFileSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', '-s', lua, url],
    { encoding: 'utf8' },
  )
  const cpu = cpuMs(target.pids) - before
  const machineAfter = machineTicks()
  const machineAll = machineAfter.all - machineBefore.all
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0)
  const threads = threadsBefore
    ? threadDelta(threadsBefore, cpuMsByThread(target.pids[0]!)).map((t) => ({
        name: t.name,
        user: (t.user * 1000) / requests,
        sys: (t.sys * 1000) / requests,
      }))
    : undefined
  const errors =
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0) +
    [...output.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((sum, m) => sum + Number(m[2]), 0)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    p50: toMs(/ 50%\s+(\S+)/.exec(output)?.[1] ?? ''),
    p99: toMs(/ 99%\s+(\S+)/.exec(output)?.[1] ?? ''),
    requests,
    errors,
    cpuPerRequestMs: requests > 0 ? cpu / requests : Number.NaN,
    machineBusy: (machineAfter.busy - machineBefore.busy) / machineAll,
    steal: (machineAfter.steal - machineBefore.steal) / machineAll,
    ...(threads && requests > 0 ? { threads } : {}),
    load: load(),
  }
}

/**
 * fsync latency of a 4 KiB append in the bench's temporary folder (the disk the gateway's log is on): every
 * read waits for one (the intent's group commit), so on a busy disk this bounds the gateway's latency.
 */
function fsyncLatency(samples = 50): string {
  const file = join(work, 'fsync.probe')
  const fd = openSync(file, 'w')
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    writeSync(fd, Buffer.alloc(4096, i))
    const t0 = performance.now()
    fsyncSync(fd)
    times.push(performance.now() - t0)
  }
  closeSync(fd)
  times.sort((a, b) => a - b)
  return `fsync of 4 KiB p50 ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms`
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/**
 * Open-loop load: requests are sent at fixed times (`rate` per second) whatever the answers do, and each
 * latency counts from the scheduled send time, so queueing shows (no coordinated omission).
 */
async function openLoop(url: string, token: string, rate: number, seconds: number) {
  const target = new URL(url)
  const pool = new Pool(target.origin, { connections: 512 })
  const total = Math.max(1, Math.round(rate * seconds))
  const latencies: number[] = []
  let errors = 0
  const t0 = performance.now() + 20
  let sent = 0
  let done = 0
  await new Promise<void>((resolvePromise) => {
    const fire = (scheduled: number) => {
      pool
        .request({ path: target.pathname, method: 'GET', headers: { authorization: `Bearer ${token}` } })
        .then(async (response) => {
          for await (const _ of response.body) {
            // drain
          }
          if (response.statusCode !== 200) errors++
        })
        .catch(() => errors++)
        .finally(() => {
          latencies.push(performance.now() - scheduled)
          if (++done === total) resolvePromise()
        })
    }
    const tick = () => {
      const now = performance.now()
      while (sent < total && t0 + (sent * 1000) / rate <= now) fire(t0 + (sent++ * 1000) / rate)
      if (sent < total) setTimeout(tick, 1)
    }
    setTimeout(tick, 20)
  })
  await pool.close()
  latencies.sort((a, b) => a - b)
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, load: load() }
}

type Samples = Map<string, number>

/** A Prometheus text page as series → value (`name{labels}` as written). */
async function scrape(url: string | undefined): Promise<Samples | undefined> {
  if (!url) return undefined
  const response = await request(url)
  const samples: Samples = new Map()
  for (const line of (await response.body.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    samples.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return samples
}

/**
 * Where a histogram's 99th percentile falls between two scrapes: the first bucket bound holding 99 % of what
 * was observed in between (`selector` picks the series, e.g. the document route).
 */
function p99Bound(before: Samples, after: Samples, name: string, selector = ''): string {
  const buckets: Array<[number, number]> = []
  for (const [series, value] of after) {
    if (!series.startsWith(`${name}_bucket{`) || !series.includes(selector)) continue
    const le = /le="([^"]+)"/.exec(series)![1]!
    buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), value - (before.get(series) ?? 0)])
  }
  buckets.sort((a, b) => a[0] - b[0])
  const total = buckets.at(-1)?.[1] ?? 0
  const bound = buckets.find(([, count]) => count >= 0.99 * total)?.[0]
  return total === 0 || bound === undefined
    ? 'none'
    : bound === Number.POSITIVE_INFINITY
      ? 'above all buckets'
      : `≤ ${bound * 1000} ms`
}

function ownView(before: Samples | undefined, after: Samples | undefined): string {
  if (!before || !after) return 'no metrics endpoint'
  const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0)
  const majors = delta('nodejs_gc_duration_seconds_count{kind="major"}')
  const majorMs = delta('nodejs_gc_duration_seconds_sum{kind="major"}') * 1000
  return [
    `document requests p99 ${p99Bound(before, after, 'gateway_http_request_duration_seconds', 'documents')}`,
    `log commits p99 ${p99Bound(before, after, 'gateway_access_log_commit_seconds')}`,
    `${majors} full GCs (${majorMs.toFixed(0)} ms)`,
    `event-loop delay max ${((after.get('nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000).toFixed(1)} ms`,
  ].join('; ')
}

/**
 * The scheduler's account of a process (/proc/PID/task/TID/schedstat): time on a CPU and time runnable but
 * waiting for one, for its main thread and summed over all its threads.
 */
function schedule(pid: number) {
  const read = (tid: string) => {
    try {
      const [ran, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
      return { ranMs: ran! / 1e6, waitedMs: waited! / 1e6 }
    } catch {
      return { ranMs: 0, waitedMs: 0 } // a thread that ended between the listing and the read
    }
  }
  const all = { ranMs: 0, waitedMs: 0 }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const thread = read(tid)
    all.ranMs += thread.ranMs
    all.waitedMs += thread.waitedMs
  }
  return { main: read(String(pid)), all }
}

/** One download, timed; returns MiB/s. */
async function download(url: string, token: string): Promise<{ mibPerSecond: number; bytes: number }> {
  const started = performance.now()
  const response = await request(url, { headers: { authorization: `Bearer ${token}` }, bodyTimeout: 120_000 })
  let bytes = 0
  for await (const chunk of response.body) bytes += (chunk as Buffer).length
  if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`)
  return { mibPerSecond: bytes / MiB / ((performance.now() - started) / 1000), bytes }
}

/**
 * Toggles the memory sampling of a bench gateway (SIGUSR2, bench/gateway-server.ts) and resolves with the
 * line it prints: `{ sampling: true }` when it starts, `{ memory: { before, peak } }` when it stops.
 */
function memorySampling(child: ChildProcess): Promise<Line> {
  return new Promise((resolvePromise) => {
    const onLine = (line: Line) => {
      if (!('sampling' in line) && !('memory' in line)) return
      child.off('line', onLine)
      resolvePromise(line)
    }
    child.on('line', onLine)
    child.kill('SIGUSR2')
  })
}

async function stopAll(): Promise<void> {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

ensureTool('wrk', 'wrk')
ensureTool('nginx', 'nginx')

const tsx = ['--import', 'tsx']
const FLOOR = 'floor: bare + 2 log entries, signature, digest'
const node = process.execPath

async function baselineTree(rev: string): Promise<string> {
  const dir = join(work, `tree-${rev.replace(/[^\w.-]/g, '_')}`)
  mkdirSync(dir, { recursive: true })
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${rev}" | tar -x -C "${dir}"`])
  execFileSync('ln', ['-s', join(ROOT, 'node_modules'), join(dir, 'node_modules')])
  return dir
}

/** Builds a tree's dist/ as `npm run build` does (without the console, which no start needs). */
function buildTree(root: string): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(node, [tsc, '-p', 'tsconfig.build.json', '--noCheck'], { cwd: root, stdio: 'inherit' })
  // Trees from before the build step have no dist/scripts/build-artifacts.js.
  const artifacts = join(root, 'dist', 'scripts', 'build-artifacts.js')
  if (existsSync(artifacts)) execFileSync(node, [artifacts], { cwd: root, stdio: 'inherit' })
}

async function startGateway(
  label: string,
  root: string,
  upstreamOrigin: string,
  profileDir?: string,
  adapterSettings?: string,
  nodeFlags: string[] = [],
) {
  const dir = join(work, `gateway-${label}`)
  mkdirSync(dir, { recursive: true })
  const flags = [...nodeFlags, ...(profileDir ? [`--cpu-prof`, `--cpu-prof-dir=${profileDir}`] : [])]
  let readyAt = Number.NaN
  const argv = [
    join(ROOT, 'bench/gateway-server.ts'),
    root,
    dir,
    upstreamOrigin,
    ...(adapterSettings ? [adapterSettings] : []),
  ]
  // No TypeScript loader: Node strips this file's types itself, and the gateway it imports is JavaScript.
  const started = start(node, [...flags, ...argv], 2)
  const spawnedAt = performance.now()
  // Readiness is probed as soon as the server says it listens, before the bench's own set-up requests.
  const probe = new Promise<void>((resolvePromise) => {
    const watch = (child: ChildProcess) =>
      child.once('line', async (line: Line) => {
        const response = await request(`${line.listening}/readyz`)
        await response.body.dump()
        readyAt = performance.now()
        resolvePromise()
      })
    watch(children.at(-1)!)
  })
  const { child, out } = await started
  await probe
  const info = out[1]!
  return {
    label,
    root,
    child,
    info,
    startToReadyMs: readyAt - spawnedAt,
    target: {
      name: label,
      pids: [child.pid!],
      url: { catalogue: `${info.url}${info.catalogue}`, small: `${info.url}${info.small}` },
      token: info.token,
    } satisfies Target,
  }
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown'
  console.log(`# npm run bench${QUICK ? ' --quick' : ''} — ${new Date().toISOString()}`)
  console.log(`machine: ${cpus().length} CPUs, ${cpu}; node ${process.version}; load average at start ${load()}`)
  console.log(`wrk: 1 thread, ${SECONDS} s per run, connections ${CONNECTIONS.join(', ')}`)
  console.log(`disk at start: ${fsyncLatency()}\n`)

  say('starting the upstream')
  const up = await start(node, [...tsx, join(ROOT, 'bench/upstream.ts'), String(STREAM_BYTES), String(PARALLEL_BYTES)])
  const upstreamOrigin = `http://127.0.0.1:${up.out[0]!.port}`
  const casePath = `/v1/cases/${encodeURIComponent(up.out[0]!.caseNo)}`

  say('starting nginx')
  const nginxPort = await freePort()
  const nginxDir = join(work, 'nginx')
  mkdirSync(join(nginxDir, 'tmp'), { recursive: true })
  mkdirSync(join(nginxDir, 'logs'), { recursive: true })
  writeFileSync(
    join(nginxDir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
user root;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/tmp/body;
  proxy_temp_path ${nginxDir}/tmp/proxy;
  fastcgi_temp_path ${nginxDir}/tmp/fastcgi;
  uwsgi_temp_path ${nginxDir}/tmp/uwsgi;
  scgi_temp_path ${nginxDir}/tmp/scgi;
  upstream court { server ${upstreamOrigin.slice('http://'.length)}; keepalive 256; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://court;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  )
  const nginx = spawn('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf')], { stdio: 'inherit' })
  children.push(nginx)
  const nginxOrigin = `http://127.0.0.1:${nginxPort}`
  let nginxWorkers: number[] = []
  for (const deadline = performance.now() + 10_000; performance.now() < deadline; ) {
    nginxWorkers = childPids(nginx.pid!)
    if (nginxWorkers.length > 0) {
      try {
        await (await request(`${nginxOrigin}/v1/health`)).body.dump()
        break
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 50))
  }

  say('starting the bare proxy')
  const bare = await start(node, [...tsx, join(ROOT, 'bench/bare-proxy.ts'), upstreamOrigin])

  say('starting the floor: the bare proxy plus the log entries, the signature and the digest')
  const floorDir = join(work, 'floor')
  mkdirSync(floorDir, { recursive: true })
  buildTree(ROOT)
  // With --profile the floor is profiled too (into <dir>/floor), so the two profiles compare per read.
  const floorFlags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(args.profile, 'floor')}`] : []
  const floor = await start(node, [...floorFlags, join(ROOT, 'bench/floor-proxy.ts'), ROOT, floorDir, upstreamOrigin])

  say('starting the gateway(s)')
  // Every gateway runs its tree's built dist/ (built above), as production does (through tsx, the sources pay
  // for its keep-names wrappers, a few per cent of the main thread).
  const nodeFlags = args['node-flags']?.split(/\s+/).filter(Boolean) ?? []
  const gateways = [await startGateway('gateway', ROOT, upstreamOrigin, args.profile, undefined, nodeFlags)]
  for (const rev of args.baseline?.split(',') ?? []) {
    const tree = await baselineTree(rev)
    buildTree(tree)
    gateways.push(await startGateway(`gateway@${rev}`, tree, upstreamOrigin))
  }
  for (const variant of args.variant ?? []) {
    const at = variant.indexOf('=')
    gateways.push(
      await startGateway(`gateway ${variant.slice(0, at)}`, ROOT, upstreamOrigin, undefined, variant.slice(at + 1)),
    )
  }
  const token = gateways[0]!.info.token as string
  const plain = (name: string, origin: string, pids: number[]): Target => ({
    name,
    pids,
    url: { catalogue: `${origin}${casePath}/volumes`, small: `${origin}${casePath}/documents/bench-20k` },
    token,
  })
  const targets: Target[] = [
    plain('direct (upstream)', upstreamOrigin, [up.child.pid!]),
    plain('nginx proxy_pass, 1 worker', nginxOrigin, nginxWorkers),
    plain('bare Fastify + @fastify/reply-from', bare.out[0]!.url, [bare.child.pid!]),
    plain(FLOOR, floor.out[0]!.url, [floor.child.pid!]),
    ...gateways.map((g) => g.target),
  ]

  // `rss`: only the RSS rounds; `large`: the one stream and the RSS rounds.
  const large = args.only === 'large' || args.only === 'rss'
  say('warming up')
  for (const target of large ? [] : targets) {
    wrk(target, target.url.catalogue, 32, 1)
    wrk(target, target.url.small, 32, 1)
  }

  const results = new Map<string, WrkResult>()
  const kinds = (
    [
      ['catalogue', 'catalogue (GET …/volumes)'],
      ['small', '20 KB document'],
    ] as const
  ).filter(([kind]) => args.only === undefined || args.only === kind || (args.only === 'latency' && kind === 'small'))
  for (const [kind] of kinds) {
    for (const connections of CONNECTIONS) {
      for (const target of targets) {
        const result = wrk(target, target.url[kind], connections, SECONDS)
        results.set(`${kind}|${connections}|${target.name}`, result)
        say(
          `${kind} c=${connections} ${target.name}: ${result.rps.toFixed(0)}/s p99 ${result.p99.toFixed(2)} ms (load ${result.load})`,
        )
      }
    }
  }

  const fmt = (n: number, digits = 0) =>
    Number.isFinite(n)
      ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
      : '—'
  if (!large) printWrk()
  function printWrk() {
    console.log(
      '| what | conns | path | req/s | p50 ms | p99 ms | CPU ms/req | machine busy % (stolen) | errors | load avg |',
    )
    console.log('| --- | --: | --- | --: | --: | --: | --: | --: | --: | --- |')
    for (const [kind, title] of kinds) {
      for (const connections of CONNECTIONS) {
        for (const target of targets) {
          const r = results.get(`${kind}|${connections}|${target.name}`)!
          console.log(
            `| ${title} | ${connections} | ${target.name} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuPerRequestMs, 3)} | ${fmt(r.machineBusy * 100)} (${fmt(r.steal * 100)}) | ${r.errors} | ${r.load} |`,
          )
        }
      }
    }
    // Where each read's CPU goes, for the floor and the gateways (one process each) at 32 connections.
    console.log('\nCPU µs per read by thread at 32 connections, user + system (/proc/PID/task/*):\n')
    for (const [kind, title] of kinds) {
      for (const target of targets.filter((t) => t.pids.length === 1 && t.name !== targets[0]!.name)) {
        const threads = results.get(`${kind}|32|${target.name}`)?.threads ?? []
        const cells = threads.map((t) => `${t.name} ${fmt(t.user)} + ${fmt(t.sys)}`).join(', ')
        console.log(`- ${title}, ${target.name}: ${cells}`)
      }
    }
    console.log('\nRatios of requests/s in the same run:\n')
    const columns = gateways.map((g) => `${g.label} ÷ nginx | ${g.label} ÷ bare | ${g.label} ÷ floor`)
    console.log(`| what | conns | ${columns.join(' | ')} |`)
    console.log(`| --- | --: | ${gateways.map(() => '--: | --: | --:').join(' | ')} |`)
    for (const [kind, title] of kinds) {
      for (const connections of CONNECTIONS) {
        const of = (name: string) => results.get(`${kind}|${connections}|${name}`)!.rps
        const cells = gateways.map(
          (g) =>
            `${fmt(of(g.label) / of('nginx proxy_pass, 1 worker'), 3)} | ${fmt(of(g.label) / of('bare Fastify + @fastify/reply-from'), 3)} | ${fmt(of(g.label) / of(FLOOR), 3)}`,
        )
        console.log(`| ${title} | ${connections} | ${cells.join(' | ')} |`)
      }
    }
  }

  // Added latency at half of each gateway's own maximum 20 KB rate, with the same rate straight from the
  // upstream as the reference.
  const ownViews: string[] = []
  const threadViews: string[] = []
  if (!large) await addedLatency()
  async function addedLatency() {
    console.log(`\nAdded latency, 20 KB documents, fixed-rate arrivals (open loop), ${SECONDS * 2} s each:\n`)
    console.log('| path | rate /s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors | load avg |')
    console.log('| --- | --: | --: | --: | --: | --: | --: | --: |')
    // --only is for profiling one kind of request: the rest of the bench would dilute the profile.
    if (args.only !== undefined && args.only !== 'latency') return
    for (const g of gateways) {
      const max = Math.max(...CONNECTIONS.map((c) => results.get(`small|${c}|${g.label}`)!.rps))
      for (const rate of RATES ?? [Math.max(1, Math.round(max / 2))]) await openLoopRow(g, rate)
    }
  }
  // The floor at the same rate: what the log's promise alone adds to the tail (see bench/floor-proxy.ts).
  async function openLoopRow(g: (typeof gateways)[number], rate: number) {
    say(`open loop at ${rate}/s`)
    const direct = await openLoop(targets[0]!.url.small, token, rate, SECONDS * 2)
    console.log(
      `| direct (upstream) | ${rate} | ${fmt(direct.p50, 2)} | ${fmt(direct.p99, 2)} | | | ${direct.errors} | ${direct.load} |`,
    )
    for (const target of [targets.find((t) => t.name === FLOOR)!, g.target]) {
      // The gateway's own view of its run: its metrics and the scheduler's account, before and after.
      const own = target === g.target
      const before = own ? await scrape(g.info.metrics) : undefined
      const scheduledBefore = own ? schedule(g.child.pid!) : undefined
      const threadsBefore = cpuMsByThread(target.pids[0]!)
      const through = await openLoop(target.url.small, target.token, rate, SECONDS * 2)
      const reads = rate * SECONDS * 2
      const threads = threadDelta(threadsBefore, cpuMsByThread(target.pids[0]!))
      threadViews.push(
        `${target.name} at ${rate}/s: ${fmt(threads.reduce((sum, t) => sum + t.user + t.sys, 0) * (1000 / reads))} µs in all; ${threads.map((t) => `${t.name} ${fmt((t.user * 1000) / reads)} + ${fmt((t.sys * 1000) / reads)}`).join(', ')}`,
      )
      console.log(
        `| ${target.name} | ${rate} | ${fmt(through.p50, 2)} | ${fmt(through.p99, 2)} | ${fmt(through.p50 - direct.p50, 2)} | ${fmt(through.p99 - direct.p99, 2)} | ${through.errors} | ${through.load} |`,
      )
      if (before && scheduledBefore) {
        const scheduled = schedule(g.child.pid!)
        const waited = (key: 'main' | 'all') =>
          `${fmt(scheduled[key].ranMs - scheduledBefore[key].ranMs)} ms on a CPU, ${fmt(scheduled[key].waitedMs - scheduledBefore[key].waitedMs)} ms waiting for one`
        ownViews.push(
          `${g.label} at ${rate}/s: ${ownView(before, await scrape(g.info.metrics))}; main thread ${waited('main')}; all its threads ${waited('all')}`,
        )
      }
    }
  }
  if (ownViews.length > 0) {
    console.log("\nThe gateway's own view of each open loop (its /metrics, before and after):\n")
    for (const line of ownViews) console.log(`- ${line}`)
    console.log('\nCPU µs per read by thread in each open loop, user + system (/proc/PID/task/*):\n')
    for (const line of threadViews) console.log(`- ${line}`)
  }
  if (args.only !== undefined && !large) return

  if (args.only !== 'rss') await streaming()
  async function streaming() {
    const size = STREAM_BYTES >= 1024 * MiB ? `${STREAM_BYTES / 1024 / MiB} GiB` : `${STREAM_BYTES / MiB} MiB`
    console.log(`\nOne ${size} document, one download at a time${QUICK ? ' (quick mode: not 1 GiB)' : ''}:\n`)
    // The rate moves with the machine's load; the CPU seconds per GiB (all threads, and the main thread alone,
    // from /proc) are what the load disturbs least. Two rounds, paths interleaved, each against the direct
    // download just before it.
    console.log('| round | path | MiB/s | ÷ direct | CPU s/GiB | main thread CPU s/GiB | load avg |')
    console.log('| --: | --- | --: | --: | --: | --: | --- |')
    say('streaming')
    const perGiB = (ms: number, bytes: number) => fmt(ms / 1000 / (bytes / 1024 / MiB), 2)
    const threadLines: string[] = []
    for (const round of [1, 2]) {
      for (const g of gateways) {
        const streamed = await download(`${upstreamOrigin}${casePath}/documents/bench-stream`, token)
        console.log(`| ${round} | direct (upstream) | ${fmt(streamed.mibPerSecond)} | 1 | | | ${load()} |`)
        const pid = g.child.pid!
        const [cpu0, threads0] = [cpuMs([pid]), cpuMsByThread(pid)]
        const through = await download(`${g.info.url}${g.info.stream}`, g.info.token)
        // The process's total also counts threads that ended meanwhile; Node names its main thread MainThread.
        const cpu = cpuMs([pid]) - cpu0
        const byThread = threadDelta(threads0, cpuMsByThread(pid))
        const mainThread = byThread.find((t) => t.name === 'MainThread')
        const main = mainThread ? mainThread.user + mainThread.sys : Number.NaN
        threadLines.push(
          `${g.label}, round ${round}: ${byThread.map((t) => `${t.name} ${perGiB(t.user + t.sys, through.bytes)}`).join(', ')}`,
        )
        console.log(
          `| ${round} | ${g.label} | ${fmt(through.mibPerSecond)} | ${fmt(through.mibPerSecond / streamed.mibPerSecond, 3)} | ${perGiB(cpu, through.bytes)} | ${perGiB(main, through.bytes)} | ${load()} |`,
        )
      }
    }
    console.log('\nCPU s/GiB by thread (/proc/PID/task/*/comm; V8 names its GC helpers, libuv its pool):\n')
    for (const line of threadLines) console.log(`- ${line}`)
  }

  console.log(
    `\nRSS of the gateway process under ${PARALLEL} concurrent ${PARALLEL_BYTES / MiB} MiB downloads${QUICK ? ' (quick mode: not 64 MiB)' : ''}:\n`,
  )
  // Two rounds per gateway: the first counts whatever the process had not yet done (the first 32 court
  // connections, buffers and threads made once), the second the same load on a process that has served it
  // once. The growth columns after RSS are the gateway's own peaks (process.memoryUsage() and its thread
  // count, sampled every 20 ms, bench/gateway-server.ts) over its figures just before the round.
  console.log(
    '| round | path | RSS before MiB | peak MiB | growth MiB | heap used + | heap total + | ArrayBuffers + | other external + | threads | wall s | load avg |',
  )
  console.log('| --: | --- | --: | --: | --: | --: | --: | --: | --: | --- | --: | --- |')
  for (const round of [1, 2]) {
    for (const g of gateways) {
      say(`RSS ${g.label}, round ${round}`)
      const pid = g.child.pid!
      await memorySampling(g.child)
      const before = rssBytes(pid)
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssBytes(pid))
      }, 20)
      const t0 = performance.now()
      await Promise.all(
        Array.from({ length: PARALLEL }, () => download(`${g.info.url}${g.info.parallel}`, g.info.token)),
      )
      clearInterval(sampler)
      peak = Math.max(peak, rssBytes(pid))
      const wall = (performance.now() - t0) / 1000
      const { before: b, peak: p } = (await memorySampling(g.child)).memory
      const grew = (key: string) => fmt((p[key] - b[key]) / MiB, 1)
      const otherExternal = fmt((p.external - p.arrayBuffers - (b.external - b.arrayBuffers)) / MiB, 1)
      console.log(
        `| ${round} | ${g.label} | ${fmt(before / MiB, 1)} | ${fmt(peak / MiB, 1)} | ${fmt((peak - before) / MiB, 1)} | ${grew('heapUsed')} | ${grew('heapTotal')} | ${grew('arrayBuffers')} | ${otherExternal} | ${b.threads} → ${p.threads} | ${fmt(wall, 1)} | ${load()} |`,
      )
    }
  }

  if (args.only === 'rss') return
  // Start to ready the production way: `node dist/src/cli.js serve` (bench/start.ts), each tree built as
  // `npm run build` builds it; rounds alternate between the trees so that the machine's load falls on each.
  const rounds = QUICK ? 3 : 5
  const starts = gateways.map((g) => ({
    label: g.label,
    root: g.root,
    times: { fresh: [], existing: [], freshCpu: [], existingCpu: [] } as StartTimes,
  }))
  for (let round = 0; round < rounds; round++) {
    for (const tree of starts) {
      const times = await measureStart({ root: tree.root, runs: 1 })
      tree.times.fresh.push(...times.fresh)
      tree.times.existing.push(...times.existing)
      tree.times.freshCpu.push(...times.freshCpu)
      tree.times.existingCpu.push(...times.existingCpu)
    }
  }
  console.log(
    `\nStart to /readyz: spawn of \`node dist/src/cli.js serve\` to the first 200, median of ${rounds} (load average ${load()}):\n`,
  )
  console.log(
    '| path | fresh data folder ms | existing data folder ms | CPU ms fresh / existing | all fresh | all existing |',
  )
  console.log('| --- | --: | --: | --: | --- | --- |')
  for (const { label, times } of starts) {
    const all = (values: number[]) => values.map((value) => value.toFixed(0)).join(', ')
    console.log(
      `| ${label} | ${fmt(median(times.fresh))} | ${fmt(median(times.existing))} | ${fmt(median(times.freshCpu))} / ${fmt(median(times.existingCpu))} | ${all(times.fresh)} | ${all(times.existing)} |`,
    )
  }
  console.log(`\ndisk at the end: ${fsyncLatency()}`)
  console.log(`load average at the end ${load()}; ${((performance.now() - began) / 1000).toFixed(0)} s in all`)
}

try {
  await main()
} finally {
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
