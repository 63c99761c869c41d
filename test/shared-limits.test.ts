import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { cstDay, readerKey } from '../src/files/quota.js'
import { RedisDocumentReadCounter } from '../src/files/redis-quota.js'
import { connectRedis, LimitsUnavailableError } from '../src/limits/redis.js'
import {
  type Harness,
  openGrant,
  PEOPLE,
  registerAdapter,
  startAdapter,
  startGateway,
  testClock,
  tokenOf,
} from './helpers/harness.js'

/**
 * Shared limits in Redis (redis.url): several gateways count one limit, and an unreachable Redis makes no
 * request hang or crash the process. The Redis is TEST_REDIS_URL, else this machine's (127.0.0.1:6379), else
 * a redis-server this file starts; the restart tests always run one of their own. Without a Redis server or
 * the binary, the tests that need them say they were skipped.
 */
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
/** Far beyond any answer of a healthy or refusing gateway on a loaded machine; a hang would never end. */
const DEADLINE_MS = 15_000

async function redisReachable(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/**
 * Gateways of their own (each its own SQLite file and keys) in the test's folder: replicas. One folder per
 * test, made once: tap empties it on every `t.testdir()`.
 */
function replicas(t: Test) {
  const base = t.testdir()
  return async (name: string, overrides: Record<string, unknown>, now?: () => Date): Promise<Harness> => {
    const dir = join(base, name)
    mkdirSync(dir)
    return startGateway(t, overrides, dir, now ? { now } : {})
  }
}

/** A key prefix no other test (or earlier run) uses. */
const uniquePrefix = () => `test:${randomUUID()}:`

/** `promise`, or a failure naming `what` once `ms` have passed without an answer. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `probe` until it returns a value; fails after `ms`. */
async function until<T>(ms: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${what}: not reached within ${ms} ms`)
}

/** A loopback port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A gateway with a court adapter and an open main-volume grant of the prosecutor; returns the read call. */
async function readyToRead(tt: Test, h: Harness) {
  const court = await startAdapter(tt, h.url)
  await registerAdapter(h, court.url)
  const grant = await openGrant(h)
  const prosecutor = tokenOf(h, 'prosecutor')
  return (document = 'main-01-appeal') =>
    within(
      DEADLINE_MS,
      'document read',
      h.call('GET', `/v1/grants/${grant.id}/documents/${document}`, { token: prosecutor }),
    )
}

const redisServer = spawnSync('which', ['redis-server'], { encoding: 'utf8' }).stdout.trim()
const ownRedis = redisServer ? undefined : 'skipped: no redis-server binary on PATH to start and stop'
if (ownRedis) t.comment(ownRedis)
let REDIS_URL = process.env.TEST_REDIS_URL ?? DEFAULT_REDIS_URL
if (!process.env.TEST_REDIS_URL && redisServer && !(await redisReachable(REDIS_URL))) {
  const port = await closedPort()
  await startRedis(t, port)
  REDIS_URL = `redis://127.0.0.1:${port}`
  t.comment(`no Redis at ${DEFAULT_REDIS_URL}: the shared-Redis tests use a redis-server of their own (${REDIS_URL})`)
}
const sharedRedis = (await redisReachable(REDIS_URL))
  ? undefined
  : `skipped: no Redis answers at ${REDIS_URL} (set TEST_REDIS_URL)`
if (sharedRedis) t.comment(sharedRedis)

t.test(
  'two gateways on one Redis share a person’s request limit and the address limit',
  { skip: sharedRedis },
  async (t) => {
    const redis = { url: REDIS_URL, keyPrefix: uniquePrefix() }
    const limits = { requestsPerMinute: 3, authFailuresPerAddressPerMinute: 2 }
    const a = await startGateway(t, { redis, limits })
    const b = await startGateway(t, { redis, limits })
    const list = (h: Harness, person: 'prosecutor' | 'colleague' = 'prosecutor') =>
      h.call('GET', '/v1/grants', { token: tokenOf(h, person) })

    t.equal((await list(a)).status, 200)
    t.equal((await list(a)).status, 200)
    t.equal((await list(b)).status, 200, 'the third request, on the other gateway')
    const refused = await list(b)
    t.equal(refused.status, 429, 'the fourth is over the limit on B: B saw the two made on A')
    t.equal(refused.json.code, 'RATE_LIMITED')
    t.equal(refused.json.scope, 'user')
    t.equal((await list(a)).status, 429, 'and on A')
    t.equal((await list(b, 'colleague')).status, 200, 'a colleague has a limit of their own')

    const bad = { authorization: 'Bearer not-a-token' }
    t.equal((await a.call('GET', '/v1/grants', { headers: bad })).status, 401)
    t.equal((await b.call('GET', '/v1/grants', { headers: bad })).status, 401)
    const blocked = await a.call('GET', '/v1/grants', { headers: bad })
    t.equal(blocked.status, 429, 'A counts the failure B saw')
    t.equal(blocked.json.scope, 'address')
  },
)

t.test('two gateways on one Redis share a person’s daily document quota', { skip: sharedRedis }, async (t) => {
  const clock = testClock('2024-05-01T15:30:00.000Z')
  const redis = { url: REDIS_URL, keyPrefix: uniquePrefix() }
  const replica = replicas(t)
  const a = await replica('a', { redis, limits: { documentsPerDay: 3 } }, clock.now)
  const b = await replica('b', { redis, limits: { documentsPerDay: 3 } }, clock.now)
  const readA = await readyToRead(t, a)
  const readB = await readyToRead(t, b)

  t.equal((await readA()).status, 200)
  t.equal((await readA('main-02-answer')).status, 200)
  t.equal((await readB()).status, 200, 'the third read, on the other gateway')
  const refused = await readB()
  t.equal(refused.status, 429, 'B saw the two reads made on A')
  t.equal(refused.json.code, 'RATE_LIMITED')
  t.equal(refused.json.scope, 'documentsPerDay')
  t.equal(refused.headers['retry-after'], '1800', 'until midnight China Standard Time')
  t.equal((await readA()).status, 429, 'and A sees the read made on B')

  const client = new Redis(REDIS_URL)
  t.teardown(() => client.disconnect())
  const key = `${redis.keyPrefix}quota:2024-05-01:${readerKey(PEOPLE.prosecutor.org, PEOPLE.prosecutor.sub)}`
  t.equal(await client.get(key), '3', 'one counter, refusals not counted')
  const ttl = await client.pttl(key)
  t.ok(ttl > 30 * 60_000 && ttl <= 45 * 60_000, `the counter expires a little after the CST day ends (${ttl} ms)`)

  clock.advance(30 * 60_000)
  t.equal((await readB()).status, 200, 'a new CST day, a new quota, on both')
})

t.test('the Redis counter is atomic and bounded under concurrency', { skip: sharedRedis }, async (t) => {
  const client = new Redis(REDIS_URL, { enableOfflineQueue: false })
  t.teardown(() => client.disconnect())
  await until(DEADLINE_MS, 'connected', async () => (client.status === 'ready' ? true : undefined))
  const now = new Date('2024-05-01T12:00:00.000Z')
  const counter = new RedisDocumentReadCounter(client, { keyPrefix: uniquePrefix(), now: () => now })
  const elsewhere = new RedisDocumentReadCounter(client, { keyPrefix: uniquePrefix(), now: () => now })
  const day = cstDay(now)
  const results = await Promise.all(Array.from({ length: 20 }, () => counter.take('230100:zhang.wei', day, 5)))
  t.equal(results.filter((r) => r.allowed).length, 5, 'exactly the limit is allowed')
  t.same(
    results
      .map((r) => r.count)
      .sort((x, y) => x - y)
      .slice(0, 5),
    [1, 2, 3, 4, 5],
  )
  t.equal(await counter.count('230100:zhang.wei', day), 5)
  t.same(
    await counter.take('230100:zhang.wei', day, 0),
    { allowed: false, count: 5 },
    'a limit below one allows nothing',
  )
  t.equal(await elsewhere.count('230100:zhang.wei', day), 0, 'another prefix counts apart')
})

t.test('Redis refusing connections: document reads get 503 promptly, other routes follow the policy', async (t) => {
  const port = await closedPort()
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    keyPrefix: uniquePrefix(),
    connectTimeoutMs: 200,
    commandTimeoutMs: 200,
  }

  t.test('the counter rejects with LimitsUnavailableError, and counts nothing', async (t) => {
    const client = connectRedis({ ...redis, onUnavailable: 'refuse' })
    t.teardown(() => client.disconnect())
    const counter = new RedisDocumentReadCounter(client, { keyPrefix: redis.keyPrefix, now: () => new Date() })
    await t.rejects(
      within(DEADLINE_MS, 'take', counter.take('230100:zhang.wei', '2024-05-01', 5)),
      LimitsUnavailableError,
    )
    await t.rejects(
      within(DEADLINE_MS, 'count', counter.count('230100:zhang.wei', '2024-05-01')),
      LimitsUnavailableError,
    )
  })

  t.test('allow-requests: request limits let requests through, document quotas refuse', async (t) => {
    const h = await startGateway(t, { redis: { ...redis, onUnavailable: 'allow-requests' } })
    const read = await readyToRead(t, h)
    const refused = await read()
    t.equal(refused.status, 503, refused.text)
    t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(refused.json.code, 'LIMITS_UNAVAILABLE')
    t.equal(refused.headers['retry-after'], '5')
    t.notMatch(refused.text, /ECONNREFUSED|127\.0\.0\.1|ioredis/, 'no internals in the answer')
    t.equal((await h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') })).status, 200, 'a listing is served')
    const unverified = await h.call('GET', '/v1/grants', { headers: { authorization: 'Bearer not-a-token' } })
    t.equal(unverified.status, 401, 'the address limit lets a request through to authentication, which refuses it')

    const auditor = tokenOf(h, 'auditor')
    const denials = await h.call('GET', '/v1/audit/entries?action=document.read&decision=deny&limit=100', {
      token: auditor,
    })
    t.same(
      (denials.json.items as Array<{ entry: { reason: string } }>).map((i) => i.entry.reason),
      ['LIMITS_UNAVAILABLE'],
      'the refused read is in the access log',
    )
    const ready = await h.call('GET', '/readyz')
    t.equal(ready.status, 503, 'not ready: document reads are refused')
    t.equal(ready.json.checks.redis, false)
    t.equal((await h.call('GET', '/healthz')).status, 200, 'alive all the same')
  })

  t.test('refuse (the default): every limited request gets 503, public routes do not', async (t) => {
    const h = await startGateway(t, { redis })
    t.equal(h.config.redis?.onUnavailable, 'refuse')
    for (const path of ['/v1/grants', '/v1/grants/g1/documents/main-01-appeal']) {
      const refused = await within(DEADLINE_MS, path, h.call('GET', path, { token: tokenOf(h, 'prosecutor') }))
      t.equal(refused.status, 503, `${path}: ${refused.text}`)
      t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.equal(refused.json.code, 'LIMITS_UNAVAILABLE')
    }
    const unverified = await h.call('GET', '/v1/grants', { headers: { authorization: 'Bearer not-a-token' } })
    t.equal(unverified.json.code, 'LIMITS_UNAVAILABLE', 'the address limit, before authentication, refuses too')
    t.equal((await h.call('GET', '/.well-known/jwks.json')).status, 200, 'public routes are never limited')
    t.equal((await h.call('GET', '/readyz')).status, 503)
  })

  t.test('allow-all: document reads go through uncounted and readiness does not depend on Redis', async (t) => {
    const h = await startGateway(t, { redis: { ...redis, onUnavailable: 'allow-all' } })
    const read = await readyToRead(t, h)
    t.equal((await read()).status, 200)
    const ready = await h.call('GET', '/readyz')
    t.equal(ready.status, 200)
    t.equal(ready.json.checks.redis, false, 'the check still says Redis is down')
  })
})

/** Starts a redis-server of this test's own, without persistence, and waits (bounded) until it answers. */
async function startRedis(t: Test, port: number): Promise<ChildProcess> {
  const child = spawn(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await until(DEADLINE_MS, `redis-server on ${port}`, async () =>
    (await redisReachable(`redis://127.0.0.1:${port}`)) ? true : undefined,
  )
  return child
}

t.test(
  'Redis killed and restarted under load: no request hangs or crashes, and the limits come back',
  { skip: ownRedis },
  async (t) => {
    const port = await closedPort()
    let server = await startRedis(t, port)
    const h = await startGateway(t, {
      redis: {
        url: `redis://127.0.0.1:${port}`,
        keyPrefix: uniquePrefix(),
        connectTimeoutMs: 500,
        commandTimeoutMs: 500,
      },
      limits: { requestsPerMinute: 100_000, organisationRequestsPerMinute: 100_000, documentsPerDay: 100_000 },
    })
    const read = await readyToRead(t, h)
    const prosecutor = tokenOf(h, 'prosecutor')

    const seen: Array<{ status: number; code: string | undefined; ms: number }> = []
    let running = true
    const worker = async (i: number) => {
      while (running) {
        const started = Date.now()
        const response =
          i % 2 === 0
            ? await read()
            : await within(DEADLINE_MS, 'listing', h.call('GET', '/v1/grants', { token: prosecutor }))
        seen.push({ status: response.status, code: response.json?.code, ms: Date.now() - started })
      }
    }
    const load = Promise.all(Array.from({ length: 6 }, (_, i) => worker(i)))
    const count = (ok: (s: (typeof seen)[number]) => boolean) => seen.filter(ok).length
    try {
      await until(DEADLINE_MS, 'reads served before the kill', async () =>
        count((s) => s.status === 200) >= 10 ? true : undefined,
      )

      const killed = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGKILL')
      await killed
      const before = seen.length
      await until(DEADLINE_MS, 'refusals while Redis is down', async () =>
        count((s) => s.code === 'LIMITS_UNAVAILABLE') >= 10 ? true : undefined,
      )
      t.ok(seen.length > before, 'requests keep being answered while Redis is down')
      const down = await h.call('GET', '/readyz')
      t.equal(down.status, 503)
      t.equal(down.json.checks.redis, false)

      server = await startRedis(t, port)
      const refusedSoFar = count((s) => s.code === 'LIMITS_UNAVAILABLE')
      const servedSoFar = count((s) => s.status === 200)
      await until(DEADLINE_MS, 'reads served again after the restart', async () =>
        count((s) => s.status === 200) >= servedSoFar + 10 ? true : undefined,
      )
      t.ok(refusedSoFar >= 10, `${refusedSoFar} requests refused while Redis was down`)
      const up = await until(DEADLINE_MS, 'ready again', async () => {
        const ready = await h.call('GET', '/readyz')
        return ready.status === 200 ? ready : undefined
      })
      t.equal(up.json.checks.redis, true)
    } finally {
      running = false
      await load
    }
    const unexpected = seen.filter((s) => s.status !== 200 && !(s.status === 503 && s.code === 'LIMITS_UNAVAILABLE'))
    t.same(unexpected, [], 'every answer was a success or 503 LIMITS_UNAVAILABLE')
    t.comment(
      `${seen.length} requests: ${count((s) => s.status === 200)} served, ${count((s) => s.status === 503)} refused; slowest ${Math.max(...seen.map((s) => s.ms))} ms`,
    )
    t.ok(h.gateway.app.server.listening, 'the gateway still serves')
  },
)

t.test(
  'a Redis that stops answering (SIGSTOP): requests are refused after the command timeout, not held',
  { skip: ownRedis },
  async (t) => {
    const port = await closedPort()
    const server = await startRedis(t, port)
    const h = await startGateway(t, {
      redis: {
        url: `redis://127.0.0.1:${port}`,
        keyPrefix: uniquePrefix(),
        onUnavailable: 'allow-requests',
        commandTimeoutMs: 300,
      },
    })
    const read = await readyToRead(t, h)
    t.equal((await read()).status, 200)

    server.kill('SIGSTOP')
    t.teardown(() => server.kill('SIGCONT'))
    // The connection stays open and silent: only the command timeout ends the wait.
    const refused = await read()
    t.equal(refused.status, 503, refused.text)
    t.equal(refused.json.code, 'LIMITS_UNAVAILABLE')
    const listing = await within(
      DEADLINE_MS,
      'listing',
      h.call('GET', '/v1/grants', { token: tokenOf(h, 'prosecutor') }),
    )
    t.equal(listing.status, 200, 'request limits fail open as configured')
    const ready = await within(DEADLINE_MS, 'readiness', h.call('GET', '/readyz'))
    t.equal(ready.status, 503)
    t.equal(ready.json.checks.redis, false)

    server.kill('SIGCONT')
    const served = await until(DEADLINE_MS, 'reads served again', async () => {
      const response = await read()
      return response.status === 200 ? response : undefined
    })
    t.equal(served.status, 200)
  },
)
