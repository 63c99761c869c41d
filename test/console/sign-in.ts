import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync } from 'node:fs'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Provider from 'oidc-provider'
import type { Page } from 'playwright-core'
import t from 'tap'
import Fastify from 'fastify'
import { CONSOLE_CSP, consoleCsp, consoleRoutes } from '../../src/http/console-routes.js'
import { loadSpec } from '../../src/http/openapi.js'
import problemPlugin from '../../src/http/problem-plugin.js'
import { specValidatorCompiler } from '../../src/http/validator-compiler.js'
import { GATEWAY_SPEC, PROJECT_ROOT } from '../../src/paths.js'
import type { Services } from '../../src/services.js'
import { accessible, CHROMIUM, DEADLINE, newBrowserContext } from '../helpers/browser.js'
import { buildConsole } from '../helpers/console-build.js'
import { eventually, type Harness, startGateway, testConfig, tokenOf } from '../helpers/harness.js'

/**
 * Console sign-in with a real OpenID Connect provider (panva's oidc-provider, in this process on a loopback
 * port): Chromium goes through the authorisation-code flow with PKCE, the console redeems the code at the
 * provider's token endpoint, and the gateway accepts the provider's JWT access token as the auditor's own.
 */
// Refreshed in docs/screenshots only on request, as test/console.test.ts does; otherwise a scratch folder.
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(PROJECT_ROOT, 'docs', 'screenshots')
  : mkdtempSync(join(tmpdir(), 'console-shots-'))
const AUDIENCE = 'court-file-gateway'
const RESOURCE = 'urn:court-file-gateway'
const CLIENT_ID = 'auditor-console'
const LABEL = 'Sign in with the provincial identity provider'
/** The provider's people and the organisation and roles its access tokens say they have. */
const ACCOUNTS: Record<string, { org: string; roles: string[] }> = {
  'audit.kc': { org: 'HLJ-AUDIT', roles: ['auditor'] },
}

/** The provider, listening before the gateway starts (the gateway must know its address), configured after. */
async function startProvider(t: Tap) {
  let handle: RequestListener = (_request, response) => {
    response.statusCode = 503
    response.end()
  }
  const server = createServer((request, response) => handle(request, response))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const requests: string[] = []
  const configure = (redirectUri: string) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const provider = new Provider(issuer, {
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'op-1', alg: 'ES256', use: 'sig' }] },
      clients: [
        {
          client_id: CLIENT_ID,
          // A public client: the browser holds no secret, PKCE binds the code to the tab that asked for it.
          token_endpoint_auth_method: 'none',
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          id_token_signed_response_alg: 'ES256',
        },
      ],
      pkce: { required: () => true },
      cookies: { keys: ['console-sign-in-test'] },
      clientBasedCORS: (_ctx: unknown, origin: string) => origin === new URL(redirectUri).origin,
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      // The gateway reads `org` and `roles` (its default claim names) from the access token.
      extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => ACCOUNTS[token.accountId ?? ''] ?? {},
      ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`)
            return {
              audience: AUDIENCE,
              scope: 'audit',
              accessTokenTTL: 600,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            }
          },
        },
      },
    })
    const callback = provider.callback()
    handle = (request, response) => {
      requests.push(`${request.method} ${request.url?.split('?')[0]}`)
      callback(request, response)
    }
  }
  return { issuer, configure, requests }
}

type Tap = { teardown(fn: () => unknown): void }

t.test('the issuers offered to the console, and the policy that lets the page reach them', async (t) => {
  const app = Fastify()
  app.setValidatorCompiler(specValidatorCompiler())
  await app.register(problemPlugin)
  const dir = t.testdir({ 'index.html': '<!doctype html>', assets: { 'main-A.js': '' } })
  const issuer = (name: string, consoleSignIn?: Record<string, unknown>) => ({
    issuer: `https://${name}`,
    jwksUrl: `https://${name}/jwks`,
    algorithms: ['ES256'],
    orgKinds: ['audit'],
    ...(consoleSignIn ? { consoleSignIn } : {}),
  })
  const config = testConfig(dir, {
    identity: {
      audience: AUDIENCE,
      issuers: [
        issuer('sso.jcy.example/realms/hlj', { clientId: 'console' }),
        issuer('court-sso.example'),
        issuer('sso.jcy.example/realms/audit', { clientId: 'c2', label: 'Audit office', scopes: ['openid', 'x'] }),
        issuer('id.example', {
          clientId: 'c3',
          discoveryUrl: 'https://login.example/id/.well-known/openid-configuration',
        }),
      ],
    },
  })
  await consoleRoutes(app, { spec: loadSpec(GATEWAY_SPEC), config } as Services, dir)
  t.teardown(() => app.close())
  const offered = await app.inject('/console/sign-in')
  t.equal(offered.headers['cache-control'], 'no-cache')
  t.same(offered.json(), {
    issuers: [
      {
        issuer: 'https://sso.jcy.example/realms/hlj',
        label: 'Sign in with sso.jcy.example',
        clientId: 'console',
        scopes: ['openid'],
        discoveryUrl: 'https://sso.jcy.example/realms/hlj/.well-known/openid-configuration',
      },
      {
        issuer: 'https://sso.jcy.example/realms/audit',
        label: 'Audit office',
        clientId: 'c2',
        scopes: ['openid', 'x'],
        discoveryUrl: 'https://sso.jcy.example/realms/audit/.well-known/openid-configuration',
      },
      {
        issuer: 'https://id.example',
        label: 'Sign in with login.example',
        clientId: 'c3',
        scopes: ['openid'],
        discoveryUrl: 'https://login.example/id/.well-known/openid-configuration',
      },
    ],
  })
  const expected = consoleCsp(['https://sso.jcy.example', 'https://login.example'])
  t.match(expected, "connect-src 'self' https://sso.jcy.example https://login.example;", 'each origin once')
  t.equal((await app.inject('/console')).headers['content-security-policy'], expected)
  t.equal((await app.inject('/console/assets/main-A.js')).headers['content-security-policy'], expected)
  t.equal(consoleCsp([]), CONSOLE_CSP, 'no issuer, no other origin')
  t.match(CONSOLE_CSP, "connect-src 'self';")
})

t.test('signing in to the console with an OpenID Connect provider', async (t) => {
  await buildConsole()
  const op = await startProvider(t)
  const h = await startGateway(t, {
    identity: {
      audience: AUDIENCE,
      issuers: [
        {
          issuer: op.issuer,
          jwksUrl: `${op.issuer}/jwks`,
          algorithms: ['ES256'],
          orgKinds: ['audit'],
          consoleSignIn: { clientId: CLIENT_ID, label: LABEL, scopes: ['openid', 'audit'], resource: RESOURCE },
        },
      ],
    },
  })
  op.configure(`${h.url}/console`)

  const offered = await h.call('GET', '/console/sign-in')
  t.same(offered.json, {
    issuers: [
      {
        issuer: op.issuer,
        label: LABEL,
        clientId: CLIENT_ID,
        scopes: ['openid', 'audit'],
        discoveryUrl: `${op.issuer}/.well-known/openid-configuration`,
        resource: RESOURCE,
      },
    ],
  })
  const page = await h.call('GET', '/console')
  t.equal(page.headers['content-security-policy'], consoleCsp([op.issuer]))
  t.match(page.headers['content-security-policy'], `connect-src 'self' ${op.issuer};`)
  t.match(page.headers['content-security-policy'], "form-action 'none'", 'still no form may post anywhere')

  if (!existsSync(CHROMIUM)) {
    t.comment(`SKIPPED: ${CHROMIUM} is missing (Debian package chromium): sign-in was not tested in a browser`)
    return
  }
  const context = await newBrowserContext(t)
  const cspViolations: string[] = []
  context.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text())
  })

  await t.test('an auditor signs in at the provider and sees the log as themself', async (t) => {
    const tab = await context.newPage()
    await tab.goto(`${h.url}/console`)
    await tab.getByRole('button', { name: LABEL }).waitFor({ timeout: DEADLINE })
    await accessible(t, tab, 'sign-in view with an issuer')
    await tab.screenshot({ path: join(SHOTS, 'console-sign-in-issuer.png') })
    const authorisation = tab.waitForRequest((r) => r.url().startsWith(`${op.issuer}/auth?`), { timeout: DEADLINE })
    await tab.getByRole('button', { name: LABEL }).click()
    const asked = new URL((await authorisation).url()).searchParams
    t.equal(asked.get('response_type'), 'code')
    t.equal(asked.get('client_id'), CLIENT_ID)
    t.equal(asked.get('redirect_uri'), `${h.url}/console`)
    t.equal(asked.get('scope'), 'openid audit')
    t.equal(asked.get('resource'), RESOURCE)
    t.equal(asked.get('code_challenge_method'), 'S256')
    t.match(asked.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
    t.match(asked.get('state'), /^[A-Za-z0-9_-]{43}$/)
    t.match(asked.get('nonce'), /^[A-Za-z0-9_-]{43}$/)

    await logIn(tab, 'audit.kc')
    await tab.getByText('Nothing is verified: pin the verifier key first.').waitFor({ timeout: DEADLINE })
    t.equal(tab.url(), `${h.url}/console`, 'the code left the address bar')
    t.ok(op.requests.includes('POST /token'), 'the browser redeemed the code at the token endpoint')
    const stored = (await tab.evaluate('({ ...sessionStorage })')) as Record<string, string>
    t.same(Object.keys(stored), ['cfg.token'], 'the tab keeps the token and nothing of the finished sign-in')
    t.same(await tab.evaluate('Object.keys(localStorage)'), [], 'nothing in localStorage')
    const claims = JSON.parse(Buffer.from(stored['cfg.token']!.split('.')[1]!, 'base64url').toString())
    t.match(claims, { iss: op.issuer, aud: AUDIENCE, sub: 'audit.kc', org: 'HLJ-AUDIT', roles: ['auditor'] })

    // The console's own query is in the log as this person of this issuer: the gateway took the token.
    await tab.locator('#entries tbody tr').first().waitFor({ timeout: DEADLINE })
    const logged = await eventually(async () => {
      const found = await h.call('GET', '/v1/audit/entries?action=audit.query&actor=audit.kc', {
        token: tokenOf(h, 'auditor'),
      })
      return found.json.items.length > 0 ? found.json.items : undefined
    })
    t.match(logged[0].entry, { actor: { sub: 'audit.kc', org: 'HLJ-AUDIT', issuer: op.issuer }, decision: 'allow' })
    await tab.getByLabel('Person (sub)').fill('audit.kc')
    await tab.getByRole('button', { name: 'Search' }).click()
    await eventually(async () =>
      (await who(tab)).length > 0 && (await who(tab)).every((w) => /audit\.kc/.test(w)) ? true : undefined,
    )
    await accessible(t, tab, 'log view after sign-in')

    await tab.getByRole('button', { name: 'Sign out' }).click()
    await tab.getByRole('button', { name: LABEL }).waitFor({ timeout: DEADLINE })
    t.same(await tab.evaluate('Object.keys(sessionStorage)'), [], 'signing out forgets the token')
    await tab.close()
  })

  await t.test('an answer this tab did not ask for is refused (bad state)', async (t) => {
    const tab = await context.newPage()
    await startSignIn(tab, h, op.issuer)
    const before = op.requests.filter((r) => r === 'POST /token').length
    await tab.goto(`${h.url}/console?code=stolen-code&state=not-the-state&iss=${encodeURIComponent(op.issuer)}`)
    await alert(
      tab,
      /^Sign-in failed: The answer from the issuer does not match the sign-in this tab started \(bad state\)\.$/,
    )
    t.equal(op.requests.filter((r) => r === 'POST /token').length, before, 'the code was never sent anywhere')
    t.equal(tab.url(), `${h.url}/console`)
    await tab.getByLabel('Bearer token').waitFor({ timeout: DEADLINE })
    await accessible(t, tab, 'failed sign-in')
    await tab.screenshot({ path: join(SHOTS, 'console-sign-in-bad-state.png') })
    // The sign-in was used up: the same answer again finds nothing to finish.
    await tab.goto(`${h.url}/console?code=stolen-code&state=not-the-state`)
    await alert(tab, /No sign-in was started in this tab, or it was already finished/)
    await tab.close()
  })

  await t.test('a refusal at the provider is shown plainly', async (t) => {
    const tab = await context.newPage()
    await startSignIn(tab, h, op.issuer)
    await tab.getByRole('link', { name: '[ Cancel ]' }).click()
    await alert(
      tab,
      new RegExp(
        `^Sign-in failed: ${op.issuer} refused the sign-in: access_denied \\(End-User aborted interaction\\)\\.$`,
      ),
    )
    t.same(await tab.evaluate('Object.keys(sessionStorage)'), [], 'no token')
    await tab.close()
  })

  await t.test('a code the token endpoint refuses is shown plainly', async (t) => {
    const tab = await context.newPage()
    const state = await startSignIn(tab, h, op.issuer)
    await tab.goto(`${h.url}/console?code=made-up&state=${state}&iss=${encodeURIComponent(op.issuer)}`)
    await alert(tab, new RegExp(`^Sign-in failed: The token endpoint at ${op.issuer}/token refused: 400 invalid_grant`))
    t.same(await tab.evaluate('Object.keys(sessionStorage)'), [], 'no token')
    await tab.close()
  })

  t.same(cspViolations, [], 'the page never broke its Content-Security-Policy')
})

/** The provider's development login and consent pages (features.devInteractions): any password will do. */
async function logIn(tab: Page, login: string) {
  await tab.locator('input[name=login]').fill(login, { timeout: DEADLINE })
  await tab.locator('input[name=password]').fill('any password')
  await tab.getByRole('button', { name: 'Sign-in' }).click()
  await tab.getByRole('button', { name: 'Continue' }).click({ timeout: DEADLINE })
}

/** Starts a sign-in in `tab` and stops at the provider's login page; returns the state the console sent. */
async function startSignIn(tab: Page, h: Harness, issuer: string): Promise<string> {
  // Without the provider's session cookie the provider asks for a login again rather than answering at once.
  await tab.context().clearCookies()
  await tab.goto(`${h.url}/console`)
  const authorisation = tab.waitForRequest((r) => r.url().startsWith(`${issuer}/auth?`), { timeout: DEADLINE })
  await tab.getByRole('button', { name: LABEL }).click({ timeout: DEADLINE })
  const state = new URL((await authorisation).url()).searchParams.get('state')!
  await tab.locator('input[name=login]').waitFor({ timeout: DEADLINE })
  return state
}

async function alert(tab: Page, text: RegExp) {
  await tab.getByRole('alert').filter({ hasText: text }).waitFor({ timeout: DEADLINE })
}

const who = (tab: Page) => tab.locator('#entries tbody tr td:nth-child(3)').allTextContents()
