import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { buildArtifacts } from '../../scripts/build-artifacts.js'
import { loadSpec, prebuiltSpecFile } from '../../src/http/openapi.js'
import { compileSchema, runtimeCompilations } from '../../src/http/schema-compiler.js'
import { ADAPTER_SPEC, GATEWAY_SPEC, PROJECT_ROOT } from '../../src/paths.js'
import { type Running, startBuilt } from '../helpers/children.js'
import { startGateway } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

/** Every file under `dir`, by path relative to the package root. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(PROJECT_ROOT, join(entry.parentPath, entry.name)))
    .sort()
}

t.test('dist/prebuilt is what scripts/build-artifacts.ts makes from openapi/*.yaml now', async (t) => {
  const fresh = buildArtifacts()
  const onDisk = filesUnder(join(PROJECT_ROOT, 'dist', 'prebuilt'))
  t.same(onDisk, [...fresh.keys()].sort(), 'the same files: run npm run build')
  for (const [path, text] of fresh) {
    t.ok(readFileSync(join(PROJECT_ROOT, path), 'utf8') === text, `${path} is stale: run npm run build`)
  }
  // Each spec's JSON is named by the hash of its YAML text, and holds what the YAML parses to.
  for (const spec of [GATEWAY_SPEC, ADAPTER_SPEC]) {
    const text = readFileSync(spec, 'utf8')
    const path = relative(PROJECT_ROOT, prebuiltSpecFile(text))
    t.ok(fresh.has(path), `${spec} has its prebuilt JSON`)
    t.same(JSON.parse(fresh.get(path)!), parse(text))
  }
})

t.test('a spec edited since the build is parsed from its YAML, to the same document', async (t) => {
  const dir = t.testdir()
  const edited = join(dir, 'gateway.yaml')
  writeFileSync(edited, `${readFileSync(GATEWAY_SPEC, 'utf8')}\n# edited after the build\n`)
  t.same(loadSpec(edited), loadSpec(GATEWAY_SPEC))
  t.not(loadSpec(edited), loadSpec(GATEWAY_SPEC), 'read from its own file')
})

t.test('a gateway on the build compiles no schema, not even with response conformance on', async (t) => {
  const before = runtimeCompilations()
  const { gateway } = await startGateway(t, { server: { host: '127.0.0.1', port: 0, validateResponses: true } })
  await gateway.app.ready()
  t.equal(runtimeCompilations(), before, 'every validator came prebuilt')
  // The count is real: a schema the build never saw is compiled here, once.
  const novel = { type: 'object', properties: { seen: { const: `novel-${process.pid}-${Date.now()}` } } }
  const validate = compileSchema('request-json', novel)
  t.equal(runtimeCompilations(), before + 1)
  t.equal(compileSchema('request-json', structuredClone(novel)), validate, 'once per schema text')
  t.notOk(validate({ seen: 'something else' }))
})

t.test('serve from dist/ says nothing of schemas compiled at start-up', async (t) => {
  const dir = t.testdir()
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, validateResponses: true },
      storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
      identity: { audience: 'court-file-gateway', issuers: [] },
      directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
      accessLog: { origin: 'build-artifacts.test/log', signingKeyFile: join(dir, 'log.pem') },
      adapters: { signingKeyFile: join(dir, 'adapter.pem') },
      // Keys are created on first start only with the development issuer on.
      dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
    }),
  )
  const running: Running = startBuilt(t, 'src/cli.js', ['serve', '--config', config], { env: { LOG_LEVEL: 'info' } })
  const lines = () =>
    running
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string })
  await waitFor(
    () => {
      if (running.child.exitCode !== null) throw new Error(`the gateway exited: ${running.output()}`)
      return lines().find((line) => line.msg === 'court-file-gateway started')
    },
    { what: 'the start-up line' },
  )
  running.child.kill('SIGTERM')
  await running.finished
  t.same(
    lines().filter((line) => line.msg?.startsWith('schemas compiled at start-up')),
    [],
    'no schema compiled at start',
  )
})
