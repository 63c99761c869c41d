import { execFile } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freePort } from './gateway-process.js'

const run = promisify(execFile)

/** A PostgreSQL server of the test's own, which it may stop and start at will. */
export interface OwnPostgres {
  /** The `postgres` database on it, as the superuser (trust authentication, loopback only). */
  url: string
  /** Stops the server: `immediate` is a crash (no checkpoint, connections cut), `fast` a clean shutdown. */
  stop(mode: 'fast' | 'immediate'): Promise<void>
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>
}

/** Every step of the server's life has this long; a server that takes longer fails the test. */
const STEP_MS = 60_000

/**
 * Starts a throw-away PostgreSQL server (initdb and pg_ctl of the newest /usr/lib/postgresql/<version>/bin)
 * on a free loopback port, in a fresh directory, stopped and removed at teardown. Never the machine's shared
 * server, which other tests and people use. initdb refuses to run as root: as root, the server's programs run
 * as the `postgres` user through runuser, in a directory that user owns. When the programs are missing, says
 * so with a skip and returns undefined.
 */
export async function ownPostgres(t: Test): Promise<OwnPostgres | undefined> {
  const bin = serverBin()
  if (!bin) {
    t.skip('skipped: no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql/*/bin', () => {})
    return undefined
  }
  const asRoot = process.getuid?.() === 0
  let owner: { uid: number; gid: number } | undefined
  if (asRoot) {
    try {
      const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
      owner = { uid: Number(uid.stdout), gid: Number(gid.stdout) }
    } catch {
      t.skip('skipped: running as root and there is no `postgres` user to run initdb as', () => {})
      return undefined
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'cfg-pg-'))
  if (owner) chownSync(dir, owner.uid, owner.gid)
  const data = join(dir, 'data')
  const program = (name: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, name), ...args], { timeout: STEP_MS })
      : run(join(bin, name), args, { timeout: STEP_MS })
  const port = await freePort()
  // The socket in the test's directory: nothing of the machine's server (its /run/postgresql) is touched.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=on -c max_connections=50`
  await program('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-instructions', '-E', 'UTF8'])
  const start = async () => {
    await program('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'])
  }
  let running = false
  await start()
  running = true
  t.teardown(async () => {
    if (running) await program('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop(mode) {
      await program('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop'])
      running = false
    },
    async start() {
      await start()
      running = true
    },
  }
}

/** The bin directory of the newest PostgreSQL server installed, if any. */
function serverBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter(
      (version) => existsSync(join(root, version, 'bin', 'initdb')) && existsSync(join(root, version, 'bin', 'pg_ctl')),
    )
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}
