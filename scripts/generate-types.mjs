// Generates TypeScript types from the OpenAPI specs. Run with `npm run generate`; test/unit/openapi.ts reuses
// `generate` to fail when a committed file no longer matches its spec.
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString } from 'openapi-typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Each spec and the file generated from it, relative to the repository root. */
export const SPECS = [
  { spec: 'openapi/gateway.yaml', out: 'src/generated/gateway.ts' },
  { spec: 'openapi/adapter.yaml', out: 'src/generated/adapter.ts' },
]

/** The generated module for one spec (a path relative to the repository root, or absolute). */
export async function generate(specPath) {
  const absolute = resolve(root, specPath)
  // A posix path keeps the header identical whichever machine generated the file.
  const name = relative(root, absolute).split(sep).join('/')
  const ast = await openapiTS(pathToFileURL(absolute))
  const header = `/**\n * Generated from ${name} by scripts/generate-types.mjs — do not edit.\n */\n\n`
  return header + astToString(ast)
}

async function main() {
  for (const { spec, out } of SPECS) {
    const specFile = resolve(root, spec)
    if (!existsSync(specFile)) {
      console.log(`skipped ${spec}: it does not exist yet`)
      continue
    }
    const target = resolve(root, out)
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, await generate(spec))
    console.log(`${spec} -> ${out}`)
  }
}

// Importing the module (as the staleness test does) must not rewrite the committed files.
const invokedAs = process.argv[1] ? realpathSync(resolve(process.argv[1])) : undefined
if (invokedAs === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  })
}
