// tap's `before` step (.taprc): child processes in tests (the CLI, a served gateway, the reference adapter) run
// the compiled JavaScript in dist/, as in production, never the sources through a TypeScript loader; so dist/
// is brought up to date once, before any test file runs.
//
// The compilation is `npm run typecheck`'s own build (tsconfig.check.json, `tsc -b`), which `npm test` has just
// run: checked and emitted in one pass, it is up to date here and this takes a fraction of a second. Run alone
// (`npx tap test/x.test.ts` after an edit), it emits what changed without checking (`--noCheck`): type errors do
// not stop the tests, and the next type check still reports them (build mode records the check as pending).
// Any other failure of tsc stops the run.
//
// Then dist/prebuilt (scripts/build-artifacts.ts), as `npm run build` does; test/cli/build-artifacts.ts checks what
// it wrote.
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
// Without tap's process recorder and coverage (NODE_OPTIONS), which would record the compiler, ten seconds of CPU
// even when there is nothing to compile. Through env(1): tap's recorder puts NODE_OPTIONS back into the environment
// of every process started from here.
const result = spawnSync(
  'env',
  ['-u', 'NODE_OPTIONS', process.execPath, tsc, '-b', 'tsconfig.check.json', '--noCheck'],
  {
    cwd: root,
    stdio: 'inherit',
  },
)
if (result.status !== 0) {
  console.error(`build-dist: tsc failed (${result.status ?? result.signal}); no test can run a child process`)
  process.exit(1)
}

// With them: the script's own code is covered by this run of it.
const artifacts = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'build-artifacts.js')], {
  cwd: root,
  stdio: 'inherit',
})
if (artifacts.status !== 0) {
  console.error(`build-dist: scripts/build-artifacts.ts failed (${artifacts.status ?? artifacts.signal})`)
  process.exit(1)
}
