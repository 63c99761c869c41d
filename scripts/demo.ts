/**
 * `npm run demo`: the whole path once, end to end, on throw-away storage. Starts the gateway (embedded
 * SQLite, dev issuer) and the reference court adapter with its sample cases, registers and activates the
 * adapter, opens a main-volume grant, reads a document and prints each step with its access-log index.
 * Exits 0 only when every step did what it should.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { buildCourtAdapter } from '../examples/court-adapter/app.js'
import { shippedCasesDir } from '../examples/court-adapter/paths.js'
import { verifyExport } from '../src/accesslog/verify.js'
import { parseConfig } from '../src/config/load.js'
import type { Role } from '../src/identity/principal.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { createGateway, GATEWAY_ISSUER } from '../src/server.js'

const dir = mkdtempSync(join(tmpdir(), 'court-file-gateway-demo-'))
const config = parseConfig(
  {
    server: { host: '127.0.0.1', port: 0 },
    storage: { kind: 'sqlite', path: join(dir, 'gateway.db') },
    identity: { audience: 'court-file-gateway', issuers: [] },
    directory: join(PROJECT_ROOT, 'config', 'directory', 'heilongjiang.json'),
    accessLog: {
      origin: 'demo.court-file-gateway/log',
      signingKeyFile: join(dir, 'log.pem'),
      checkpointIntervalMs: 100,
    },
    adapters: { allowHttp: true, allowedNetworks: ['127.0.0.0/8'], signingKeyFile: join(dir, 'adapter.pem') },
    dev: { issuer: true, keyFile: join(dir, 'dev.pem') },
  },
  dir,
)

function step(text: string, logIndex?: string | number): void {
  console.log(`✔ ${text}${logIndex === undefined ? '' : `  [access log #${logIndex}]`}`)
}

async function main(): Promise<void> {
  const gateway = await createGateway(config)
  await gateway.app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(gateway.app.server.address() as { port: number }).port}`
  step(`gateway listening on ${base} (SQLite in ${dir})`)
  const adapter = await buildCourtAdapter({
    casesDir: shippedCasesDir(),
    courts: ['黑01', '黑0103'],
    gatewayIssuer: GATEWAY_ISSUER,
    jwks: new URL(`${base}/.well-known/jwks.json`),
  })
  await adapter.listen({ host: '127.0.0.1', port: 0 })
  const adapterUrl = `http://127.0.0.1:${(adapter.server.address() as { port: number }).port}`
  step(`reference court adapter for 黑01 and 黑0103 on ${adapterUrl}`)

  const token = (sub: string, org: string, roles: Role[]) =>
    gateway.devIssuer!.mint({ sub, org, roles, audience: config.identity.audience })
  const call = async (method: 'GET' | 'POST', path: string, bearer: string, body?: unknown) => {
    const response = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const bytes = Buffer.from(await response.body.arrayBuffer())
    if (response.statusCode >= 400) throw new Error(`${method} ${path} → ${response.statusCode} ${bytes.toString()}`)
    return { status: response.statusCode, headers: response.headers, bytes, json: () => JSON.parse(bytes.toString()) }
  }
  const lastIndex = () => gateway.log.size() - 1

  try {
    const admin = token('admin.hrb', '黑01', ['court-admin'])
    const registered = (
      await call('POST', '/v1/adapters', admin, {
        court: '黑01',
        baseUrl: adapterUrl,
        covers: ['黑0103'],
        probeCase: '（2023）黑01民终1234号',
        description: '哈尔滨中院及南岗区法院电子卷宗系统',
      })
    ).json()
    step(`court-admin of 黑01 registered adapter ${registered.id} (status ${registered.status})`, lastIndex())

    const activated = (
      await call('POST', `/v1/adapters/${registered.id}/activate`, token('ops.one', 'HLJ-OPS', ['operator']))
    ).json()
    step(`operator activated it after the conformance checks (status ${activated.status})`, lastIndex())

    const prosecutor = token('zhang.wei', '230100', ['prosecutor'])
    const grant = (
      await call('POST', '/v1/grants', prosecutor, {
        court: '黑01',
        caseNo: '（2023）黑01民终1234号',
        supervisionCase: '哈检民监〔2024〕12号',
        volumes: ['main'],
        reason: '当事人申请民事生效裁判监督，需调阅正卷',
      })
    ).json()
    step(
      `prosecutor of 哈尔滨市人民检察院 opened grant ${grant.id} (${grant.status}, expires ${grant.expiresAt})`,
      lastIndex(),
    )

    const volumes = (await call('GET', `/v1/grants/${grant.id}/volumes`, prosecutor)).json()
    const main = volumes.volumes.find((v: { kind: string }) => v.kind === 'main')
    const sub = volumes.volumes.find((v: { kind: string }) => v.kind === 'sub')
    step(`volumes: 正卷 with ${main.documents.length} documents; 副卷 restricted=${sub?.restricted}`, lastIndex())

    const document = main.documents.find((d: { title: string }) => d.title.includes('判决书')) ?? main.documents[0]
    const read = await call('GET', `/v1/grants/${grant.id}/documents/${document.id}`, prosecutor)
    const sha256 = createHash('sha256').update(read.bytes).digest('hex')
    if (sha256 !== document.sha256) throw new Error('document digest differs from the catalogue')
    step(
      `read 《${document.title}》: ${read.bytes.length} bytes, SHA-256 ${sha256.slice(0, 16)}…`,
      String(read.headers['access-log-index']),
    )

    // The read's outcome entry follows its response; wait (10 s at most) for a checkpoint that covers it.
    const covered = Number(read.headers['access-log-index']) + 2
    for (const deadline = Date.now() + 10_000; gateway.log.latestCheckpoint().size < covered; ) {
      if (Date.now() > deadline) throw new Error(`no checkpoint covered entry ${covered - 1} within 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const auditor = token('audit.one', 'HLJ-AUDIT', ['auditor'])
    const entries = (await call('GET', `/v1/audit/entries?grant=${grant.id}`, auditor)).json()
    for (const { index, entry } of entries.items) {
      console.log(
        `    #${index} ${entry.phase.padEnd(7)} ${entry.action.padEnd(13)} ${entry.decision}${entry.outcome ? ` ${entry.outcome.result} ${entry.outcome.bytes ?? ''}` : ''}`,
      )
    }
    const checkpoint = (await call('GET', '/v1/audit/checkpoint', auditor)).bytes
    const key = (await call('GET', '/v1/audit/key', auditor)).bytes
    const size = Number(checkpoint.toString().split('\n')[1])
    const exported = (await call('GET', `/v1/audit/export?from=0&to=${size}`, auditor)).bytes
    const verified = verifyExport({ exportText: exported, checkpointText: checkpoint, keyText: key })
    if (!verified.ok) throw new Error(`log verification failed: ${verified.message}`)
    step(`auditor exported ${size} entries and verified them against the signed checkpoint`)
    console.log('\ndemo complete: every step is in the access log and the log verifies')
  } finally {
    await adapter.close()
    await gateway.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`)
  process.exitCode = 1
})
