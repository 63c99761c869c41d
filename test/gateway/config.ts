import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js'
import { PROJECT_ROOT } from '../../src/paths.js'

const minimal = {
  identity: { audience: 'a', issuers: [] },
  accessLog: { origin: 'o.example/log', signingKeyFile: 'log.pem' },
  adapters: { signingKeyFile: 'adapter.pem' },
}

t.test('the shipped configurations are valid', async (t) => {
  const local = loadConfig(join(PROJECT_ROOT, 'config', 'default.json'), {})
  t.equal(local.storage.kind, 'sqlite')
  t.equal(local.dev?.issuer, true)
  t.equal(
    local.directory,
    join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
    'paths resolve against the file',
  )
  const production = loadConfig(join(PROJECT_ROOT, 'config', 'production.example.json'), {})
  t.notOk(production.dev?.issuer, 'never a dev issuer in the production example')
  t.equal(production.adapters.allowHttp, false)
  const replicas = loadConfig(join(PROJECT_ROOT, 'config', 'production-replicas.example.json'), {})
  t.notOk(replicas.dev?.issuer, 'never a dev issuer in the multi-replica example')
  t.equal(replicas.storage.kind, 'postgres', 'replicas share one PostgreSQL database')
  t.match(replicas.redis, { url: /^rediss:\/\//, onUnavailable: 'refuse' }, 'and one Redis for the limits')
  t.ok(replicas.server.trustProxy.length > 0, 'behind the load balancer, whose addresses it trusts')
  t.equal(replicas.server.tls, undefined, 'which terminates TLS')
})

t.test('defaults fill what the file leaves out', async (t) => {
  const config = parseConfig(minimal, '/base')
  t.equal(config.server.port, 8080)
  t.equal(config.policy.grantDays, 90)
  t.equal(config.policy.jurisdiction, 'province')
  t.ok(config.policy.caseTypes.includes('民初') && config.policy.caseTypes.includes('执'))
  t.equal(config.adapters.breaker.failures, 5)
  t.equal(config.limits.organisationRequestsPerMinute, 6000, 'an organisation shares ten people’s budget')
  t.equal(config.accessLog.signingKeyFile, '/base/log.pem')
  t.equal(config.limits.authFailuresPerAddressPerMinute, 60)
  t.equal(config.metrics, undefined, 'no metrics listener unless configured')
  t.same(
    config.console.patterns,
    {
      manyCasesPerDay: 10,
      dailyQuota: 500,
      quotaWarningFraction: 0.8,
      workingHours: { start: 8, end: 18, weekdays: [1, 2, 3, 4, 5] },
      recentMainReadDays: 30,
      quickApprovalMinutes: 5,
      quickApprovalsPerPair: 2,
    },
    "the console's pattern thresholds, the daily quota the enforced one",
  )
  const quota = parseConfig(
    { ...minimal, limits: { documentsPerDay: 40 }, console: { patterns: { dailyQuota: 30 } } },
    '/base',
  )
  t.equal(quota.console.patterns.dailyQuota, 30, 'a configured threshold wins')
  t.equal(
    parseConfig({ ...minimal, limits: { documentsPerDay: 40 } }, '/base').console.patterns.dailyQuota,
    40,
    'else the enforced quota',
  )
  const issuer = { issuer: 'i', jwksUrl: 'https://i/jwks', algorithms: ['EdDSA'], orgKinds: ['court'] }
  const more = parseConfig(
    { ...minimal, identity: { audience: 'a', issuers: [issuer] }, metrics: { port: 9464 }, dev: { issuer: true } },
    '/base',
  )
  t.equal(more.identity.issuers[0]?.maxTokenLifetimeSeconds, 3600, 'tokens live an hour at most by default')
  t.equal(more.dev?.maxTokenLifetimeSeconds, 3600, 'the dev issuer too')
  t.same(more.metrics, { host: '127.0.0.1', port: 9464 }, 'metrics listen on loopback by default')
})

t.test('environment overrides port and database', async (t) => {
  const config = parseConfig(minimal, '/base', { GATEWAY_PORT: '9999', GATEWAY_DATABASE_URL: 'sqlite:data/gw.db' })
  t.equal(config.server.port, 9999)
  t.same(config.storage, { kind: 'sqlite', path: '/base/data/gw.db' })
  t.same(parseConfig(minimal, '/base', { GATEWAY_DATABASE_URL: '/var/lib/gw.db' }).storage, {
    kind: 'sqlite',
    path: '/var/lib/gw.db',
  })
  t.throws(() => parseConfig(minimal, '/base', { GATEWAY_PORT: 'eighty' }), /server\.port/)
})

t.test('the redis section is accepted, and the environment replaces only its address', async (t) => {
  const redis = {
    url: 'redis://cache:6379',
    keyPrefix: 'prov:',
    onUnavailable: 'allow-requests',
    commandTimeoutMs: 200,
  }
  const config = parseConfig({ ...minimal, redis }, '/base', { GATEWAY_REDIS_URL: 'rediss://other:6380' })
  t.same(config.redis, { ...redis, url: 'rediss://other:6380', connectTimeoutMs: 2000 })
  t.throws(() => parseConfig({ ...minimal, redis: { url: 'http://cache' } }, '/base'), /"redis\.url"/)
  t.throws(
    () => parseConfig({ ...minimal, redis: { url: 'redis://cache', onUnavailable: 'allow' } }, '/base'),
    /"redis\.onUnavailable"/,
  )
  t.throws(
    () => parseConfig({ ...minimal, redis: { url: 'redis://c', commandTimeoutMs: 0 } }, '/base'),
    /commandTimeoutMs/,
  )
})

t.test('storage on PostgreSQL: in the file or from GATEWAY_DATABASE_URL, which overrides the file', async (t) => {
  const inFile = parseConfig({ ...minimal, storage: { kind: 'postgres', url: 'postgres://u@h/db' } }, '/base')
  t.same(inFile.storage, { kind: 'postgres', url: 'postgres://u@h/db' })
  const fromEnv = parseConfig(minimal, '/base', { GATEWAY_DATABASE_URL: 'postgresql://u@h/db' })
  t.same(fromEnv.storage, { kind: 'postgres', url: 'postgresql://u@h/db' })
  const overridden = parseConfig({ ...minimal, storage: { kind: 'postgres', url: 'postgres://u@h/db' } }, '/base', {
    GATEWAY_DATABASE_URL: 'sqlite:/var/lib/gateway.db',
  })
  t.same(overridden.storage, { kind: 'sqlite', path: '/var/lib/gateway.db' })
  t.throws(
    () => parseConfig({ ...minimal, storage: { kind: 'postgres', url: 'mysql://u@h/db' } }, '/base'),
    { name: 'ConfigError', message: /"storage\.url"/ },
    'a URL of another database is refused',
  )
  t.throws(
    () => parseConfig({ ...minimal, storage: { kind: 'postgres', path: 'x.db' } }, '/base'),
    { name: 'ConfigError' },
    'postgres needs a url',
  )
})

t.test('a bad file names the key and the problem', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['unknown key', { ...minimal, extra: 1 }, /"extra": unknown key/],
    ['missing key', { ...minimal, accessLog: { origin: 'o' } }, /"accessLog\.signingKeyFile": is required/],
    ['wrong type', { ...minimal, server: { port: 'x' } }, /"server\.port": must be integer/],
    ['bad enum', { ...minimal, policy: { jurisdiction: 'nation' } }, /"policy\.jurisdiction"/],
    [
      'a weekday that is not one',
      { ...minimal, console: { patterns: { workingHours: { weekdays: [7] } } } },
      /"console\.patterns\.workingHours\.weekdays\.0": must be <= 6/,
    ],
    [
      'an unknown threshold',
      { ...minimal, console: { patterns: { manyCases: 3 } } },
      /"console\.patterns\.manyCases": unknown key/,
    ],
    [
      'bad algorithm',
      {
        ...minimal,
        identity: {
          audience: 'a',
          issuers: [{ issuer: 'i', jwksUrl: 'https://i/jwks', algorithms: ['HS256'], orgKinds: ['court'] }],
        },
      },
      /"identity\.issuers\.0\.algorithms\.0"/,
    ],
    [
      'bad network',
      { ...minimal, adapters: { signingKeyFile: 'k', allowedNetworks: ['10.0.0.0/99'] } },
      /allowedNetworks\.0/,
    ],
    [
      'token lifetime under a minute',
      {
        ...minimal,
        identity: {
          audience: 'a',
          issuers: [
            {
              issuer: 'i',
              jwksUrl: 'https://i/jwks',
              algorithms: ['EdDSA'],
              orgKinds: ['court'],
              maxTokenLifetimeSeconds: 10,
            },
          ],
        },
      },
      /"identity\.issuers\.0\.maxTokenLifetimeSeconds"/,
    ],
    [
      'dev token lifetime over a day',
      { ...minimal, dev: { maxTokenLifetimeSeconds: 90_000 } },
      /dev\.maxTokenLifetime/,
    ],
    ['metrics on the API port', { ...minimal, server: { port: 8080 }, metrics: { port: 8080 } }, /"metrics\.port"/],
    ['metrics without a port', { ...minimal, metrics: { host: '0.0.0.0' } }, /"metrics\.port": is required/],
    ['no address limit', { ...minimal, limits: { authFailuresPerAddressPerMinute: 0 } }, /authFailuresPerAddress/],
    ['grant days over the maximum', { ...minimal, policy: { grantDays: 120, maxGrantDays: 100 } }, /policy\.grantDays/],
  ]
  for (const [name, raw, message] of cases) {
    t.throws(() => parseConfig(raw, '/base'), { name: 'ConfigError', message }, name)
  }
  const dir = t.testdir()
  writeFileSync(join(dir, 'broken.json'), '{ "server": ')
  t.throws(() => loadConfig(join(dir, 'broken.json'), {}), ConfigError)
  t.throws(() => loadConfig(join(dir, 'missing.json'), {}), /cannot read config file/)
})

t.test('console sign-in per issuer: its defaults, and the addresses it refuses', async (t) => {
  const withSignIn = (issuer: string, consoleSignIn: Record<string, unknown>) => ({
    ...minimal,
    identity: {
      audience: 'a',
      issuers: [
        { issuer, jwksUrl: 'https://keys.example/jwks', algorithms: ['ES256'], orgKinds: ['audit'], consoleSignIn },
      ],
    },
  })
  const plain = parseConfig(withSignIn('https://sso.example/realms/hlj/', { clientId: 'console' }), '/base')
  t.same(
    plain.identity.issuers[0]!.consoleSignIn,
    {
      clientId: 'console',
      scopes: ['openid'],
      discoveryUrl: 'https://sso.example/realms/hlj/.well-known/openid-configuration',
    },
    'discovered at the issuer, asking for openid',
  )
  const told = parseConfig(
    withSignIn('https://sso.example', {
      clientId: 'console',
      scopes: ['openid', 'audit'],
      discoveryUrl: 'https://login.example/sso/.well-known/openid-configuration',
      resource: 'urn:court-file-gateway',
    }),
    '/base',
  )
  t.equal(
    told.identity.issuers[0]!.consoleSignIn!.discoveryUrl,
    'https://login.example/sso/.well-known/openid-configuration',
  )
  t.equal(
    parseConfig(withSignIn('http://127.0.0.1:9000', { clientId: 'c' }), '/base').identity.issuers[0]!.consoleSignIn!
      .discoveryUrl,
    'http://127.0.0.1:9000/.well-known/openid-configuration',
    'plain http on loopback, for trials and tests',
  )
  const refused: Array<[string, unknown, RegExp]> = [
    [
      'no client id',
      withSignIn('https://sso.example', {}),
      /"identity\.issuers\.0\.consoleSignIn\.clientId": is required/,
    ],
    [
      'a scope with a space',
      withSignIn('https://sso.example', { clientId: 'c', scopes: ['openid audit'] }),
      /consoleSignIn\.scopes\.0/,
    ],
    [
      'plain http elsewhere',
      withSignIn('http://sso.example', { clientId: 'c' }),
      /"identity\.issuers\.0\.issuer": console sign-in over plain http is only for an issuer on loopback/,
    ],
    [
      'an issuer that is no URL',
      withSignIn('hlj-sso', { clientId: 'c' }),
      /"identity\.issuers\.0\.issuer": console sign-in needs an https URL/,
    ],
    [
      'a discovery URL over plain http',
      withSignIn('https://sso.example', { clientId: 'c', discoveryUrl: 'http://sso.example/.well-known/x' }),
      /"identity\.issuers\.0\.consoleSignIn\.discoveryUrl": console sign-in over plain http/,
    ],
    [
      'a resource that is no URI',
      withSignIn('https://sso.example', { clientId: 'c', resource: 'gateway' }),
      /resource/,
    ],
  ]
  for (const [name, raw, message] of refused) {
    t.throws(() => parseConfig(raw, '/base'), { name: 'ConfigError', message }, name)
  }
})
