import { generateKeyPairSync } from 'node:crypto'
import { SignJWT } from 'jose'
import { readJson } from './client.js'
import type { AdapterClient } from './client.js'
import type { ResponseValidators } from './responses.js'
import type { RequestClaims } from './signing.js'
import type { Adapter } from './types.js'

export interface ConformanceCheck {
  name: string
  ok: boolean
  detail?: string
}

/**
 * The checks an operator's activation runs against a registered adapter: it answers health, serves the
 * probe case and its catalogue in the contract's shape, and — the point of the signed requests — refuses
 * an unsigned request and one signed with a key that is not the gateway's.
 */
export async function runConformance(
  adapter: Adapter,
  client: AdapterClient,
  validators: ResponseValidators,
  claims: Omit<RequestClaims, 'court'>,
): Promise<ConformanceCheck[]> {
  const checks: ConformanceCheck[] = []
  const check = async (name: string, run: () => Promise<string | undefined>) => {
    try {
      const problem = await run()
      checks.push(problem ? { name, ok: false, detail: problem } : { name, ok: true })
    } catch (error) {
      checks.push({ name, ok: false, detail: (error as Error).message })
    }
  }
  await check('health', async () => {
    const body = (await readJson(await client.get(adapter, '/v1/health', undefined), adapter)) as { status?: unknown }
    return body?.status === 'ok' ? undefined : 'GET /v1/health did not answer {"status":"ok"}'
  })
  if (!adapter.probeCase) {
    checks.push({ name: 'probe-case', ok: false, detail: 'no probeCase registered: the checks need a case to read' })
    return checks
  }
  const probeCourt = adapter.court
  const path = `/v1/cases/${encodeURIComponent(adapter.probeCase)}`
  const signed = { ...claims, court: probeCourt }
  await check('case', async () => {
    validators.caseSummary(await readJson(await client.get(adapter, path, signed), adapter), adapter)
    return undefined
  })
  await check('volumes', async () => {
    validators.volumes(await readJson(await client.get(adapter, `${path}/volumes`, signed), adapter), adapter)
    return undefined
  })
  const refuses = async (authorization: string | undefined) => {
    const response = await client.get(adapter, path, authorization ? { authorization } : undefined)
    response.body.destroy()
    return response.status === 401 || response.status === 403
      ? undefined
      : `answered HTTP ${response.status} instead of refusing`
  }
  await check('refuses-unsigned', () => refuses(undefined))
  await check('refuses-wrong-key', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = await new SignJWT({ org: claims.org, grant: claims.grant, purpose: claims.purpose, log: claims.log })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
      .setIssuer(client.issuer)
      .setAudience(probeCourt)
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(privateKey)
    return refuses(`Bearer ${forged}`)
  })
  return checks
}
