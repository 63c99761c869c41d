import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { PROJECT_ROOT } from '../paths.js'
import type { IssuerConfig } from '../config/types.js'
import type { Services } from '../services.js'
import { GatewayError } from './errors.js'
import { specRoute } from './spec-route.js'

/** Where `npm run build` (scripts/build-console.mjs) writes the auditor console. */
export const CONSOLE_DIR = join(PROJECT_ROOT, 'dist', 'console')

/**
 * Everything the page loads comes from this origin, no script is inline and nothing is evaluated: the page
 * holds a bearer token and decides what an auditor believes about the log, so an injected script must not run.
 * The only other places it may talk to are the origins of the issuers it signs in with (their discovery
 * document and token endpoint, called from the page); it reaches their authorisation endpoints by navigating
 * there, which no directive governs, so forms stay forbidden.
 */
export function consoleCsp(signInOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    ["connect-src 'self'", ...signInOrigins].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** The policy of a gateway whose issuers offer no console sign-in. */
export const CONSOLE_CSP = consoleCsp()

/** The issuers that offer console sign-in, as GET /console/sign-in tells the page. */
export function signInIssuers(issuers: readonly IssuerConfig[]) {
  return issuers.flatMap(({ issuer, consoleSignIn: s }) =>
    s
      ? [
          {
            issuer,
            label: s.label ?? `Sign in with ${new URL(s.discoveryUrl).host}`,
            clientId: s.clientId,
            scopes: s.scopes,
            discoveryUrl: s.discoveryUrl,
            ...(s.resource ? { resource: s.resource } : {}),
          },
        ]
      : [],
  )
}

const MEDIA_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
}

/**
 * The auditor console (docs/auditors.md#the-console): a static page and its content-hashed assets, read once
 * at start-up. The page is public; every answer it shows comes from the API with the auditor's own token, so
 * the API alone decides what an auditor sees. Without a build, /console is 404 and the API is unaffected.
 */
export async function consoleRoutes(app: FastifyInstance, services: Services, dir = CONSOLE_DIR): Promise<void> {
  const index = existsSync(join(dir, 'index.html')) ? readFileSync(join(dir, 'index.html')) : undefined
  const assets = new Map<string, { body: Buffer; type: string }>()
  const assetDir = join(dir, 'assets')
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      const type = MEDIA_TYPES[name.slice(name.lastIndexOf('.'))]
      if (type) assets.set(name, { body: readFileSync(join(assetDir, name)), type })
    }
  }
  const open = { config: { public: true } }
  const signIn = { issuers: signInIssuers(services.config.identity.issuers) }
  // The page fetches an issuer's discovery document and posts to its token endpoint, which the console requires
  // to share the discovery document's origin (console/src/oidc.ts): one origin per issuer is all it needs.
  const origins = [...new Set(signIn.issuers.map((i) => new URL(i.discoveryUrl).origin))]
  const secure = {
    'content-security-policy': consoleCsp(origins),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  }

  specRoute(
    app,
    services.spec,
    'getConsole',
    async (_request, reply) => {
      if (!index) throw new GatewayError('NOT_FOUND', 'the console is not built: run npm run build')
      // The page names the current assets, so it is revalidated; the assets themselves never change.
      return reply
        .type('text/html; charset=utf-8')
        .headers({ ...secure, 'cache-control': 'no-cache' })
        .send(index)
    },
    open,
  )

  specRoute(
    app,
    services.spec,
    'getConsoleSignIn',
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(signIn),
    open,
  )

  app.get('/console/assets/:name', open, async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name)
    if (!asset) throw new GatewayError('NOT_FOUND', 'no such console asset')
    return reply
      .type(asset.type)
      .headers({ ...secure, 'cache-control': 'public, max-age=31536000, immutable' })
      .send(asset.body)
  })
}
