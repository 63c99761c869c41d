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
// Then dist/prebuilt (scripts/build-artifacts.ts), as `npm run build` does, unless nothing it is made from has
// changed since it was last made here and it is as it was then (dist/.prebuilt-inputs records both). Whether it
// is what the build makes now is a test of its own, which rebuilds it (test/build-artifacts.test.ts).
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
// Without tap's NODE_OPTIONS: its coverage recorder would slow the compiler down and record nothing of ours.
const { NODE_OPTIONS: _, NODE_V8_COVERAGE: __, ...env } = process.env
const result = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.check.json', '--noCheck'], {
  cwd: root,
  env,
  stdio: 'inherit',
})
if (result.status !== 0) {
  console.error(`build-dist: tsc failed (${result.status ?? result.signal}); no test can run a child process`)
  process.exit(1)
}

/** A digest of the files under `dirs` (recursively, in a fixed order), with their paths. */
function digestOf(dirs, filter = () => true) {
  const hash = createHash('sha256')
  for (const dir of dirs) {
    const absolute = join(root, dir)
    if (!existsSync(absolute)) {
      hash.update(`missing ${dir}\n`)
      continue
    }
    const files = readdirSync(absolute, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && filter(entry.name))
      .map((entry) => join(entry.parentPath, entry.name))
      .sort()
    for (const file of files) hash.update(`${file.slice(root.length)}\n`).update(readFileSync(file))
  }
  return hash.digest('hex')
}

// What scripts/build-artifacts.ts makes dist/prebuilt from: the specs, the directory's schema, the compiled
// product (every schema it compiles is in its code) and the versions of the libraries that generate the code.
const versions = ['ajv', 'ajv-formats', 'yaml'].map((name) => `${name}@${require(`${name}/package.json`).version}`)
const inputs = `${digestOf(['openapi', 'config/directory', 'dist/src', 'dist/scripts'], (name) => !name.endsWith('.map'))} ${versions.join(' ')}`
const record = join(root, 'dist', '.prebuilt-inputs')
const made = () => digestOf(['dist/prebuilt'])
if (existsSync(record) && readFileSync(record, 'utf8') === `${inputs}\n${made()}\n`) process.exit(0)

const artifacts = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'build-artifacts.js')], {
  cwd: root,
  env,
  stdio: 'inherit',
})
if (artifacts.status !== 0) {
  console.error(`build-dist: scripts/build-artifacts.ts failed (${artifacts.status ?? artifacts.signal})`)
  process.exit(1)
}
writeFileSync(record, `${inputs}\n${made()}\n`)
