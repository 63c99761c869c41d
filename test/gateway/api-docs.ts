import t from 'tap'
import { startGateway } from '../helpers/harness.js'

t.test('the served description works from any host and says where a token comes from', async (t) => {
  const h = await startGateway(t)
  for (const path of ['/openapi.json', '/docs/json']) {
    const spec = (await h.call('GET', path)).json
    t.same(
      spec.servers.map((server: { url: string }) => server.url),
      ['/'],
      `${path}: relative server URL`,
    )
    t.match(spec.info.description, 'court-file-gateway token --sub', `${path}: the dev issuer's command`)
    t.match(spec.info.description, "organisation's identity provider", `${path}: production tokens`)
  }
})

// The reference is built on its first request (src/http/docs-routes.ts): its pages and assets come through the
// gateway's own routes, with their headers, and what the reference does not hold is the gateway's own 404.
t.test('the reference page, its assets and its 404s come through the gateway', async (t) => {
  const h = await startGateway(t)
  const page = await h.call('GET', '/docs/')
  t.equal(page.status, 200)
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.text, 'swagger-initializer.js')
  const script = await h.call('GET', '/docs/static/swagger-ui-bundle.js')
  t.equal(script.status, 200)
  t.match(script.headers['content-type'], 'javascript')
  t.ok(script.headers.etag, 'the asset keeps its entity tag')
  const again = await h.call('GET', '/docs/static/swagger-ui-bundle.js', {
    headers: { 'if-none-match': String(script.headers.etag) },
  })
  t.equal(again.status, 304, 'a cached asset is not sent again')
  const yaml = await h.call('GET', '/docs/yaml')
  t.equal(yaml.status, 200)
  t.match(yaml.text, 'openapi:')
  for (const path of ['/docs/static/no-such-file.js', '/docs/nothing-here']) {
    const missing = await h.call('GET', path)
    t.equal(missing.status, 404, path)
    t.equal(missing.json.code, 'NOT_FOUND', `${path}: the gateway's problem answer`)
  }
})
