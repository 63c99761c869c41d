import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { exitCodeOf, runCommand } from '../../src/commands.js'
import { PROJECT_ROOT } from '../../src/paths.js'

/**
 * Child processes in tests run the compiled JavaScript in dist/ (built by tap's `before` step, see .taprc), as
 * `npm start` and the container do; starting one takes a few hundred milliseconds instead of the tens of
 * seconds a TypeScript loader needs to compile the sources again in every child.
 *
 * Coverage stays honest: a child inherits tap's NODE_OPTIONS, whose coverage recorder writes the child's V8
 * coverage next to the tests' own; source maps (test/helpers/source-maps.mjs) let it map dist/ back to the
 * TypeScript sources, and the test process itself loads the product from the same dist/ (test/helpers/resolve-ts.mjs),
 * so both map to the same ranges and merge in the report. A child killed with SIGKILL records nothing.
 */
/** Source maps as `--enable-source-maps` turns them on, minus those of node_modules (test/helpers/source-maps.mjs). */
const SOURCE_MAPS = pathToFileURL(join(PROJECT_ROOT, 'test', 'helpers', 'source-maps.mjs')).href

export function built(path: string): string {
  const file = join(PROJECT_ROOT, 'dist', path)
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (tap's before step does it)`)
  return file
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface ChildOptions {
  env?: Record<string, string | undefined>
  cwd?: string
}

/**
 * Children still running when this test process ends (tap ends a file that overruns its timeout before its
 * teardowns run) are killed with it: a gateway left behind would hold ports and a database for the rest of
 * the suite and load the machine.
 */
const living = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of living) child.kill('SIGKILL')
})

function spawnBuilt(script: string, args: string[], options: ChildOptions): ChildProcess {
  const child = spawn(process.execPath, [`--import=${SOURCE_MAPS}`, built(script), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  living.add(child)
  child.once('exit', () => living.delete(child))
  return child
}

/** Runs a built script to its end, e.g. `runBuilt('src/cli.js', ['keygen', '--out', file])`. */
export async function runBuilt(script: string, args: string[], options: ChildOptions = {}): Promise<Finished> {
  const child = spawnBuilt(script, args, options)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => (stdout += chunk))
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  return { code, signal, stdout, stderr }
}

/**
 * A command of `court-file-gateway` run in this process (src/commands.ts, what the binary runs): the same
 * output and exit status, without a process start. The binary's own wiring is tested through `cli`.
 */
export async function cliInProcess(args: string[]): Promise<Finished> {
  const out: string[] = []
  const err: string[] = []
  const io = { out: (line: string) => out.push(`${line}\n`), err: (line: string) => err.push(`${line}\n`) }
  let code: number
  try {
    code = await runCommand(args, io)
  } catch (error) {
    io.err(`court-file-gateway: ${(error as Error).message}`)
    code = exitCodeOf(error)
  }
  return { code, signal: null, stdout: out.join(''), stderr: err.join('') }
}

/** `court-file-gateway …` as an operator runs it. */
export function cli(args: string[], options: ChildOptions = {}): Promise<Finished> {
  return runBuilt('src/cli.js', args, options)
}

export interface Running {
  child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** Resolves when the process has ended and its output is complete. */
  finished: Promise<Finished>
}

/** Starts a long-running built script (a served gateway, the reference adapter); killed at teardown. */
export function startBuilt(
  t: { teardown(fn: () => unknown): void },
  script: string,
  args: string[],
  options: ChildOptions = {},
): Running {
  const child = spawnBuilt(script, args, options)
  let stdout = ''
  let stderr = ''
  let output = ''
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
    output += chunk
  })
  child.stderr!.on('data', (chunk) => {
    stderr += chunk
    output += chunk
  })
  const finished = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, output: () => output, finished }
}
