import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root (the folder holding package.json), whether running from src/ (tsx) or dist/src/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('cannot find the court-file-gateway package root')
    dir = parent
  }
  return dir
}

export const PROJECT_ROOT = findRoot()
export const GATEWAY_SPEC = join(PROJECT_ROOT, 'openapi', 'gateway.yaml')
export const ADAPTER_SPEC = join(PROJECT_ROOT, 'openapi', 'adapter.yaml')
