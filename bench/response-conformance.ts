/**
 * What checking answers against openapi/gateway.yaml costs (`server.validateResponses`, see
 * src/http/response-conformance.ts): the check alone on typical answers, then whole requests through a
 * gateway with the switch off and on (in-process, Fastify's inject, so the network does not hide it).
 *
 *   node --import tsx bench/response-conformance.ts [--requests 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadSpec } from '../src/http/openapi.js'
import { type ObservedResponse, responseConformance } from '../src/http/response-conformance.js'
import { GATEWAY_SPEC } from '../src/paths.js'
import { createGateway } from '../src/server.js'
import { testConfig } from '../test/helpers/harness.js'

const { values } = parseArgs({ options: { requests: { type: 'string', default: '2000' } } })
const requests = Number(values.requests)

function microseconds(run: () => void, times: number): number {
  for (let i = 0; i < Math.min(times, 500); i++) run()
  const started = process.hrtime.bigint()
  for (let i = 0; i < times; i++) run()
  return Number(process.hrtime.bigint() - started) / 1000 / times
}

const grant = (i: number) => ({
  id: `g${i}`,
  status: 'active',
  court: '黑01',
  caseNo: '（2023）黑01民终1234号',
  supervisionCase: '哈检民监〔2024〕1号',
  volumes: ['main'],
  reason: '民事生效裁判监督',
  org: '230100',
  createdBy: 'zhang.wei',
  members: ['li.na'],
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-04-01T00:00:00.000Z',
})
const json = { 'content-type': 'application/json; charset=utf-8' }
const samples: Array<[string, ObservedResponse]> = [
  ['healthz', { method: 'GET', path: '/healthz', status: 200, headers: json, body: '{"status":"ok"}' }],
  ['one grant', { method: 'GET', path: '/v1/grants/g1', status: 200, headers: json, body: JSON.stringify(grant(1)) }],
  [
    '100 grants',
    {
      method: 'GET',
      path: '/v1/grants',
      status: 200,
      headers: json,
      body: JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => grant(i)) }),
    },
  ],
  [
    'a problem',
    {
      method: 'GET',
      path: '/v1/grants/g1',
      status: 404,
      headers: { 'content-type': 'application/problem+json; charset=utf-8' },
      body: JSON.stringify({
        type: 'urn:x',
        title: 'Not found',
        status: 404,
        code: 'NOT_FOUND',
        detail: 'no such grant',
      }),
    },
  ],
]

let started = process.hrtime.bigint()
const conformance = responseConformance(loadSpec(GATEWAY_SPEC))
console.log(`compiling every response of the spec: ${Number(process.hrtime.bigint() - started) / 1e6} ms`)
for (const [name, sample] of samples) {
  if (conformance.check(sample).length > 0) throw new Error(`${name} does not conform: ${conformance.check(sample)}`)
  console.log(
    `check ${name} (${String(sample.body).length} bytes): ${microseconds(() => conformance.check(sample), 20_000).toFixed(1)} µs`,
  )
}

async function perRequest(validateResponses: boolean): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(os.tmpdir(), 'bench-conformance-'))
  const config = testConfig(dir, { server: { host: '127.0.0.1', port: 0, validateResponses } })
  const gateway = await createGateway(config)
  try {
    const token = gateway.devIssuer!.mint({
      sub: 'zhang.wei',
      org: '230100',
      roles: ['prosecutor'],
      audience: config.identity.audience,
    })
    const result: Record<string, number> = {}
    for (const url of ['/healthz', '/v1/courts', '/v1/grants/none']) {
      const inject = () => gateway.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
      for (let i = 0; i < 200; i++) await inject()
      started = process.hrtime.bigint()
      for (let i = 0; i < requests; i++) await inject()
      result[url] = Number(process.hrtime.bigint() - started) / 1000 / requests
    }
    return result
  } finally {
    await gateway.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const off = await perRequest(false)
const on = await perRequest(true)
for (const url of Object.keys(off)) {
  console.log(
    `GET ${url}: ${off[url]!.toFixed(0)} µs off, ${on[url]!.toFixed(0)} µs on (+${(on[url]! - off[url]!).toFixed(0)} µs)`,
  )
}
