import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { createResponseValidators } from '../adapters/responses.js'
import { readPrivateKey, RequestSigner } from '../adapters/signing.js'
import type { Adapter } from '../adapters/types.js'
import { loadDirectory } from '../directory/directory.js'
import { parseCaseNumber } from '../directory/case-number.js'
import { loadSpec } from '../http/openapi.js'
import { ADAPTER_SPEC, PROJECT_ROOT } from '../paths.js'
import { type CheckResult, passed, runContractChecks, type Transport } from './kit.js'
import { jsonReport, junitReport, textReport } from './report.js'
import { httpTransport } from './transport.js'

export interface KitOptions {
  adapterUrl: string
  caseNo: string
  /** The private key the adapter trusts; without it, a throw-away Ed25519 key. */
  keyFile?: string
  /** Where the key's public JWKS is written before the first request, for the adapter to load. */
  jwksOut?: string
  /** JUnit XML when the name ends in .xml, JSON otherwise. */
  reportFile?: string
  /** The `iss` the adapter expects. */
  issuer: string
  timeoutMs: number
  /** Stands in for HTTP in tests. */
  transport?: Transport
}

export interface KitOutcome {
  ok: boolean
  results: CheckResult[]
  report: string
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, text)
}

/** The court of a case number, current or pre-2016 form (the latter through the shipped directory). */
export function courtOfCase(caseNo: string): { court: string; text: string } {
  let legacyCourts: ReadonlyMap<string, string> | undefined
  try {
    legacyCourts = loadDirectory(`${PROJECT_ROOT}/config/directory/heilongjiang.json`).legacyCourts()
  } catch {
    legacyCourts = undefined
  }
  const parsed = parseCaseNumber(caseNo, legacyCourts ? { legacyCourts } : {})
  return { court: parsed.courtCode, text: parsed.text }
}

/** `court-file-gateway conformance`: the gateway's side of the adapter contract, run by a court team. */
export async function runKit(options: KitOptions): Promise<KitOutcome> {
  const { court, text } = courtOfCase(options.caseNo)
  const key: KeyObject = options.keyFile ? readPrivateKey(options.keyFile) : generateKeyPairSync('ed25519').privateKey
  const signer = await RequestSigner.create(options.issuer, key)
  if (options.jwksOut) writeFile(options.jwksOut, `${JSON.stringify(signer.jwks(), null, 2)}\n`)
  const adapterSpec = loadSpec(ADAPTER_SPEC)
  const at = new Date().toISOString()
  const adapter: Adapter = {
    id: 'under-test',
    court,
    baseUrl: options.adapterUrl,
    covers: [],
    stores: [],
    status: 'pending',
    createdBy: 'conformance-kit',
    createdAt: at,
    updatedAt: at,
  }
  const results = await runContractChecks({
    adapter,
    caseNo: text,
    transport: options.transport ?? httpTransport(options.adapterUrl, options.timeoutMs),
    signer,
    validators: createResponseValidators(adapterSpec),
    adapterSpec,
  })
  const target = `${options.adapterUrl} (case ${text}, court ${court})`
  if (options.reportFile) {
    const write = options.reportFile.endsWith('.xml') ? junitReport : jsonReport
    writeFile(options.reportFile, write(target, results))
  }
  return { ok: passed(results), results, report: textReport(target, results) }
}
