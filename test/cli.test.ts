import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import t from 'tap'
import { formatCheckpoint } from '../src/accesslog/checkpoint.js'
import { leafHash } from '../src/accesslog/merkle/hash.js'
import { consistencyProof, Frontier } from '../src/accesslog/merkle/tree.js'
import { ed25519PublicKey, loadEd25519PrivateKey, signNote, verifierKey } from '../src/accesslog/note.js'
import { PROJECT_ROOT } from '../src/paths.js'
// The binary (dist/src/cli.js) where its own wiring matters: exit statuses, output streams, no stack traces;
// the commands in-process (the same code, without a process start) where only what they do matters.
import { cli, cliInProcess } from './helpers/children.js'
// The gateway's start as an operator sees it (test/cli/startup.ts) and the build's artifacts it starts from
// (test/cli/build-artifacts.ts) run in this process too: a test file costs about half a CPU-second of process
// start and tap bookkeeping in the suite (issue 9).
import './cli/startup.js'
import './cli/build-artifacts.js'

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
  const unknown = join(t.testdirName, 'unknown-key.json')
  writeFileSync(
    unknown,
    JSON.stringify({
      identity: { audience: 'a', issuers: [] },
      accessLog: { origin: 'o', signingKeyFile: 'k' },
      adapters: { signingKeyFile: 'k' },
      rateLimits: { perMinute: 10 },
    }),
  )
  const [result, unknownKey] = await Promise.all([
    cli(['serve', '--config', config]),
    cli(['serve', '--config', unknown]),
  ])
  t.equal(unknownKey.code, 2, 'a setting the gateway does not know stops the start, never ignored')
  t.match(unknownKey.stderr, /rateLimits/)
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

t.test('vkey prints the verifier key; verify --consistency checks two checkpoints', async (t) => {
  const dir = t.testdir()
  const keyFile = join(dir, 'log.pem')
  t.equal((await cliInProcess(['keygen', '--out', keyFile])).code, 0)
  const origin = 'cli.test/log'
  const printed = await cliInProcess(['vkey', '--key', keyFile, '--name', origin])
  t.equal(printed.code, 0, printed.stderr)
  const privateKey = loadEd25519PrivateKey(readFileSync(keyFile, 'utf8'))
  t.equal(printed.stdout, `${verifierKey(origin, ed25519PublicKey(privateKey))}\n`)
  t.equal((await cliInProcess(['vkey'])).code, 2)
  t.match(
    (await cliInProcess(['vkey', '--key', join(dir, 'missing.pem'), '--name', origin])).stderr,
    /cannot read the signing key/,
  )
  writeFileSync(join(dir, 'not.pem'), 'hello')
  t.match(
    (await cliInProcess(['vkey', '--key', join(dir, 'not.pem'), '--name', origin])).stderr,
    /not a PEM private key/,
  )

  // A small log: checkpoints at sizes 3 and 9, and the proof between them.
  const frontier = new Frontier()
  const nodes = new Map<string, Buffer>()
  const roots: Buffer[] = [frontier.root()]
  for (let i = 0; i < 9; i++) {
    for (const node of frontier.append(leafHash(Buffer.from(`entry ${i}`))))
      nodes.set(`${node.level}/${node.index}`, node.hash)
    roots.push(frontier.root())
  }
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text)
    return join(dir, name)
  }
  const checkpoint = (size: number) =>
    signNote(formatCheckpoint({ origin, size, rootHash: roots[size]! }), origin, privateKey)
  const key = write('vkey.txt', printed.stdout)
  const older = write('old.txt', checkpoint(3))
  const newer = write('new.txt', checkpoint(9))
  const proof = consistencyProof(3, 9, (level, index) => nodes.get(`${level}/${index}`)!)
  const proofFile = write(
    'proof.json',
    JSON.stringify({ from: 3, to: 9, proof: proof.map((h) => h.toString('base64')) }),
  )
  const ok = await cliInProcess(['verify', '--key', key, '--consistency', older, newer, '--proof', proofFile])
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, `OK: the checkpoint of ${origin} at size 9 extends the one at size 3\n`)
  const swapped = await cliInProcess(['verify', '--key', key, '--consistency', newer, older, '--proof', proofFile])
  t.equal(swapped.code, 1)
  t.match(swapped.stderr, /FAILED: the new checkpoint \(size 3\) is smaller than the old one \(size 9\)/)
  t.equal(
    (await cliInProcess(['verify', '--key', key, '--consistency', older, '--proof', proofFile])).code,
    2,
    'NEW is missing',
  )
  t.equal((await cliInProcess(['keygen', '--out', join(dir, 'x.pem'), 'stray'])).code, 2, 'a stray argument is refused')
})
