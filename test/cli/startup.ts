import { readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { PROJECT_ROOT } from '../../src/paths.js'
import { startupSummary } from '../../src/server.js'
import { cli, type Finished, type Running, startBuilt } from '../helpers/children.js'
import { startGateway } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

const VERSION = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version
const STACK = /\n\s+at /

/** A config file for `serve` in a fresh folder: SQLite and keys there, loopback, the dev issuer as asked. */
function configFile(dir: string, overrides: Record<string, unknown> = {}): string {
  const file = join(dir, 'config.json')
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
      identity: { audience: 'court-file-gateway', issuers: [] },
      directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
      accessLog: { origin: 'startup.test/log', signingKeyFile: join(dir, 'log.pem') },
      adapters: { signingKeyFile: join(dir, 'adapter.pem') },
      dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
      ...overrides,
    }),
  )
  return file
}

/** The JSON log lines a served gateway wrote to stdout so far. */
function logLines(running: Running): Array<Record<string, unknown>> {
  return running
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

function serve(t: Tap, config: string): Running {
  return startBuilt(t, 'src/cli.js', ['serve', '--config', config], { env: { LOG_LEVEL: 'info' } })
}

type Tap = { teardown(fn: () => unknown): void }

async function started(running: Running): Promise<Record<string, unknown>> {
  return waitFor(
    () => {
      if (running.child.exitCode !== null) throw new Error(`the gateway exited: ${running.output()}`)
      return logLines(running).find((line) => line.msg === 'court-file-gateway started')
    },
    { what: 'the start-up line' },
  )
}

t.test('a port already in use: serve says so and exits 1, not 0', async (t) => {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as { port: number }).port
  const dir = t.testdir()
  const running = serve(t, configFile(dir, { server: { host: '127.0.0.1', port } }))
  const finished: Finished = await running.finished
  t.equal(finished.code, 1, 'a failed start is a failure for a supervisor')
  t.match(finished.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))
  t.notMatch(finished.stderr, STACK, 'no stack trace')
  t.notOk(
    logLines(running).some((line) => line.msg === 'court-file-gateway started'),
    'it never claims to have started',
  )
})

t.test('at start one line says what runs, and a loud warning when the dev issuer is on', async (t) => {
  const dir = t.testdir()
  const config = configFile(dir)
  const running = serve(t, config)
  const line = await started(running)
  t.match(line, {
    level: 30,
    version: VERSION,
    listen: /^http:\/\/127\.0\.0\.1:\d+$/,
    storage: `sqlite:${join(dir, 'gateway.db')}`,
    issuers: ['urn:court-file-gateway:dev'],
    devIssuer: true,
    accessLog: { origin: 'startup.test/log', verifierKey: /^startup\.test\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/ },
  })
  // The key in the line is the one the log serves to auditors.
  const auditor = await cli([
    'token',
    '--sub',
    'audit.one',
    '--org',
    'HLJ-AUDIT',
    '--roles',
    'auditor',
    '--config',
    config,
  ])
  const key = await request(`${line.listen}/v1/audit/key`, {
    headers: { authorization: `Bearer ${auditor.stdout.trim()}` },
  })
  t.equal((await key.body.text()).trim(), (line.accessLog as { verifierKey: string }).verifierKey)
  const warning = logLines(running).find((entry) => entry.level === 40)
  t.match(warning, { msg: /^DEVELOPMENT ISSUER ON: .*never in production/ }, 'the dev issuer is announced loudly')
  running.child.kill('SIGTERM')
  t.match(await running.finished, { code: 0 }, 'SIGTERM stops it cleanly')
})

t.test('the start-up summary names each configured issuer, and no dev issuer when it is off', async (t) => {
  const h = await startGateway(t)
  const issuer = { issuer: 'https://idp.example', jwksUrl: 'https://idp.example/jwks', algorithms: ['EdDSA'] }
  const config = { ...h.config, identity: { ...h.config.identity, issuers: [issuer] } } as typeof h.config
  t.same(startupSummary(config, { log: h.gateway.log, devIssuer: undefined }, h.url), {
    version: VERSION,
    listen: h.url,
    storage: `sqlite:${join(h.dir, 'gateway.db')}`,
    issuers: ['https://idp.example'],
    devIssuer: false,
    accessLog: { origin: 'test.gateway/log', verifierKey: h.gateway.log.verifierKey() },
  })
  t.same(startupSummary(h.config, h.gateway, h.url).issuers, ['urn:court-file-gateway:dev'], 'the dev issuer when on')
})
