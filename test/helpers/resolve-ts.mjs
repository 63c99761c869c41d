// Loaded by tap into every test process (`node-arg` in .taprc): the tests and the sources they import run as
// TypeScript through Node's own type stripping (no transpiler: positions stay as written, so coverage maps
// to the sources without source maps). Node does not map the `.js` specifiers that TypeScript's NodeNext
// resolution asks for onto the `.ts` files beside them; this hook does, for the project's own relative
// imports only. `tsconfig.json` sets `erasableSyntaxOnly` so the type check refuses syntax Node cannot strip.
import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { fileURLToPath } from 'node:url'

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL
    if (
      specifier.endsWith('.js') &&
      (specifier.startsWith('./') || specifier.startsWith('../')) &&
      parent?.startsWith('file:') &&
      !parent.includes('/node_modules/')
    ) {
      const source = new URL(`${specifier.slice(0, -3)}.ts`, parent)
      if (existsSync(fileURLToPath(source))) return nextResolve(source.href, context)
    }
    return nextResolve(specifier, context)
  },
})
