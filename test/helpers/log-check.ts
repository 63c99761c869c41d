import type { Entry } from '../../src/accesslog/entry.js'
import { verifyExport } from '../../src/accesslog/verify.js'
import { type Harness, tokenOf } from './harness.js'

/**
 * Exports the whole log through the audit API once a signed checkpoint covers every committed entry, and
 * verifies the export against that checkpoint with the log's public key, as an outside auditor would.
 * Waits at most `deadlineMs` for the checkpoint (signed every `checkpointIntervalMs`).
 */
export async function verifiedLog(h: Harness, deadlineMs = 120_000) {
  const auditor = tokenOf(h, 'auditor')
  const key = (await h.call('GET', '/v1/audit/key', { token: auditor })).text
  const target = h.gateway.log.size()
  const deadline = Date.now() + deadlineMs
  let checkpoint = (await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text
  while (Number(checkpoint.split('\n')[1]) < target) {
    if (Date.now() > deadline) throw new Error(`no checkpoint covers ${target} entries after ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
    checkpoint = (await h.call('GET', '/v1/audit/checkpoint', { token: auditor })).text
  }
  const size = Number(checkpoint.split('\n')[1])
  const exported = await h.call('GET', `/v1/audit/export?to=${size}`, { token: auditor })
  const result = verifyExport({ exportText: exported.bytes, checkpointText: checkpoint, keyText: key })
  const entries = exported.text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Entry)
  return { result, size, entries }
}
