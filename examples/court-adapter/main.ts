/**
 * Starts the reference court adapter:
 *
 *   node dist/examples/court-adapter/main.js [--port 4100] [--host 127.0.0.1] [--cases DIR]
 *        [--courts 黑01,黑0103] [--gateway-jwks URL | --gateway-jwks-file FILE] [--issuer court-file-gateway]
 *
 * Each flag has an environment variable (COURT_ADAPTER_PORT, _HOST, _CASES, _COURTS, _GATEWAY_JWKS,
 * _GATEWAY_JWKS_FILE, _ISSUER);
 * a flag wins over its variable.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { buildCourtAdapter } from './app.js'
import { shippedCasesDir } from './paths.js'

const USAGE = `usage: court-adapter [--port N] [--host H] [--cases DIR] [--courts C1,C2] [--gateway-jwks URL | --gateway-jwks-file FILE] [--issuer ISS]`

async function courtFolders(casesDir: string): Promise<string[]> {
  const entries = await readdir(casesDir, { withFileTypes: true })
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort()
}

async function main(): Promise<void> {
  const env = process.env
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      cases: { type: 'string' },
      courts: { type: 'string' },
      'gateway-jwks': { type: 'string' },
      'gateway-jwks-file': { type: 'string' },
      issuer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const port = Number(values.port ?? env.COURT_ADAPTER_PORT ?? 4100)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535\n${USAGE}`)
  const host = values.host ?? env.COURT_ADAPTER_HOST ?? '127.0.0.1'
  const casesDir = path.resolve(values.cases ?? env.COURT_ADAPTER_CASES ?? shippedCasesDir())
  const courtsText = values.courts ?? env.COURT_ADAPTER_COURTS
  const courts =
    courtsText === undefined
      ? await courtFolders(casesDir)
      : courtsText
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c !== '')
  if (courts.length === 0) throw new Error(`no courts: give --courts or put court folders in ${casesDir}`)
  const jwksFile = values['gateway-jwks-file'] ?? env.COURT_ADAPTER_GATEWAY_JWKS_FILE
  const jwksText =
    values['gateway-jwks'] ?? env.COURT_ADAPTER_GATEWAY_JWKS ?? 'http://127.0.0.1:8080/.well-known/jwks.json'
  let jwks: URL | { file: string }
  if (jwksFile !== undefined) jwks = { file: path.resolve(jwksFile) }
  else {
    try {
      jwks = new URL(jwksText)
    } catch {
      throw new Error(`--gateway-jwks is not a URL: ${jwksText}`)
    }
  }
  const gatewayIssuer = values.issuer ?? env.COURT_ADAPTER_ISSUER ?? 'court-file-gateway'

  const app = await buildCourtAdapter({ casesDir, courts, gatewayIssuer, jwks, logger: true })
  const address = await app.listen({ port, host })
  const close = () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.once('SIGINT', close)
  process.once('SIGTERM', close)
  console.log(`court adapter for ${courts.join(', ')} listening on ${address} (cases: ${casesDir})`)
}

main().catch((error: unknown) => {
  console.error(`court-adapter: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
