import { createHash } from 'node:crypto'
import t from 'tap'
import { Agent, request } from 'undici'
import { startHostileCourt } from '../helpers/hostile-court.js'
import { escapedErrors, openGrant, registerAdapter, startGateway, tokenOf } from '../helpers/harness.js'

/** Waits for `probe` to return a value, up to `ms` (a deadline, not a count of polls). */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

const MiB = 1024 * 1024
/** Far larger than what the loopback sockets' buffers hold, so buffering in the gateway would show. */
const LARGE = 64 * MiB

t.test('large documents stream through the worker hash with backpressure, and fail safe', async (t) => {
  const fatal = escapedErrors(t)

  const h = await startGateway(t, {
    adapters: {
      allowHttp: true,
      allowedNetworks: ['127.0.0.0/8'],
      breaker: { failures: 1000 },
      signingKeyFile: `${t.testdirName}/adapter.pem`,
      hashInWorkerFromBytes: MiB,
      hashWorkers: 1,
    },
  })
  t.equal(h.gateway.digests.workers().length, 1, 'the digest thread runs before the first large read')
  const jwks = await h.call('GET', '/.well-known/jwks.json')
  const court = await startHostileCourt(t, jwks.json, { largeBytes: LARGE })
  await registerAdapter(h, court.url)
  court.misbehave()
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  const auditor = tokenOf(h, 'auditor')
  const block = court.documents.get('large')!.bytes
  const agent = new Agent()
  t.teardown(() => agent.close().catch(() => {}))

  const open = (id: string) =>
    request(`${h.url}/v1/grants/${grant.id}/documents/${id}`, {
      headers: { authorization: `Bearer ${prosecutor}` },
      dispatcher: agent,
    })

  /** Reads the rest of a body, checking every byte against the repeated block; never holds it whole. */
  async function drain(body: AsyncIterable<unknown>) {
    const hash = createHash('sha256')
    let bytes = 0
    let same = true
    let clean = true
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (let i = 0; i < chunk.length; i += 4099) same &&= chunk[i] === block[(bytes + i) % block.length]
        hash.update(chunk)
        bytes += chunk.length
      }
    } catch {
      clean = false
    }
    return { bytes, sha256: hash.digest('hex'), same, clean }
  }

  async function outcomeOf(requestId: string) {
    return until(async () => {
      const page = await h.call('GET', `/v1/audit/entries?grant=${grant.id}&limit=1000`, { token: auditor })
      const items = page.json.items as Array<{ entry: any }>
      return items.find((i) => i.entry.requestId === requestId && i.entry.phase === 'outcome')?.entry
    })
  }

  /** The court's byte count once it has stopped growing: the gateway reads no further. */
  async function courtStalls(): Promise<number> {
    const seen = court.requests.at(-1)!
    let last = -1
    let stableSince = Date.now()
    return until(() => {
      if (seen.sent !== last) {
        last = seen.sent
        stableSince = Date.now()
        return undefined
      }
      return Date.now() - stableSince > 500 && last > 0 ? last : undefined
    })
  }

  await t.test('a digest mismatch found by the worker withholds the tail and is logged', async (t) => {
    const response = await open('large-wrong-bytes')
    t.equal(response.statusCode, 200, 'headers went out before the check')
    const read = await drain(response.body)
    t.notOk(read.clean, 'the transfer is cut for the client')
    t.ok(read.same, 'what arrived is a prefix of the document')
    t.ok(read.bytes < LARGE, `short of Content-Length (${read.bytes} of ${LARGE})`)
    const outcome = await outcomeOf(String(response.headers['x-request-id']))
    t.equal(outcome.outcome.result, 'failed')
    t.equal(outcome.reason, 'DOCUMENT_INTEGRITY_FAILED')
    t.ok(outcome.outcome.bytes < LARGE, 'the last chunk was never sent')
    t.ok(outcome.outcome.bytes >= read.bytes, 'the client got at most what the gateway sent')
    // The logged digest is that of exactly the bytes sent: a prefix of the repeated block.
    const prefix = createHash('sha256')
    for (let at = 0; at < outcome.outcome.bytes; at += block.length) {
      prefix.update(block.subarray(0, Math.min(block.length, outcome.outcome.bytes - at)))
    }
    t.equal(outcome.outcome.sha256, prefix.digest('hex'))
  })

  await t.test('a client that does not read makes the gateway stop reading from the court', async (t) => {
    const response = await open('large')
    t.equal(response.statusCode, 200)
    const sentByCourt = await courtStalls()
    t.ok(
      sentByCourt < LARGE / 2,
      `the court sent ${(sentByCourt / MiB).toFixed(1)} MiB of ${LARGE / MiB} while the client read nothing`,
    )
    const read = await drain(response.body)
    t.ok(read.clean && read.same, 'then the whole document arrives, as catalogued')
    t.equal(read.bytes, LARGE)
    t.equal(read.sha256, court.documents.get('large')!.sha256)
    const outcome = await outcomeOf(String(response.headers['x-request-id']))
    t.equal(outcome.outcome.result, 'completed')
    t.equal(outcome.outcome.bytes, LARGE)
    t.equal(outcome.outcome.sha256, read.sha256, 'the logged digest is that of the bytes sent')
  })

  await t.test('a digest worker that dies mid-transfer fails that read only, and is replaced', async (t) => {
    const response = await open('large')
    t.equal(response.statusCode, 200)
    await courtStalls()
    const workers = h.gateway.digests.workers()
    t.equal(workers.length, 1)
    await workers[0]!.terminate()
    const read = await drain(response.body)
    t.notOk(read.clean, 'the bytes could not be checked: the transfer is cut')
    t.ok(read.bytes < LARGE)
    const outcome = await outcomeOf(String(response.headers['x-request-id']))
    t.equal(outcome.outcome.result, 'failed')
    t.equal(outcome.reason, 'INTERNAL', "the gateway's fault, not the court's")

    const again = await open('large')
    const next = await drain(again.body)
    t.ok(next.clean && next.bytes === LARGE, 'the next large read completes')
    t.equal(next.sha256, court.documents.get('large')!.sha256)
    t.equal((await outcomeOf(String(again.headers['x-request-id']))).outcome.result, 'completed')
    t.same(fatal, [], 'no uncaughtException or unhandledRejection')
  })
})
