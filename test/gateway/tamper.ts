import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import canonicalize from 'canonicalize'
import t from 'tap'
import { openCheckpoint } from '../../src/accesslog/checkpoint.js'
import type { Entry, EntryInput } from '../../src/accesslog/entry.js'
import { checkLogDatabase, openLogDatabase } from '../../src/accesslog/fsck.js'
import { leafHash } from '../../src/accesslog/merkle/hash.js'
import { verifyInclusion } from '../../src/accesslog/merkle/tree.js'
import { parseVerifierKey } from '../../src/accesslog/note.js'
import { verifyExport, verifyReceipt } from '../../src/accesslog/verify.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { createGateway } from '../../src/server.js'
import { cliInProcess, cli as runCli } from '../helpers/children.js'
import { type Harness, startGateway, testConfig, tokenOf } from '../helpers/harness.js'
import { waitFor } from '../helpers/wait.js'

/** `court-file-gateway verify …` as a person runs it, in this process (test/cli.test.ts runs the binary). */
const verify = (...args: string[]) => cliInProcess(['verify', ...args])

/** What the helpers need of a test (the shape harness.ts asks for). */
type Tap = { testdir(): string; teardown(fn: () => unknown): void }

const FILES = ['gateway.db', 'gateway.db-wal', 'log.pem', 'adapter.pem', 'dev.pem']
const STACK = /\n\s+at /

function readingOf(n: number): EntryInput {
  return {
    actor: { sub: `reader.${n % 5}`, org: '230100', roles: ['prosecutor'], issuer: 'urn:court-file-gateway:dev' },
    action: 'document.read',
    resource: {
      court: n % 3 === 0 ? '黑0103' : '黑01',
      caseNo: '（2023）黑01民终1234号',
      grant: `g-${n % 4}`,
      document: `doc-${n}`,
    },
    purpose: { supervisionCase: 'S-1' },
    phase: 'intent',
    decision: 'allow',
  }
}

/**
 * A log written by a real gateway: auditor queries through the API, then bursts of reads (intent and outcome)
 * with pauses, so that several checkpoints are signed; closing signs the last one, at the full size.
 */
async function populate(t: Tap) {
  const dir = t.testdir()
  const h = await startGateway(t, {}, dir)
  for (let i = 0; i < 20; i++) await h.call('GET', '/v1/audit/entries?limit=5', { token: tokenOf(h, 'auditor') })
  const keyText = (await h.call('GET', '/v1/audit/key', { token: tokenOf(h, 'auditor') })).text
  for (let burst = 0; burst < 3; burst++) {
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const n = burst * 100 + i
        const intent = await h.gateway.log.append(readingOf(n))
        await h.gateway.log.append({
          ...readingOf(n),
          phase: 'outcome',
          intent,
          outcome: { result: 'completed', status: 200, bytes: n },
        })
      }),
    )
    // Each burst ends under its own signed checkpoint, however slow the machine.
    const size = h.gateway.log.size()
    await waitFor(() => (h.gateway.log.latestCheckpoint().size === size ? true : undefined), {
      what: `a checkpoint of size ${size}`,
    })
  }
  await h.gateway.close()
  const db = new Database(join(dir, 'gateway.db'), { readonly: true })
  const size = (db.prepare('SELECT COUNT(*) FROM log_entries').pluck().get() as number) ?? 0
  const checkpoints = db.prepare('SELECT size FROM log_checkpoints ORDER BY size').pluck().all() as number[]
  db.close()
  return { dir, size, checkpoints, keyText }
}

/**
 * A copy of the gateway's folder (database and keys), changed by `tamper` with direct SQL. Each copy gets its
 * own folder under the test's: calling t.testdir() again would hand back (and empty) the same one.
 */
function copyOf(t: Tap, from: string, tamper?: (db: Database.Database) => void): string {
  const base = testdirs.get(t) ?? t.testdir()
  testdirs.set(t, base)
  const dir = mkdtempSync(join(base, 'copy-'))
  for (const file of FILES) if (existsSync(join(from, file))) copyFileSync(join(from, file), join(dir, file))
  if (tamper) {
    const db = new Database(join(dir, 'gateway.db'))
    tamper(db)
    db.close()
  }
  return dir
}

const testdirs = new WeakMap<Tap, string>()

/** Files an auditor would download: key, checkpoint, export up to it. */
async function download(h: Harness, dir: string) {
  const auditor = tokenOf(h, 'auditor')
  const key = (await h.call('GET', '/v1/audit/key', { token: auditor })).text
  const checkpoint = (await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text
  const size = Number(checkpoint.split('\n')[1])
  const exported = (await h.call('GET', `/v1/audit/export?to=${size}`, { token: auditor })).bytes
  const files = {
    key: join(dir, 'key.txt'),
    checkpoint: join(dir, 'checkpoint.txt'),
    export: join(dir, 'export.ndjson'),
  }
  writeFileSync(files.key, key)
  writeFileSync(files.checkpoint, checkpoint)
  writeFileSync(files.export, exported)
  return { key, checkpoint, size, exported, files }
}

function check(dir: string, keyText?: string) {
  const db = openLogDatabase(join(dir, 'gateway.db'))
  try {
    return checkLogDatabase(db, keyText)
  } finally {
    db.close()
  }
}

t.test('tampering with the stored log', async (t) => {
  const log = await populate(t)
  const { dir: original, size, checkpoints, keyText } = log
  t.ok(size > 300, `${size} entries`)
  t.ok(checkpoints.length >= 3, `${checkpoints.length} checkpoints`)
  t.equal(checkpoints.at(-1), size, 'closing signed a checkpoint of the full log')

  t.test('an intact log checks clean, with and without the key', async (t) => {
    t.same(check(original, keyText), {
      ok: true,
      size,
      nodes: check(original).nodes,
      checkpoints: checkpoints.length,
      signatures: true,
      problems: [],
      truncated: false,
    })
    t.match(check(original), { ok: true, signatures: false, problems: [] })
    const nodes = check(original).nodes
    t.ok(nodes >= 2 * size - 10 && nodes < 2 * size, `${nodes} complete subtree nodes for ${size} leaves`)
  })

  t.test('the triggers refuse ordinary UPDATE and DELETE on every log table', async (t) => {
    const dir = copyOf(t, original)
    const db = new Database(join(dir, 'gateway.db'))
    const statements = [
      "UPDATE log_entries SET leaf = X'00' WHERE idx = 5",
      "UPDATE log_entries SET court = '黑02' WHERE idx = 5",
      'DELETE FROM log_entries WHERE idx = 5',
      'DELETE FROM log_entries',
      "UPDATE log_nodes SET hash = X'00' WHERE level = 0 AND last_leaf = 5",
      'DELETE FROM log_nodes WHERE level = 1',
      "UPDATE log_checkpoints SET text = 'x'",
      `UPDATE log_checkpoints SET root = X'${'00'.repeat(32)}' WHERE size = ${size}`,
      'DELETE FROM log_checkpoints',
      "UPDATE log_filters SET actor = 'someone' WHERE idx = 5",
      'DELETE FROM log_filters WHERE idx = 5',
      `INSERT INTO log_entries (idx, leaf, leaf_hash, time, action, decision, phase) VALUES (5, X'7b7d', X'00', 't', 'a', 'allow', 'event') ON CONFLICT (idx) DO UPDATE SET leaf = excluded.leaf`,
    ]
    for (const sql of statements) t.throws(() => db.exec(sql), /append-only/, sql.slice(0, 60))
    db.close()
    t.match(check(dir, keyText), { ok: true, size, problems: [] }, 'nothing changed')

    // REPLACE deletes the old row without firing DELETE triggers (SQLite's default, recursive_triggers off),
    // so the UPDATE and DELETE triggers alone let it rewrite history: schema version 2 refuses any insert
    // whose key exists, whatever its conflict clause.
    const db2 = new Database(join(dir, 'gateway.db'))
    const replacements = [
      `INSERT OR REPLACE INTO log_entries (idx, leaf, leaf_hash, time, action, decision, phase)
         SELECT idx, CAST('{"v":1}' AS BLOB), leaf_hash, time, action, decision, phase FROM log_entries WHERE idx = 7`,
      `REPLACE INTO log_entries (idx, leaf, leaf_hash, time, action, decision, phase)
         VALUES (8, X'7b7d', X'00', 't', 'a', 'allow', 'event')`,
      `INSERT OR REPLACE INTO log_nodes (level, last_leaf, hash) VALUES (0, 7, X'${'00'.repeat(32)}')`,
      `REPLACE INTO log_nodes (level, last_leaf, hash) VALUES (1, 1, X'${'00'.repeat(32)}')`,
      `INSERT OR REPLACE INTO log_checkpoints (size, root, text, signed_at)
         SELECT size, root, 'forged', signed_at FROM log_checkpoints WHERE size = ${size}`,
      // OR IGNORE would not change a row, but the trigger refuses it before any conflict clause applies.
      `INSERT OR IGNORE INTO log_nodes (level, last_leaf, hash) VALUES (0, 7, X'${'00'.repeat(32)}')`,
    ]
    for (const sql of replacements) t.throws(() => db2.exec(sql), /append-only/, sql.replace(/\s+/g, ' ').slice(0, 60))
    t.equal(db2.pragma('user_version', { simple: true }), 4, 'schema version 4 (tree nodes keyed by their last leaf)')
    db2.close()
    t.match(check(dir, keyText), { ok: true, size, problems: [] }, 'nothing changed')
  })

  t.test('(a) an altered entry is named by the database check, the export check and its receipt', async (t) => {
    const k = Math.floor(size / 2)
    const dir = copyOf(t, original, (db) => {
      db.exec('DROP TRIGGER log_entries_no_update')
      const leaf = db.prepare('SELECT leaf FROM log_entries WHERE idx = ?').pluck().get(k) as Buffer
      const entry = JSON.parse(leaf.toString('utf8')) as Entry
      entry.actor = { ...entry.actor!, sub: 'someone.else' }
      db.prepare('UPDATE log_entries SET leaf = ? WHERE idx = ?').run(Buffer.from(canonicalize(entry)!, 'utf8'), k)
    })
    const result = check(dir, keyText)
    t.equal(result.ok, false)
    t.match(result.problems, [{ kind: 'leaf', index: k, message: new RegExp(`^entry ${k}: its bytes were altered`) }])
    t.equal(result.problems.length, 1, 'only that entry is named (its filter columns are in the same problem)')
    t.match(result.problems[0]!.message, /filter columns \(actor\)/)

    // The gateway still starts (its tree is intact), but what it serves no longer verifies.
    const h = await startGateway(t, {}, dir)
    const files = await download(h, dir)
    const verdict = verifyExport({ exportText: files.exported, checkpointText: files.checkpoint, keyText: files.key })
    t.match(verdict, { ok: false }, 'the export does not verify')
    // Entry k's own prev is intact; the prev of entry k + 1 no longer matches it, which names entry k.
    t.match(verdict, { ok: false, index: k }, `and names entry ${k}`)
    const entry = await h.call('GET', `/v1/audit/entries/${k}`, { token: tokenOf(h, 'auditor') })
    t.equal(entry.json.entry.actor.sub, 'someone.else')
    const receipt = await h.call('GET', `/v1/audit/entries/${k}/receipt`, { token: tokenOf(h, 'auditor') })
    t.match(
      verifyReceipt({
        receiptText: receipt.text,
        entryBytes: Buffer.from(entry.json.leaf, 'base64'),
        keyText: files.key,
      }),
      { ok: false, index: k },
      'its receipt does not verify',
    )
    await h.gateway.close()

    const [db, exported] = await Promise.all([
      verify('--db', join(dir, 'gateway.db'), '--key', files.files.key),
      verify('--key', files.files.key, '--checkpoint', files.files.checkpoint, '--export', files.files.export),
    ])
    t.equal(db.code, 1, 'verify --db fails')
    t.match(db.stderr, new RegExp(`entry ${k}: its bytes were altered`))
    t.match(db.stderr, new RegExp(`first bad index: ${k}\\n`))
    t.equal(exported.code, 1, 'verify --export fails')
    t.match(exported.stderr, new RegExp(`first bad index: ${k}\\n`))
  })

  t.test(
    '(b) an altered subtree hash: on the right edge the gateway refuses to start; anywhere, the check names it',
    async (t) => {
      // The highest set bit of the size gives the leftmost node of the root's right edge.
      const level = Math.floor(Math.log2(size))
      const edge = copyOf(t, original, (db) => {
        db.exec('DROP TRIGGER log_nodes_no_update')
        db.prepare('UPDATE log_nodes SET hash = ? WHERE level = ? AND last_leaf = ?').run(
          randomBytes(32),
          level,
          2 ** level - 1,
        )
      })
      await t.rejects(
        createGateway(testConfig(edge)),
        new RegExp(`does not match the signed checkpoint of size ${size}`),
      )
      const result = check(edge, keyText)
      t.match(result.problems, [
        { kind: 'node', level, index: 0, message: new RegExp(`^tree node level ${level} index 0 `) },
      ])
      t.equal(result.problems.length, 1, 'the check names the node, once')
      const serve = join(edge, 'config.json')
      writeFileSync(
        serve,
        JSON.stringify({
          storage: { kind: 'sqlite', path: join(edge, 'gateway.db') },
          server: { port: 0 },
          identity: { audience: 'court-file-gateway', issuers: [] },
          directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
          accessLog: { origin: 'test.gateway/log', signingKeyFile: join(edge, 'log.pem'), checkpointIntervalMs: 50 },
          adapters: { allowHttp: true, signingKeyFile: join(edge, 'adapter.pem') },
          dev: { issuer: true, keyFile: join(edge, 'dev.pem') },
        }),
      )
      const [started, checked] = await Promise.all([
        runCli(['serve', '--config', serve]),
        verify('--db', join(edge, 'gateway.db')),
      ])
      t.equal(started.code, 1, '`serve` exits')
      t.match(started.stderr, /stored tree does not match the signed checkpoint/)
      t.notMatch(started.stderr, STACK)
      t.equal(checked.code, 1)
      t.match(
        checked.stderr,
        new RegExp(`tree node level ${level} index 0 \\(entries 0–${2 ** level - 1}\\) was altered`),
      )

      // Inside the tree, the gateway starts, and proofs through the node stop verifying.
      const inner = copyOf(t, original, (db) => {
        db.exec('DROP TRIGGER log_nodes_no_update')
        db.prepare('UPDATE log_nodes SET hash = ? WHERE level = 2 AND last_leaf = 7').run(randomBytes(32))
      })
      t.match(check(inner, keyText).problems, [
        { kind: 'node', level: 2, index: 1, message: /entries 4–7\) was altered/ },
      ])
      t.equal(check(inner).problems.length, 1)
      const h = await startGateway(t, {}, inner)
      const auditor = tokenOf(h, 'auditor')
      const key = parseVerifierKey((await h.call('GET', '/v1/audit/key', { token: auditor })).text.trim())
      const cp = openCheckpoint((await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text, [key])
      const proves = async (index: number) => {
        const leaf = Buffer.from(
          (await h.call('GET', `/v1/audit/entries/${index}`, { token: auditor })).json.leaf,
          'base64',
        )
        const proof = await h.call('GET', `/v1/audit/proofs/inclusion?index=${index}&size=${cp.size}`, {
          token: auditor,
        })
        return verifyInclusion(
          leafHash(leaf),
          index,
          cp.size,
          proof.json.proof.map((p: string) => Buffer.from(p, 'base64')),
          cp.rootHash,
        )
      }
      t.notOk(await proves(0), 'entry 0’s proof passes through the node and fails')
      t.ok(await proves(size - 1), 'a proof that does not use it still verifies')
    },
  )

  t.test('a row of the index changed, deleted or forged is named by its entry', async (t) => {
    const indexed = (() => {
      const db = new Database(join(original, 'gateway.db'), { readonly: true })
      try {
        return db.prepare('SELECT COUNT(*) FROM log_filters').pluck().get() as number
      } finally {
        db.close()
      }
    })()
    t.ok(indexed > 20 && indexed <= size, `${indexed} of ${size} entries in the index`)
    const dir = copyOf(t, original, (db) => {
      db.exec('DROP TRIGGER log_filters_no_update')
      db.exec('DROP TRIGGER log_filters_no_delete')
      db.exec("UPDATE log_filters SET actor = 'someone else' WHERE idx = 10")
      db.exec('DELETE FROM log_filters WHERE idx = 20')
      // A forged outcome past the end of the log would hide an open intent from the sweep.
      db.exec(`INSERT INTO log_filters (idx, phase, intent_ref) VALUES (${size + 3}, 'outcome', 11)`)
    })
    const result = check(dir, keyText)
    t.equal(result.ok, false)
    t.same(
      result.problems.map((p) => (p.kind === 'leaf' ? p.index : -1)),
      [10, 20, size + 3],
      'the three rows, nothing else',
    )
    t.match(result.problems[2], { message: new RegExp(`has a row for it, but the log holds ${size} entries`) })
    t.match(result.problems[0], {
      message: /entry 10: its row in the index \(log_filters\) is missing or disagrees/,
    })
  })

  t.test('(c) an altered checkpoint is named by its size', async (t) => {
    const fake = randomBytes(32).toString('base64')
    const textChanged = copyOf(t, original, (db) => {
      db.exec('DROP TRIGGER log_checkpoints_no_update')
      const text = db.prepare('SELECT text FROM log_checkpoints WHERE size = ?').pluck().get(size) as string
      const lines = text.split('\n')
      lines[2] = fake
      db.prepare('UPDATE log_checkpoints SET text = ? WHERE size = ?').run(lines.join('\n'), size)
    })
    t.match(check(textChanged, keyText).problems, [
      { kind: 'checkpoint', size, message: new RegExp(`^checkpoint of size ${size}: its signed text does not verify`) },
    ])
    t.match(
      check(textChanged).problems,
      [{ kind: 'checkpoint', size, message: /signed text has a different root hash/ }],
      'even without the key',
    )
    // The gateway serves the altered note (its tree still matches the stored root); no one can verify it.
    // No new checkpoint while the files are downloaded (the auditor's own requests grow the log): the one served
    // must be the altered one, however slowly the requests go.
    const h = await startGateway(
      t,
      {
        accessLog: {
          origin: 'test.gateway/log',
          signingKeyFile: join(textChanged, 'log.pem'),
          checkpointIntervalMs: 3_600_000,
        },
      },
      textChanged,
    )
    const files = await download(h, textChanged)
    t.ok(files.checkpoint.includes(fake))
    t.match(verifyExport({ exportText: files.exported, checkpointText: files.checkpoint, keyText: files.key }), {
      ok: false,
      message: /the checkpoint does not verify with key test\.gateway\/log: the signature by .* does not verify/,
    })
    await h.gateway.close()

    const older = checkpoints[1]!
    const rootChanged = copyOf(t, original, (db) => {
      db.exec('DROP TRIGGER log_checkpoints_no_update')
      db.prepare('UPDATE log_checkpoints SET root = ? WHERE size = ?').run(randomBytes(32), older)
    })
    t.match(check(rootChanged, keyText).problems, [
      {
        kind: 'checkpoint',
        size: older,
        message:
          /signed text has a different root hash than the one stored with it; its root hash is not the root of the first/,
      },
    ])
    const latestChanged = copyOf(t, original, (db) => {
      db.exec('DROP TRIGGER log_checkpoints_no_update')
      db.prepare('UPDATE log_checkpoints SET root = ? WHERE size = ?').run(randomBytes(32), size)
    })
    await t.rejects(
      createGateway(testConfig(latestChanged)),
      /does not match the signed checkpoint/,
      'a wrong latest root stops the gateway',
    )
    const byCli = await verify('--db', join(rootChanged, 'gateway.db'))
    t.equal(byCli.code, 1)
    t.match(byCli.stderr, new RegExp(`checkpoint of size ${older}:`))
  })

  t.test('verify on the command line: exit 0 when intact, a clear message otherwise', async (t) => {
    const dir = copyOf(t, original)
    const h = await startGateway(t, {}, dir)
    const files = await download(h, dir)
    const index = 3
    const leaf = Buffer.from(
      (await h.call('GET', `/v1/audit/entries/${index}`, { token: tokenOf(h, 'auditor') })).json.leaf,
      'base64',
    )
    const receipt = (await h.call('GET', `/v1/audit/entries/${index}/receipt`, { token: tokenOf(h, 'auditor') })).text
    await h.gateway.close()
    const file = (name: string, content: string | Buffer) => {
      writeFileSync(join(dir, name), content)
      return join(dir, name)
    }
    const entry = file('entry.json', leaf)
    const goodReceipt = file('receipt.txt', receipt)
    const badKey = file('bad-key.txt', 'test.gateway/log+0000+AAAA\n')
    const badCheckpoint = file('bad-checkpoint.txt', 'this is not a checkpoint\n')
    const badReceipt = file('bad-receipt.txt', 'c2sp.org/tlog-proof@v1\nindex twelve\n')
    const notDb = file('not-a.db', 'x'.repeat(4096))
    const emptyDb = join(dir, 'empty.db')
    new Database(emptyDb).close()
    const missing = join(dir, 'missing.txt')
    const { key, checkpoint, export: exported } = files.files
    const db = join(dir, 'gateway.db')

    const cases: Array<[string, string[], number, RegExp]> = [
      [
        'intact database',
        ['--db', db],
        0,
        /^OK: the access log in .* is intact: \d+ entries, \d+ tree nodes, \d+ checkpoints \(signatures not checked/,
      ],
      ['intact database, with key', ['--db', db, '--key', key], 0, /^OK: .* \(signatures verified\)/],
      [
        'export',
        ['--key', key, '--checkpoint', checkpoint, '--export', exported],
        0,
        /^OK: \d+ entries verified against the checkpoint of test\.gateway\/log/,
      ],
      [
        'receipt',
        ['--key', key, '--receipt', goodReceipt, '--entry', entry],
        0,
        new RegExp(`^OK: entry ${index} verified`),
      ],
      [
        'malformed key',
        ['--key', badKey, '--checkpoint', checkpoint, '--export', exported],
        1,
        /FAILED: the key file is not a usable verifier key/,
      ],
      ['malformed key for --db', ['--db', db, '--key', badKey], 1, /the key file is not a usable verifier key/],
      [
        'malformed checkpoint',
        ['--key', key, '--checkpoint', badCheckpoint, '--export', exported],
        1,
        /FAILED: the checkpoint does not verify .*malformed note/,
      ],
      [
        'malformed receipt',
        ['--key', key, '--receipt', badReceipt, '--entry', entry],
        1,
        /FAILED: the receipt cannot be read: malformed receipt/,
      ],
      [
        'receipt with another entry',
        ['--key', key, '--receipt', goodReceipt, '--entry', checkpoint],
        1,
        new RegExp(`FAILED: entry ${index} does not verify`),
      ],
      [
        'missing key file',
        ['--key', missing, '--checkpoint', checkpoint, '--export', exported],
        2,
        /cannot read the key file .*missing\.txt: ENOENT/,
      ],
      [
        'missing export file',
        ['--key', key, '--checkpoint', checkpoint, '--export', missing],
        2,
        /cannot read the export file .*: ENOENT/,
      ],
      [
        'missing receipt file',
        ['--key', key, '--receipt', missing, '--entry', entry],
        2,
        /cannot read the receipt file/,
      ],
      ['missing database', ['--db', missing], 1, /cannot open the database file .*missing\.txt/],
      ['not a database', ['--db', notDb], 1, /not-a\.db is not a gateway database: file is not a database/],
      ['a database without the log', ['--db', emptyDb], 1, /is not a gateway database: it has no access-log tables/],
      [
        'nothing to check',
        ['--key', key],
        2,
        /verify needs either --checkpoint and --export, or --receipt and --entry/,
      ],
    ]
    for (const [name, args, code, message] of cases) {
      const run = await verify(...args)
      t.equal(run.code, code, `${name}: exit ${code}`)
      t.match(code === 0 ? run.stdout : run.stderr, message, `${name}: says what happened`)
      t.notMatch(run.stderr, STACK, `${name}: no stack trace`)
    }
  })
})
