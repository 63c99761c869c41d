/**
 * The commands of `court-file-gateway` (src/cli.ts is the executable): each returns its exit status and writes
 * through `io`, so tests run them in-process as well as through the built binary.
 */
import { readFileSync } from 'node:fs'
import { enableCompileCache } from 'node:module'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkLogDatabase, describeCheck, openLogDatabase } from './accesslog/fsck.js'
import { ed25519PublicKey, loadEd25519PrivateKey, verifierKey } from './accesslog/note.js'
import { verifyBundle, verifyCheckpointConsistency, verifyExport, verifyReceipt } from './accesslog/verify.js'
import { SIGNING_ALGORITHMS, type SigningAlgorithm, writeNewKey } from './adapters/signing.js'
import { ConfigError, loadConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './identity/authenticate.js'
import { loadDevIssuer } from './identity/dev-issuer.js'
import { type Role, ROLES } from './identity/principal.js'
import { PROJECT_ROOT } from './paths.js'

const USAGE = `court-file-gateway — audited access for procuratorates to court case files

usage:
  court-file-gateway serve [--config FILE]
  court-file-gateway migrate [--config FILE]
  court-file-gateway keygen --out FILE [--alg EdDSA|ES256]
  court-file-gateway conformance --adapter URL --case CASENO [--key KEYFILE] [--jwks-out FILE]
                                 [--report FILE.xml|FILE.json] [--issuer ISS] [--timeout MS]
  court-file-gateway token --sub SUB --org ORG --roles ROLE[,ROLE…] [--name NAME] [--ttl SECONDS] [--config FILE]
  court-file-gateway verify --key KEYFILE --checkpoint FILE --export FILE
  court-file-gateway verify --key KEYFILE --receipt FILE --entry FILE
  court-file-gateway verify --key KEYFILE --bundle FILE
  court-file-gateway verify --key KEYFILE --consistency OLD NEW --proof FILE
  court-file-gateway verify --db FILE [--key KEYFILE]
  court-file-gateway vkey --key SIGNINGKEY [--name ORIGIN | --config FILE]
  court-file-gateway healthcheck [--config FILE]

--config defaults to $GATEWAY_CONFIG, else config/default.json.
conformance exits 0 only when every required check of the adapter contract passes.`

class UsageError extends Error {}

/** Where a command writes: lines for the person at the terminal. */
export interface Io {
  out(line: string): void
  err(line: string): void
}

const CONSOLE: Io = { out: (line) => console.log(line), err: (line) => console.error(line) }

/** 2 = how it was called (usage, configuration, flags), 1 = it failed. */
export function exitCodeOf(error: unknown): 1 | 2 {
  const usage = error instanceof UsageError || error instanceof ConfigError
  const badFlag = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
  return usage || badFlag ? 2 : 1
}

function configPath(value: string | undefined): string {
  return value ?? process.env.GATEWAY_CONFIG ?? join(PROJECT_ROOT, 'config', 'default.json')
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`cannot read the ${what} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

/** Runs one command; resolves to its exit status, or -1 for `serve`, which runs until a signal. */
export async function runCommand(argv: string[], io: Io = CONSOLE): Promise<number> {
  const [command, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      sub: { type: 'string' },
      org: { type: 'string' },
      roles: { type: 'string' },
      name: { type: 'string' },
      ttl: { type: 'string' },
      key: { type: 'string' },
      checkpoint: { type: 'string' },
      export: { type: 'string' },
      bundle: { type: 'string' },
      receipt: { type: 'string' },
      entry: { type: 'string' },
      db: { type: 'string' },
      consistency: { type: 'string' },
      proof: { type: 'string' },
      alg: { type: 'string' },
      adapter: { type: 'string' },
      case: { type: 'string' },
      'jwks-out': { type: 'string' },
      report: { type: 'string' },
      issuer: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    // Only `verify --consistency OLD NEW` takes a second value.
    allowPositionals: true,
  })
  if (positionals.length > (values.consistency ? 1 : 0))
    throw new UsageError(`unexpected argument ${positionals.join(' ')}\n\n${USAGE}`)
  if (values.help || command === undefined || command === 'help') {
    io.out(USAGE)
    return command === undefined ? 2 : 0
  }
  switch (command) {
    case 'serve': {
      const config = loadConfig(configPath(values.config))
      enableCompileCacheFor(config)
      // Loaded here, not at the top: the server's dependencies take most of a second to load, which every
      // other command would pay for nothing.
      const { serve } = await import('./server.js')
      await serve(config)
      return -1 // keeps running until a signal
    }
    case 'migrate': {
      const config = loadConfig(configPath(values.config))
      if (config.storage.kind !== 'postgres') {
        // The SQLite file migrates itself when the gateway opens it.
        io.out('storage is SQLite: nothing to migrate (the gateway migrates its file when it opens it)')
        return 0
      }
      // Loaded here for the reason serve's server is: only this command needs the driver.
      const { createPool, migratePostgres } = await import('./storage/postgres.js')
      const pool = createPool(config.storage.url, 1)
      try {
        const applied = await migratePostgres(pool)
        io.out(
          applied.length === 0
            ? 'the database schema is up to date: nothing applied'
            : `applied migration(s) ${applied.join(', ')}`,
        )
      } finally {
        await pool.end()
      }
      return 0
    }
    case 'keygen': {
      if (!values.out) throw new UsageError('keygen needs --out FILE')
      const alg = (values.alg ?? 'EdDSA') as SigningAlgorithm
      if (!SIGNING_ALGORITHMS.includes(alg)) throw new UsageError(`--alg must be ${SIGNING_ALGORITHMS.join(' or ')}`)
      writeNewKey(values.out, alg)
      io.out(`wrote a new ${alg === 'ES256' ? 'P-256 (ES256)' : 'Ed25519 (EdDSA)'} private key to ${values.out}`)
      return 0
    }
    case 'conformance': {
      if (!values.adapter || !values.case) throw new UsageError('conformance needs --adapter URL and --case CASENO')
      const timeoutMs = values.timeout === undefined ? 10_000 : Number(values.timeout)
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError('--timeout must be milliseconds')
      const { runKit } = await import('./conformance/command.js')
      const outcome = await runKit({
        adapterUrl: values.adapter,
        caseNo: values.case,
        issuer: values.issuer ?? 'court-file-gateway',
        timeoutMs,
        ...(values.key ? { keyFile: values.key } : {}),
        ...(values['jwks-out'] ? { jwksOut: values['jwks-out'] } : {}),
        ...(values.report ? { reportFile: values.report } : {}),
      })
      io.out(outcome.report.trimEnd())
      return outcome.ok ? 0 : 1
    }
    case 'token': {
      const config = loadConfig(configPath(values.config))
      if (!config.dev?.issuer) throw new UsageError('token needs a configuration with dev.issuer: true')
      if (!values.sub || !values.org || !values.roles) throw new UsageError('token needs --sub, --org and --roles')
      const roles = values.roles.split(',').map((role) => role.trim())
      const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role))
      if (unknown.length > 0)
        throw new UsageError(`unknown role(s) ${unknown.join(', ')}; roles are ${ROLES.join(', ')}`)
      const ttl = values.ttl === undefined ? 3600 : Number(values.ttl)
      const maxTtl = config.dev.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTtl) {
        throw new UsageError(`--ttl must be 1..${maxTtl} seconds (dev.maxTokenLifetimeSeconds)`)
      }
      const issuer = loadDevIssuer(config.dev.keyFile)
      io.out(
        issuer.mint({
          sub: values.sub,
          org: values.org,
          roles: roles as Role[],
          ...(values.name ? { name: values.name } : {}),
          audience: config.identity.audience,
          ttlSeconds: ttl,
        }),
      )
      return 0
    }
    case 'verify': {
      if (values.db) {
        const dbKey = values.key === undefined ? undefined : read(values.key, 'key')
        const db = openLogDatabase(values.db)
        let result: ReturnType<typeof checkLogDatabase>
        try {
          result = checkLogDatabase(db, dbKey)
        } finally {
          db.close()
        }
        for (const line of describeCheck(result, values.db)) (result.ok ? io.out : io.err)(line)
        return result.ok ? 0 : 1
      }
      if (!values.key) throw new UsageError('verify needs --key KEYFILE (the text of GET /v1/audit/key)')
      const keyText = read(values.key, 'key')
      let result: ReturnType<typeof verifyExport>
      if (values.consistency) {
        const newer = positionals[0]
        if (!newer || !values.proof) throw new UsageError('verify --consistency needs OLD NEW --proof FILE')
        result = verifyCheckpointConsistency({
          oldText: read(values.consistency, 'old checkpoint'),
          newText: read(newer, 'new checkpoint'),
          proofText: read(values.proof, 'proof'),
          keyText,
        })
      } else if (values.checkpoint && values.export) {
        result = verifyExport({
          exportText: read(values.export, 'export'),
          checkpointText: read(values.checkpoint, 'checkpoint'),
          keyText,
        })
      } else if (values.bundle) {
        result = verifyBundle({ bundleText: read(values.bundle, 'bundle'), keyText })
      } else if (values.receipt && values.entry) {
        result = verifyReceipt({
          receiptText: read(values.receipt, 'receipt'),
          entryBytes: read(values.entry, 'entry'),
          keyText,
        })
      } else {
        throw new UsageError(
          'verify needs either --checkpoint and --export, or --receipt and --entry, or --bundle, or --consistency OLD NEW --proof FILE',
        )
      }
      if (result.ok) {
        if (result.from !== undefined) {
          io.out(`OK: the checkpoint of ${result.origin} at size ${result.size} extends the one at size ${result.from}`)
          return 0
        }
        if (result.entries !== undefined) {
          io.out(
            `OK: ${result.entries} entries verified by their receipts against the checkpoint of ${result.origin} at size ${result.size}`,
          )
          return 0
        }
        const what = result.index === undefined ? `${result.size} entries` : `entry ${result.index}`
        io.out(`OK: ${what} verified against the checkpoint of ${result.origin} at size ${result.size}`)
        return 0
      }
      io.err(`FAILED: ${result.message}`)
      if (result.index !== undefined) io.err(`first bad index: ${result.index}`)
      return 1
    }
    case 'vkey': {
      // The verifier key auditors pin (in the console or for `verify`): publish it out of band, not only
      // through the gateway it is meant to check.
      if (!values.key) throw new UsageError('vkey needs --key FILE (the log signing key, accessLog.signingKeyFile)')
      const name = values.name ?? loadConfig(configPath(values.config)).accessLog.origin
      let privateKey: ReturnType<typeof loadEd25519PrivateKey>
      try {
        privateKey = loadEd25519PrivateKey(read(values.key, 'signing key').toString('utf8'))
      } catch (error) {
        if (error instanceof UsageError) throw error
        throw new UsageError((error as Error).message)
      }
      io.out(verifierKey(name, ed25519PublicKey(privateKey)))
      return 0
    }
    case 'healthcheck': {
      // Loaded here: its HTTP client is not needed by the other commands.
      const { healthcheck } = await import('./healthcheck.js')
      return healthcheck(loadConfig(configPath(values.config)), io.err)
    }
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`)
  }
}

/**
 * V8's compiled code for the server's modules, kept in the data folder (beside the SQLite database) so the next
 * start skips compiling them: about a fifth of a start's CPU (BENCHMARKS.md, start to ready). Keyed by Node's
 * version and each file's content, so an upgrade only recompiles. With PostgreSQL there is no data folder:
 * NODE_COMPILE_CACHE, if set, still works as Node documents. A cache that cannot be written costs nothing.
 */
function enableCompileCacheFor(config: Config): void {
  if (process.env.NODE_COMPILE_CACHE || config.storage.kind !== 'sqlite') return
  enableCompileCache(join(dirname(config.storage.path), '.compile-cache'))
}
