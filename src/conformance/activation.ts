import type { AdapterClient } from '../adapters/client.js'
import type { ResponseValidators } from '../adapters/responses.js'
import type { RequestSigner } from '../adapters/signing.js'
import type { Adapter } from '../adapters/types.js'
import { type LegacyCourts, parseCaseNumber } from '../directory/case-number.js'
import type { OpenApiSpec } from '../http/openapi.js'
import { type CheckResult, passed, runContractChecks, type Transport } from './kit.js'
import { readAnswer } from './read-answer.js'

/** The result of the checks an activation ran, kept on the adapter (`GET /v1/adapters/{id}`). */
export interface ConformanceResult {
  checkedAt: string
  passed: boolean
  checks: CheckResult[]
}

/** The deadline of one answer is that of a transfer this large: probe cases are expected to be small. */
const PROBE_DOCUMENT_BYTES = 16 * 1024 * 1024

/**
 * The gateway's own client as the kit's transport: the same vetted connections (allowed networks, TLS, no
 * redirects) as every read. The breaker is bypassed, as for health checks: the checks provoke refusals on
 * purpose, and one failing check must not make the rest read "circuit open". Bodies are hashed as they stream,
 * never held whole (src/conformance/read-answer.ts): a court listing many large documents costs no memory.
 */
function clientTransport(
  client: AdapterClient,
  adapter: Adapter,
  onReceived: ((bytes: number) => void) | undefined,
): Transport {
  return async (path, headers, options = {}) => {
    const { authorization, ...rest } = headers
    const ms = client.deadlineMs(PROBE_DOCUMENT_BYTES)
    const signal = AbortSignal.timeout(ms)
    try {
      const response = await client.get(adapter, path, authorization ? { authorization } : undefined, rest, {
        healthCheck: true,
        signal,
      })
      const read = await readAnswer(response.body, { ...options, ...(onReceived ? { onReceived } : {}) })
      return { status: response.status, headers: response.headers, ...read }
    } catch (error) {
      throw new Error(signal.aborted ? `no complete answer within ${ms} ms` : (error as Error).message)
    }
  }
}

/** Runs the conformance kit against a registered adapter, signing with the gateway's own key. */
export async function checkAdapter(
  adapter: Adapter,
  services: {
    adapterClient: AdapterClient
    signer: RequestSigner
    validators: ResponseValidators
    adapterSpec: OpenApiSpec
    legacyCourts: LegacyCourts
    now: () => Date
    /** Told every chunk read from the court, so dead socket buffers are reclaimed as for downloads. */
    socketBuffers?: { forwarded: (bytes: number) => void } | undefined
  },
  /** The operator who activates, named in the tokens so the court's own log shows who probed it. */
  reader: { sub: string; org: string; log: number },
): Promise<ConformanceResult> {
  const checkedAt = services.now().toISOString()
  if (!adapter.probeCase) {
    const checks: CheckResult[] = [
      {
        name: 'probe case',
        required: true,
        outcome: 'fail',
        ok: false,
        sent: 'nothing',
        received: 'nothing',
        detail: 'no probeCase registered: the checks need a case to read',
      },
    ]
    return { checkedAt, passed: false, checks }
  }
  const probe = parseCaseNumber(adapter.probeCase, { legacyCourts: services.legacyCourts })
  const checks = await runContractChecks({
    // aud is the court of the case read, which may be a lower court the adapter covers.
    adapter: { ...adapter, court: probe.courtCode },
    caseNo: probe.text,
    transport: clientTransport(services.adapterClient, adapter, services.socketBuffers?.forwarded),
    signer: services.signer,
    validators: services.validators,
    adapterSpec: services.adapterSpec,
    reader,
    // Token times are the court's wall clock, as for every signed read (RequestSigner.sign), not the gateway's.
  })
  return { checkedAt, passed: passed(checks), checks }
}
