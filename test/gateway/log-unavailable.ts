import Database from 'better-sqlite3'
import t from 'tap'
import { openGrant, registerAdapter, startAdapter, startGateway, tokenOf } from '../helpers/harness.js'

t.test('fail closed: when the access log cannot be written nothing is served', async (t) => {
  const h = await startGateway(t)
  const court = await startAdapter(t, h.url)
  await registerAdapter(h, court.url)
  const prosecutor = tokenOf(h, 'prosecutor')
  const grant = await openGrant(h)
  const before = court.seen.length

  // A real fault: another process holds the database's write lock, so every append times out.
  const locker = new Database(`${h.dir}/gateway.db`)
  // Taken once the writer thread's own short writes (the index copies after a commit) are over.
  locker.pragma('busy_timeout = 10000')
  locker.exec('BEGIN EXCLUSIVE')
  const blocked = await h.call('GET', `/v1/grants/${grant.id}/case`, { token: prosecutor })
  t.equal(blocked.status, 503)
  t.equal(blocked.json.code, 'ACCESS_LOG_UNAVAILABLE')
  t.notMatch(blocked.text, /SQLITE|database/i, 'no internals leak')
  const document = await h.call('GET', `/v1/grants/${grant.id}/documents/main-05-judgment`, { token: prosecutor })
  t.equal(document.status, 503, 'a document read is refused too')
  // The quota is counted in memory (its floor after a crash is the log's intents), so what fails is the intent.
  t.equal(document.json.code, 'ACCESS_LOG_UNAVAILABLE', 'its intent cannot be logged')
  t.equal(court.seen.length, before, 'the court was not contacted: its intent could not be logged')
  locker.exec('ROLLBACK')
  locker.close()

  const after = await h.call('GET', `/v1/grants/${grant.id}/documents/main-05-judgment`, { token: prosecutor })
  t.equal(after.status, 200, 'the gateway recovers once the log can be written again')
  t.ok(Number(after.headers['access-log-index']) >= 0)
})
