// Loaded by tap into every test process (`node-arg` in .taprc). The test files themselves run as TypeScript
// through Node's own type stripping (no transpiler). What they import of the product — src/, examples/,
// scripts/ — is loaded from the compiled dist/ that tap's `before` step keeps up to date, the very files the
// tests' child processes (a served gateway, the CLI) run. In-process and child coverage are then recorded on
// the same JavaScript with the same source maps and merge exactly; sources stripped in-process would map to
// slightly different columns than the children's source-mapped ones and count every function twice.
// Anything else relative (test helpers, the console's browser modules) resolves from `.js` to the `.ts` file
// beside it, which Node's NodeNext-style specifiers need and Node does not do itself.
import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// Source maps for the product, not for node_modules (see there).
import './source-maps.mjs'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const DIST = join(ROOT, 'dist')
const COMPILED = ['src', 'examples', 'scripts']

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL
    if (
      !specifier.endsWith('.js') ||
      !(specifier.startsWith('./') || specifier.startsWith('../')) ||
      !parent?.startsWith('file:') ||
      parent.includes('/node_modules/') ||
      fileURLToPath(parent).startsWith(DIST + sep)
    ) {
      return nextResolve(specifier, context)
    }
    const target = fileURLToPath(new URL(specifier, parent))
    const inProject = relative(ROOT, target)
    if (COMPILED.includes(inProject.split(sep)[0] ?? '')) {
      const compiled = join(DIST, inProject)
      if (existsSync(compiled)) return nextResolve(pathToFileURL(compiled).href, context)
    }
    const source = `${target.slice(0, -3)}.ts`
    if (existsSync(source)) return nextResolve(pathToFileURL(source).href, context)
    return nextResolve(specifier, context)
  },
})
