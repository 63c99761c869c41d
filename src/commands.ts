/**
 * The commands of `court-file-gateway` (src/cli.ts is the executable): each returns its exit status and writes
 * through `io`, so tests run them in-process as well as through the built binary.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkLogDatabase, describeCheck, openLogDatabase } from './accesslog/fsck.js'
import { verifyExport, verifyReceipt } from './accesslog/verify.js'
import { writeNewKey } from './adapters/signing.js'
import { ConfigError, loadConfig } from './config/load.js'
import { healthcheck } from './healthcheck.js'
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './identity/authenticate.js'
import { loadDevIssuer } from './identity/dev-issuer.js'
import { type Role, ROLES } from './identity/principal.js'
import { PROJECT_ROOT } from './paths.js'

const USAGE = `court-file-gateway — audited access for procuratorates to court case files

usage:
  court-file-gateway serve [--config FILE]
  court-file-gateway migrate [--config FILE]
  court-file-gateway keygen --out FILE
  court-file-gateway token --sub SUB --org ORG --roles ROLE[,ROLE…] [--name NAME] [--ttl SECONDS] [--config FILE]
  court-file-gateway verify --key KEYFILE --checkpoint FILE --export FILE
  court-file-gateway verify --key KEYFILE --receipt FILE --entry FILE
  court-file-gateway verify --db FILE [--key KEYFILE]
  court-file-gateway healthcheck [--config FILE]

--config defaults to $GATEWAY_CONFIG, else config/default.json.`

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
  const { values } = parseArgs({
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
      receipt: { type: 'string' },
      entry: { type: 'string' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help || command === undefined || command === 'help') {
    io.out(USAGE)
    return command === undefined ? 2 : 0
  }
  switch (command) {
    case 'serve': {
      const config = loadConfig(configPath(values.config))
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
      writeNewKey(values.out)
      io.out(`wrote a new Ed25519 private key to ${values.out}`)
      return 0
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
      if (values.checkpoint && values.export) {
        result = verifyExport({
          exportText: read(values.export, 'export'),
          checkpointText: read(values.checkpoint, 'checkpoint'),
          keyText,
        })
      } else if (values.receipt && values.entry) {
        result = verifyReceipt({
          receiptText: read(values.receipt, 'receipt'),
          entryBytes: read(values.entry, 'entry'),
          keyText,
        })
      } else {
        throw new UsageError('verify needs either --checkpoint and --export, or --receipt and --entry')
      }
      if (result.ok) {
        const what = result.index === undefined ? `${result.size} entries` : `entry ${result.index}`
        io.out(`OK: ${what} verified against the checkpoint of ${result.origin} at size ${result.size}`)
        return 0
      }
      io.err(`FAILED: ${result.message}`)
      if (result.index !== undefined) io.err(`first bad index: ${result.index}`)
      return 1
    }
    case 'healthcheck':
      return healthcheck(loadConfig(configPath(values.config)), io.err)
    default:
      throw new UsageError(`unknown command ${command}\n\n${USAGE}`)
  }
}
