import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { PROJECT_ROOT } from '../../src/paths.js'

/**
 * scripts/build-console.mjs's buildConsole (what `npm run build` runs), for tests whose gateway serves the
 * console: it builds dist/console, which a gateway reads when it starts. A variable specifier keeps tsc from
 * asking for declarations of the plain-JavaScript script.
 */
export function buildConsole(): Promise<{ files: string[]; gzipBytes: number }> {
  built ??= (async () => {
    const script = pathToFileURL(join(PROJECT_ROOT, 'scripts', 'build-console.mjs')).href
    const module = (await import(script)) as { buildConsole: () => Promise<{ files: string[]; gzipBytes: number }> }
    return module.buildConsole()
  })()
  return built
}

/**
 * Built once per test process: the sources do not change while it runs, and test/console.test.ts runs the sign-in
 * test (test/console/sign-in.ts) in the same process.
 */
let built: Promise<{ files: string[]; gzipBytes: number }> | undefined
