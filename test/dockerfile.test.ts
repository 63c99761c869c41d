/**
 * No container engine runs here, so this test does what the image would do: it reads the Dockerfile, lays out
 * the runtime stage under a temporary root (so `/app` is `<root>/app`), copies what its COPY lines copy, makes
 * the folders its RUN line makes with the owners and modes it gives, mounts the configuration the operators'
 * guide tells an operator to mount, and runs the first-start steps, ENTRYPOINT + CMD and the HEALTHCHECK as
 * an unprivileged user (`nobody` standing in for the image's `gateway`) when the test runs as root.
 *
 * What it cannot reproduce: the build stage itself (`npm ci` and `npm prune --omit=dev` are approximated by
 * the project's own node_modules, `npm run build` by the dist/ that tap's `before` step compiles), and the
 * port, which is taken from GATEWAY_PORT so that parallel runs on one machine do not collide (the port in the
 * config is checked against EXPOSE instead).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { loadConfig, parseNetwork } from '../src/config/load.js'
import { PROJECT_ROOT } from '../src/paths.js'

interface Instruction {
  keyword: string
  args: string
}

/** The Dockerfile as instructions, continuation lines joined and comments dropped, split into stages. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = []
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
  for (const line of logical.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (!match) continue
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim().replace(/\s+/g, ' ') }
    if (instruction.keyword === 'FROM') stages.push([])
    stages.at(-1)?.push(instruction)
  }
  return stages
}

function one(stage: Instruction[], keyword: string): string {
  const found = stage.filter((i) => i.keyword === keyword)
  if (found.length !== 1) throw new Error(`expected one ${keyword} in the runtime stage, found ${found.length}`)
  return found[0]!.args
}

/** The exec form (`["node", "x"]`); the shell form would need a shell the test does not imitate. */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not exec form: ${args}`)
  return parsed
}

/** `ENV A=1 B=/x` as pairs. */
function envPairs(args: string): [string, string][] {
  return args.split(' ').map((pair) => {
    const at = pair.indexOf('=')
    return [pair.slice(0, at), pair.slice(at + 1)]
  })
}

const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')
const stages = parseDockerfile(dockerfile)
const build = stages[0]!
const runtime = stages.at(-1)!
const buildName = / AS (\S+)$/i.exec(build[0]!.args)?.[1]
const runtimeEnv = new Map(runtime.filter((i) => i.keyword === 'ENV').flatMap((i) => envPairs(i.args)))
const imageConfigPath = runtimeEnv.get('GATEWAY_CONFIG') ?? ''
const volume = execForm(one(runtime, 'VOLUME'))
const exposed = one(runtime, 'EXPOSE').split(' ').map(Number)
const entrypoint = execForm(one(runtime, 'ENTRYPOINT'))
const cmd = execForm(one(runtime, 'CMD'))
const healthcheck = execForm(/CMD (\[.*\])$/.exec(one(runtime, 'HEALTHCHECK'))?.[1] ?? 'null')
/** The configuration docs/operators.md tells an operator to start from and mount. */
const PRODUCTION = join(PROJECT_ROOT, 'config', 'production.example.json')
const COMPOSE_CONFIG = join(PROJECT_ROOT, 'config', 'compose.json')
/** A compose file as Docker Compose reads it: `<<` merges the keys of an anchor (`x-gateway: &gateway`). */
const readCompose = (name: string) => parseYaml(readFileSync(join(PROJECT_ROOT, name), 'utf8'), { merge: true })
const compose = readCompose('compose.yaml')
const composeConfig = loadConfig(COMPOSE_CONFIG, {})
const replicas = readCompose('compose.replicas.yaml')
const REPLICAS_CONFIG = join(PROJECT_ROOT, 'config', 'compose-replicas.json')

t.test('both stages run Node 24 and the runtime stage is the one that starts', async (t) => {
  t.equal(stages.length, 2)
  t.same(
    stages.map((stage) => stage[0]!.args.split(' ')[0]),
    ['node:24-bookworm-slim', 'node:24-bookworm-slim'],
  )
  t.equal(buildName, 'build')
  t.same(entrypoint, ['node', '/app/dist/src/cli.js'])
  t.same(cmd, ['serve'], 'serve reads GATEWAY_CONFIG, so `docker run IMAGE token …` reads the same file')
  t.same(healthcheck, ['node', '/app/dist/src/cli.js', 'healthcheck'])
  t.equal(one(runtime, 'WORKDIR'), '/app')
  t.not(one(runtime, 'USER'), 'root')
})

t.test(
  'every COPY source exists, and what the runtime copies from the build stage the build stage makes',
  async (t) => {
    for (const [index, stage] of stages.entries()) {
      for (const copy of stage.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))) {
        const sources = copy.args.split(' ').slice(0, -1)
        for (const source of sources) t.ok(existsSync(join(PROJECT_ROOT, source)), `stage ${index}: ${source} exists`)
      }
    }
    const fromBuild = runtime.filter((i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${buildName} `))
    t.same(
      fromBuild.map((i) => i.args.split(' ')[1]),
      ['/app/node_modules', '/app/dist'],
    )
    t.equal(one(build, 'WORKDIR'), '/app')
    const buildRuns = build.filter((i) => i.keyword === 'RUN').map((i) => i.args)
    t.ok(
      buildRuns.some((run) => run.includes('npm ci')),
      'node_modules comes from npm ci',
    )
    t.ok(
      buildRuns.some((run) => run.includes('npm run build') && run.includes('npm prune --omit=dev')),
      'dist comes from npm run build',
    )
  },
)

t.test('the port and the data folder agree with the configurations the image is run with', async (t) => {
  for (const path of [PRODUCTION, COMPOSE_CONFIG]) {
    const config = loadConfig(path, {})
    t.same(exposed, [config.server.port], `EXPOSE is the port of ${path}`)
    t.equal(config.server.host, '0.0.0.0', 'a container must listen beyond its own loopback')
    t.equal(config.storage.kind, 'sqlite')
    const writable = [
      config.storage.kind === 'sqlite' ? config.storage.path : '',
      config.accessLog.signingKeyFile,
      config.adapters.signingKeyFile,
      ...(config.dev?.keyFile ? [config.dev.keyFile] : []),
    ]
    for (const file of writable) t.ok(file.startsWith(`${volume[0]}/`), `${file} is on the volume`)
    t.ok(config.directory.startsWith('/app/config/'), 'the directory file is the one the image ships')
  }
  t.same(volume, ['/var/lib/court-file-gateway'])
  t.equal(imageConfigPath, '/etc/court-file-gateway/config.json')
})

/** Every bind-mounted file exists and every named volume is declared. */
function checkMounts(t: Test, file: { services: object; volumes?: object }) {
  for (const [name, service] of Object.entries<{ volumes?: string[] }>(file.services as never)) {
    for (const mount of service.volumes ?? []) {
      const [source] = mount.split(':') as [string]
      if (source.startsWith('.')) t.ok(existsSync(join(PROJECT_ROOT, source)), `${name}: ${source} exists`)
      else t.ok(file.volumes && source in file.volumes, `${name}: volume ${source} is declared`)
    }
  }
}

t.test('compose.yaml names files that exist, the image paths, and ports that agree', async (t) => {
  const { gateway, 'court-adapter': adapter } = compose.services
  const config = composeConfig
  checkMounts(t, compose)
  t.ok(gateway.volumes.includes(`./config/compose.json:${imageConfigPath}:ro`), 'the config is mounted read-only')
  t.ok(gateway.volumes.includes(`gateway-data:${volume[0]}`), 'the data folder is on a named volume')
  t.same(
    gateway.ports.map((p: string) => Number(p.split(':').at(-1))),
    [config.server.port],
  )
  t.equal(adapter.image, gateway.image, 'the adapter runs from the same image')
  t.same(adapter.entrypoint, ['node', '/app/dist/examples/court-adapter/main.js'])
  const jwks = new URL(adapter.environment.COURT_ADAPTER_GATEWAY_JWKS)
  t.equal(jwks.hostname, 'gateway')
  t.equal(Number(jwks.port), config.server.port)
  t.equal(jwks.pathname, '/.well-known/jwks.json')
  t.ok(adapter.volumes.includes(`./examples/court-adapter/cases:${adapter.environment.COURT_ADAPTER_CASES}:ro`))
  const subnet: string = compose.networks.courts.ipam.config[0].subnet
  t.same(config.adapters.allowedNetworks, [subnet], 'the gateway may reach exactly the compose network')
  t.ok(parseNetwork(subnet))
  t.equal(config.dev?.issuer, true, 'compose is for trying: the dev issuer mints the tokens')
})

t.test(
  'compose.replicas.yaml: replicas share PostgreSQL, Redis and keys behind nginx, with files and ports that agree',
  async (t) => {
    checkMounts(t, replicas)
    const services = replicas.services
    const config = loadConfig(REPLICAS_CONFIG, {})
    const gateways = Object.keys(services).filter((name) => /^gateway-\d+$/.test(name))
    t.ok(gateways.length >= 2, `${gateways.length} gateway replicas`)
    for (const name of ['migrate', ...gateways]) {
      const service = services[name]
      t.equal(service.image, compose.services.gateway.image, `${name} runs the gateway's image`)
      t.ok(service.volumes.includes(`./config/compose-replicas.json:${imageConfigPath}:ro`), `${name}: config`)
      t.ok(service.volumes.includes(`gateway-keys:${volume[0]}`), `${name}: every replica signs with the same keys`)
    }
    t.same(services.migrate.command, ['migrate'])
    t.same(services.migrate.depends_on, { postgres: { condition: 'service_healthy' } })
    t.equal(services['gateway-1'].depends_on.migrate.condition, 'service_completed_successfully')

    t.same(exposed, [config.server.port], "EXPOSE is the port of the replicas' config")
    for (const file of [config.accessLog.signingKeyFile, config.adapters.signingKeyFile, config.dev?.keyFile ?? '']) {
      t.ok(file.startsWith(`${volume[0]}/`), `${file} is on the shared volume`)
    }
    t.equal(config.storage.kind, 'postgres')
    const gatewayUrl = new URL(config.storage.kind === 'postgres' ? config.storage.url : '')
    const ownerUrl = new URL(services.migrate.environment.GATEWAY_DATABASE_URL)
    const postgres = services.postgres.environment
    for (const url of [gatewayUrl, ownerUrl]) {
      t.equal(url.hostname, 'postgres')
      t.equal(url.port, '5432')
      t.equal(url.pathname, `/${postgres.POSTGRES_DB}`)
    }
    t.equal(ownerUrl.username, postgres.POSTGRES_USER, 'migrate runs as the owner')
    t.equal(decodeURIComponent(ownerUrl.password), postgres.POSTGRES_PASSWORD)
    const init = readFileSync(join(PROJECT_ROOT, 'deploy', 'compose', 'postgres-init.sql'), 'utf8')
    t.match(
      init,
      `CREATE ROLE ${gatewayUrl.username} LOGIN PASSWORD '${decodeURIComponent(gatewayUrl.password)}' IN ROLE cfg_gateway;`,
      'the gateways log in as a member of cfg_gateway, not as the owner',
    )
    const redis = new URL(config.redis?.url ?? '')
    t.equal(redis.hostname, 'redis')
    t.ok('redis' in services)

    const nginx = readFileSync(join(PROJECT_ROOT, 'deploy', 'compose', 'nginx.conf'), 'utf8')
    const upstream = [...nginx.matchAll(/^\s*server (\S+);$/gm)].map((m) => m[1])
    t.same(
      upstream,
      gateways.map((name) => `${name}:${config.server.port}`),
      'nginx balances over every replica, on the configured port',
    )
    const listen = Number(/^\s*listen (\d+);$/m.exec(nginx)?.[1])
    const balancer = services['load-balancer']
    t.same(
      balancer.ports.map((p: string) => Number(p.split(':').at(-1))),
      [listen],
    )
    t.ok(balancer.volumes.includes('./deploy/compose/nginx.conf:/etc/nginx/nginx.conf:ro'))
    const subnet: string = replicas.networks.courts.ipam.config[0].subnet
    const balancerAddress: string = balancer.networks.courts.ipv4_address
    t.ok(parseNetwork(subnet)?.check(balancerAddress), 'the load balancer has a fixed address in the network')
    t.same(config.server.trustProxy, [balancerAddress], 'only the load balancer may name the client')
    t.same(config.adapters.allowedNetworks, [subnet], 'the gateways may reach exactly the compose network')

    const jwks = new URL(services['court-adapter'].environment.COURT_ADAPTER_GATEWAY_JWKS)
    t.equal(jwks.hostname, 'load-balancer')
    t.equal(Number(jwks.port), listen)
    t.equal(jwks.pathname, '/.well-known/jwks.json')
    t.equal(config.dev?.issuer, true, 'compose is for trying: the dev issuer mints the tokens')
  },
)

// ---- running the image's steps ----

const nobody = process.getuid?.() === 0 ? readUser('nobody') : undefined
/**
 * How every step is run: as `nobody` with no supplementary groups when the test runs as root, and without the
 * test runner's NODE_OPTIONS (its loader would write coverage files the image's user may not write).
 */
const launcher = [
  ...(nobody ? ['setpriv', `--reuid=${nobody.uid}`, `--regid=${nobody.gid}`, '--clear-groups'] : []),
  'env',
  '-u',
  'NODE_OPTIONS',
]

function readUser(name: string): { uid: number; gid: number } | undefined {
  const user = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const group = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (user.status !== 0 || group.status !== 0) return undefined
  return { uid: Number(user.stdout), gid: Number(group.stdout) }
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Lays out the runtime stage under `root`: WORKDIR, the RUN line's folders, owners and modes (with `nobody`
 * for the image's user), COPY. A RUN command the test does not know fails the test rather than being skipped.
 */
function layOutImage(root: string): void {
  const at = (path: string) => join(root, path)
  let workdir = '/'
  const user = one(runtime, 'USER')
  for (const { keyword, args } of runtime) {
    if (keyword === 'WORKDIR') {
      workdir = args
      mkdirSync(at(args), { recursive: true })
    } else if (keyword === 'RUN') {
      for (const command of args.split(' && ')) {
        const [program, ...words] = command.split(' ')
        if (program === 'groupadd' || program === 'useradd') continue
        if (program === 'mkdir' && words[0] === '-p')
          for (const dir of words.slice(1)) mkdirSync(at(dir), { recursive: true })
        else if (program === 'chown' && words[0] === `${user}:${user}`) {
          if (nobody) chownSync(at(words[1]!), nobody.uid, nobody.gid)
        } else if (program === 'chmod' && /^0?[0-7]{3}$/.test(words[0]!))
          chmodSync(at(words[1]!), Number.parseInt(words[0]!, 8))
        else throw new Error(`the test does not know how to run "${command}" from the Dockerfile`)
      }
    } else if (keyword === 'COPY') {
      const words = args.split(' ')
      const fromBuild = words[0] === `--from=${buildName}`
      const [destination, ...sources] = (fromBuild ? words.slice(1) : words).reverse()
      for (const source of sources.reverse()) {
        const target = join(at(workdir), destination!, destination!.endsWith('/') ? source : '')
        const from = fromBuild ? join(PROJECT_ROOT, source.replace(/^\/app\//, '')) : join(PROJECT_ROOT, source)
        if (fromBuild && source === '/app/node_modules') symlinkSync(join(PROJECT_ROOT, 'node_modules'), target)
        else cpSync(from, target, { recursive: true })
      }
    }
  }
}

/** The configuration as mounted: every absolute path in it moved under `root`, like the image's own paths. */
function mountConfig(root: string, source: string, extra: Record<string, string> = {}): string {
  const text = readFileSync(source, 'utf8').replace(/"(\/[^"]*)"/g, (_all, path: string) =>
    JSON.stringify(join(root, path)),
  )
  const target = join(root, imageConfigPath)
  mkdirSync(dirname(target), { recursive: true })
  writeFileSync(target, text)
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dirname(target), name), content)
  return target
}

interface Container {
  root: string
  env: NodeJS.ProcessEnv
  run: (args: string[], extraEnv?: NodeJS.ProcessEnv) => { code: number | null; stdout: string; stderr: string }
  start: (args: string[], extraEnv?: NodeJS.ProcessEnv) => ChildProcess & { output: () => string }
}

function container(root: string, port: number): Container {
  // The base image has node in /usr/local/bin. The runner's own binary may sit where the runtime user cannot
  // reach it (CI installs Node 24 under root's home), so it is copied there, as the image has it.
  const nodeDir = join(root, 'usr', 'local', 'bin')
  if (!existsSync(join(nodeDir, 'node'))) {
    mkdirSync(nodeDir, { recursive: true })
    copyFileSync(process.execPath, join(nodeDir, 'node'))
    chmodSync(join(nodeDir, 'node'), 0o755)
  }
  const env: NodeJS.ProcessEnv = {
    PATH: `${nodeDir}:/usr/bin:/bin`,
    GATEWAY_PORT: String(port),
    ...Object.fromEntries([...runtimeEnv].map(([k, v]) => [k, v.startsWith('/') ? join(root, v) : v])),
  }
  const cwd = join(root, one(runtime, 'WORKDIR'))
  // The image's own code is named by absolute paths in ENTRYPOINT and HEALTHCHECK.
  const inImage = (arg: string) => (arg.startsWith('/app/') ? join(root, arg) : arg)
  return {
    root,
    env,
    run: (args, extraEnv = {}) => {
      const [program, ...rest] = [...launcher, ...args.map(inImage)] as [string, ...string[]]
      const options = { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 } as const
      const result = spawnSync(program, rest, options)
      return { code: result.status, stdout: result.stdout, stderr: result.stderr }
    },
    start: (args, extraEnv = {}) => {
      const [program, ...rest] = [...launcher, ...args.map(inImage)] as [string, ...string[]]
      const child = spawn(program, rest, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk) => (output += chunk))
      child.stderr.on('data', (chunk) => (output += chunk))
      return Object.assign(child, { output: () => output })
    },
  }
}

/** Runs the HEALTHCHECK until it passes, the server exits, or the deadline passes. */
/** Runs a health check command until it passes, the server exits, or the deadline passes. */
async function healthy(
  c: Container,
  server: ChildProcess & { output: () => string },
  deadlineMs: number,
  check: string[] = healthcheck,
) {
  const deadline = Date.now() + deadlineMs
  let last = c.run(check)
  while (last.code !== 0) {
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}:\n${server.output()}`)
    if (Date.now() > deadline) throw new Error(`unhealthy after ${deadlineMs} ms: ${last.stderr}\n${server.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
    last = c.run(check)
  }
  return last
}

async function stop(server: ChildProcess): Promise<number | null> {
  if (server.exitCode !== null) return server.exitCode
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
  server.kill('SIGTERM')
  return exited
}

function imageRoot(t: { teardown: (fn: () => unknown) => void }): string {
  const root = mkdtempSync(join(tmpdir(), 'image-'))
  chmodSync(root, 0o755)
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  layOutImage(root)
  return root
}

t.test('the image as an operator runs it', async (t) => {
  // dist/ is the build's output: tap's `before` step (test/helpers/build-dist.mjs) compiled it for this run.
  t.ok(existsSync(join(PROJECT_ROOT, 'dist', 'src', 'cli.js')), 'dist/ is built')
  if (!nobody) t.comment('not running as root: the steps run as the current user, not as an unprivileged one')

  t.test('without a mounted config it says which file it needs and stops', async (t) => {
    const c = container(imageRoot(t), await freePort())
    const result = c.run([...entrypoint, ...cmd])
    t.equal(result.code, 2)
    t.match(result.stderr, `cannot read config file ${join(c.root, imageConfigPath)}`)
  })

  t.test('production: keys made with keygen on the volume, then serve, then the health check', async (t) => {
    const root = imageRoot(t)
    const dataDir = join(root, volume[0]!)
    if (nobody) t.equal(statSync(dataDir).uid, nobody.uid, 'the volume belongs to the runtime user')
    t.equal(statSync(dataDir).mode & 0o777, 0o700)
    const operatorKey = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })
    mountConfig(root, PRODUCTION, {
      'ops-jwks.json': JSON.stringify({ keys: [{ ...operatorKey, kid: 'ops-1', alg: 'EdDSA', use: 'sig' }] }),
    })
    const c = container(root, await freePort())
    const config = loadConfig(join(root, imageConfigPath), {})
    // The production example serves TLS itself: the operator mounts a certificate and its key (here a
    // self-signed one for loopback), readable by the runtime user.
    const tls = config.server.tls!
    mkdirSync(dirname(tls.certFile), { recursive: true })
    spawnSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=gateway', '-keyout', tls.keyFile, '-out', tls.certFile],
      ],
      { stdio: 'ignore' },
    )
    if (nobody) for (const file of [tls.keyFile, tls.certFile]) chownSync(file, nobody.uid, nobody.gid)

    const refused = c.start([...entrypoint, ...cmd])
    t.not(await new Promise((resolve) => refused.once('exit', resolve)), 0, 'no start without keys')
    t.match(refused.output(), 'create it with court-file-gateway keygen')

    for (const key of [config.accessLog.signingKeyFile, config.adapters.signingKeyFile]) {
      const made = c.run([...entrypoint, 'keygen', '--out', key])
      t.equal(made.code, 0, made.stderr)
      t.equal(statSync(key).mode & 0o777, 0o600, 'only the runtime user reads a key')
    }
    const down = c.run(healthcheck)
    t.equal(down.code, 1, 'unhealthy while nothing listens')
    t.equal(down.stderr, `unhealthy: https://127.0.0.1:${c.env.GATEWAY_PORT}/healthz: ECONNREFUSED\n`)
    const server = c.start([...entrypoint, ...cmd])
    t.teardown(() => stop(server))
    t.equal((await healthy(c, server, 90_000)).code, 0)
    t.ok(existsSync(join(dataDir, 'gateway.db')), 'the database is on the volume')
    if (nobody) {
      t.equal(statSync(join(dataDir, 'gateway.db')).uid, nobody.uid)
      const write = c.run(['node', '-e', `require('fs').writeFileSync(${JSON.stringify(join(root, 'app', 'x'))}, '')`])
      t.match(write.stderr, 'EACCES', 'the code folder is read-only to the runtime user')
    }
    t.equal(await stop(server), 0, 'SIGTERM is a clean stop')
  })

  t.test(
    'compose: the dev issuer creates the keys on first start; the adapter starts from the same image',
    async (t) => {
      const root = imageRoot(t)
      mountConfig(root, COMPOSE_CONFIG)
      const gatewayPort = await freePort()
      const c = container(root, gatewayPort)
      const server = c.start([...entrypoint, ...cmd])
      t.teardown(() => stop(server))
      t.equal((await healthy(c, server, 90_000)).code, 0)
      const token = c.run([...entrypoint, 'token', '--sub', 'ops.one', '--org', 'HLJ-OPS', '--roles', 'operator'])
      t.equal(token.code, 0, token.stderr)
      t.match(
        token.stdout,
        /^ey[\w-]+\.[\w-]+\.[\w-]+\n$/,
        '`docker compose exec gateway … token` reads the same config',
      )

      // The adapter service as compose defines it; its port and the gateway's name are the only changes.
      const service = compose.services['court-adapter']
      for (const mount of service.volumes as string[]) {
        const [source, target] = mount.split(':') as [string, string]
        mkdirSync(dirname(join(root, target)), { recursive: true })
        symlinkSync(join(PROJECT_ROOT, source), join(root, target))
      }
      const adapterPort = await freePort()
      const environment: Record<string, string> = { ...service.environment }
      const adapterEnv = {
        ...Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, v.startsWith('/') ? join(root, v) : v])),
        COURT_ADAPTER_PORT: String(adapterPort),
        COURT_ADAPTER_GATEWAY_JWKS: environment.COURT_ADAPTER_GATEWAY_JWKS!.replace(
          `//gateway:${composeConfig.server.port}/`,
          `//127.0.0.1:${gatewayPort}/`,
        ),
      }
      const adapter = c.start(service.entrypoint, adapterEnv)
      t.teardown(() => stop(adapter))
      const check = (service.healthcheck.test as string[])
        .slice(1)
        .map((arg) => arg.replace(`:${environment.COURT_ADAPTER_PORT}/`, `:${adapterPort}/`))
      t.equal((await healthy(c, adapter, 90_000, check)).code, 0, 'the adapter answers its health check')
      t.equal(await stop(server), 0)
    },
  )
})

const hadolint = spawnSync('hadolint', ['--version'], { encoding: 'utf8' })

t.test(
  'hadolint finds nothing in the Dockerfile',
  { skip: hadolint.error ? 'hadolint is not installed on this machine' : false },
  async (t) => {
    const lint = spawnSync('hadolint', [join(PROJECT_ROOT, 'Dockerfile')], { encoding: 'utf8' })
    t.equal(lint.status, 0, lint.stdout + lint.stderr)
  },
)
