import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import t from 'tap'
import { PROJECT_ROOT } from '../src/paths.js'
// The binary (dist/src/cli.js) where its own wiring matters: exit statuses, output streams, no stack traces;
// the commands in-process (the same code, without a process start) where only what they do matters.
import { cli, cliInProcess } from './helpers/children.js'

const STACK = /\n\s+at /
const PRODUCTION_EXAMPLE = join(PROJECT_ROOT, 'config', 'production.example.json')

t.test('keygen writes a new Ed25519 key and never overwrites one', async (t) => {
  const out = join(t.testdir(), 'keys', 'log.pem')
  const first = await cli(['keygen', '--out', out])
  t.equal(first.code, 0, first.stderr)
  t.match(readFileSync(out, 'utf8'), /BEGIN PRIVATE KEY/)
  const again = await cli(['keygen', '--out', out])
  t.equal(again.code, 1)
  t.match(again.stderr, /refusing to overwrite/)
  t.notMatch(again.stderr, STACK, 'no stack trace')
})

t.test('token mints a dev-issuer token with the claims asked for', async (t) => {
  const dir = t.testdir()
  const config = join(dir, 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      identity: { audience: 'court-file-gateway', issuers: [] },
      accessLog: { origin: 'o.example/log', signingKeyFile: 'log.pem' },
      adapters: { signingKeyFile: 'adapter.pem' },
      dev: { issuer: true, keyFile: 'dev.pem' },
    }),
  )
  const [result, badRole, production] = await Promise.all([
    cliInProcess([
      'token',
      '--sub',
      'zhang.wei',
      '--org',
      '230100',
      '--roles',
      'prosecutor,approver',
      '--config',
      config,
    ]),
    cliInProcess(['token', '--sub', 'a', '--org', '230100', '--roles', 'emperor', '--config', config]),
    cliInProcess(['token', '--sub', 'a', '--org', '230100', '--roles', 'prosecutor', '--config', PRODUCTION_EXAMPLE]),
  ])
  t.equal(result.code, 0, result.stderr)
  const claims = decodeJwt(result.stdout.trim())
  t.equal(claims.sub, 'zhang.wei')
  t.equal(claims.org, '230100')
  t.same(claims.roles, ['prosecutor', 'approver'])
  t.equal(claims.aud, 'court-file-gateway')
  t.equal(claims.iss, 'urn:court-file-gateway:dev')

  t.equal(badRole.code, 2)
  t.match(badRole.stderr, /unknown role/)
  t.equal(production.code, 2)
  t.match(production.stderr, /dev\.issuer/)
})

t.test('serve refuses a bad configuration with a message naming the key', async (t) => {
  const config = join(t.testdir(), 'bad.json')
  writeFileSync(
    config,
    JSON.stringify({
      identity: { audience: 'a', issuers: [] },
      accessLog: { origin: 'o' },
      adapters: { signingKeyFile: 'k' },
      server: { port: 'x' },
    }),
  )
  const result = await cli(['serve', '--config', config])
  t.equal(result.code, 2)
  t.match(result.stderr, /"server\.port": must be integer/)
  t.match(result.stderr, /"accessLog\.signingKeyFile": is required/)
  t.notMatch(result.stderr, STACK, 'no stack trace')
})

t.test('usage errors', async (t) => {
  const [none, unknown, keygen, badFlag, verify] = await Promise.all([
    cli([]),
    cliInProcess(['frobnicate']),
    cliInProcess(['keygen']),
    cli(['serve', '--no-such-flag']),
    cliInProcess(['verify', '--key', '/nonexistent/key']),
  ])
  t.equal(none.code, 2)
  t.match(none.stdout, /^court-file-gateway — /, 'the usage')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /unknown command frobnicate/)
  t.equal(keygen.code, 2)
  t.match(keygen.stderr, /keygen needs --out FILE/)
  t.equal(badFlag.code, 2)
  t.match(badFlag.stderr, /--no-such-flag/)
  t.equal(verify.code, 2)
  t.match(verify.stderr, /cannot read the key file \/nonexistent\/key: ENOENT/)
})
