// tap's `before` step (.taprc): child processes in tests (the CLI, a served gateway, the reference adapter) run
// the compiled JavaScript in dist/, as in production, never the sources through a TypeScript loader; so dist/
// is brought up to date once, before any test file runs. It only emits (`--noCheck`): type-checking is
// `npm run typecheck`'s job, which `npm test` runs first over the sources and the tests together, so checking
// the sources a second time here would only cost time. tsc is incremental: with nothing changed it takes a
// second. Type errors therefore do not stop the tests; any other failure of tsc does. Then dist/prebuilt is
// generated (scripts/build-artifacts.ts), as `npm run build` does.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
// Without tap's NODE_OPTIONS: its coverage recorder would slow the compiler down and record nothing of ours.
const { NODE_OPTIONS: _, ...env } = process.env
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck'], {
  cwd: root,
  env,
  stdio: 'inherit',
})
if (result.status !== 0) {
  console.error(`build-dist: tsc failed (${result.status ?? result.signal}); no test can run a child process`)
  process.exit(1)
}
// The start-up work done at build time (the specs as JSON, the prebuilt validators), as `npm run build` does.
const artifacts = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'build-artifacts.js')], {
  cwd: root,
  env,
  stdio: 'inherit',
})
if (artifacts.status !== 0) {
  console.error(`build-dist: scripts/build-artifacts.ts failed (${artifacts.status ?? artifacts.signal})`)
  process.exit(1)
}
