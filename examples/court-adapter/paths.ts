import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The project root, found by walking up to package.json: this file runs both from `examples/` (tsx) and from
 * `dist/examples/` (after the build), so a fixed `../..` would be right in only one of them.
 */
export function packageRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = path.resolve(start)
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${start}`)
    dir = parent
  }
}

/** The synthetic cases shipped with the source tree (never copied into dist/). */
export function shippedCasesDir(): string {
  return path.join(packageRoot(), 'examples', 'court-adapter', 'cases')
}
