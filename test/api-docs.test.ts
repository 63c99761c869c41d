import t from 'tap'
import { startGateway } from './helpers/harness.js'

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
