import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Ajv, Options, ValidateFunction } from 'ajv'
import { PROJECT_ROOT } from '../paths.js'

/**
 * Every JSON Schema the gateway validates with (configuration, requests, answers of courts, its own answers)
 * is compiled here. Compiling with Ajv at every start cost most of a second, so `npm run build` generates the
 * validators once (scripts/build-artifacts.ts, Ajv's standalone code, from the same openapi/*.yaml and the same
 * code paths as below) into dist/prebuilt/. A generated validator is found by a hash of its kind's Ajv options
 * and the schema's exact text: a schema that changed since the build finds none and is compiled here as before,
 * so a stale build costs time, never correctness. `runtimeCompilations()` counts those, for the start-up check.
 */

interface KindSetup {
  /** The JSON Schema draft: OpenAPI 3.1 documents are 2020-12; Fastify's and the config's are draft-07. */
  draft: '07' | '2020'
  /** Whether ajv-formats' full formats (date-time, uri, …) are known. */
  formats: boolean
  options: Options
}

/** The Ajv set-ups, one per kind of input; a validator generated for one kind is never used for another. */
export const SCHEMA_KINDS = {
  /** The configuration file: every error reported, defaults filled in. */
  config: { draft: '07', formats: false, options: { allErrors: true, useDefaults: true, strict: false } },
  /** Directory files; strictRequired misreads a `required` inside if/then, every other strict check stays on. */
  directory: { draft: '07', formats: false, options: { allErrors: false, strict: true, strictRequired: false } },
  /**
   * Query strings, path parameters and headers are text, so `limit=50` is coerced to the integer the spec
   * declares. Unknown fields are refused, not dropped: the spec's `additionalProperties: false` means it.
   */
  'request-text': {
    draft: '07',
    formats: true,
    options: { removeAdditional: false, allErrors: false, strict: false, coerceTypes: 'array' },
  },
  /** A JSON body carries its own types: `"days": "30"` is a client's mistake to refuse, never to guess at. */
  'request-json': {
    draft: '07',
    formats: true,
    options: { removeAdditional: false, allErrors: false, strict: false, coerceTypes: false },
  },
  /** What adapters send, against openapi/adapter.yaml's component schemas. */
  'adapter-body': { draft: '07', formats: true, options: { allErrors: false, strict: false } },
  /** Response bodies in response-conformance checks (OpenAPI 3.1: draft 2020-12). */
  'response-body': { draft: '2020', formats: true, options: { strict: false, allErrors: false } },
  /** Response headers: text, so `Content-Length: 12` is the integer its schema declares. */
  'response-header': { draft: '2020', formats: true, options: { strict: false, allErrors: false, coerceTypes: true } },
} as const satisfies Record<string, KindSetup>

export type SchemaKind = keyof typeof SCHEMA_KINDS

/** Where the build puts the generated validators of one kind. */
export function prebuiltValidatorsFile(kind: SchemaKind, root = PROJECT_ROOT): string {
  return join(root, 'dist', 'prebuilt', 'validators', `${kind}.cjs`)
}

/** The export name of a schema's generated validator: its kind's options and its exact text, hashed. */
export function schemaExportName(kind: SchemaKind, schema: unknown): string {
  const text = `${JSON.stringify(SCHEMA_KINDS[kind])}\n${JSON.stringify(schema)}`
  return `v${createHash('sha256').update(text).digest('hex').slice(0, 40)}`
}

// The generated modules are CommonJS (as Ajv's standalone code requires its runtime helpers), loaded on demand.
const require = createRequire(import.meta.url)
const prebuilt = new Map<SchemaKind, Record<string, ValidateFunction | undefined>>()
const compilers = new Map<SchemaKind, Ajv>()
const compiled = new Map<string, ValidateFunction>()
let compilations = 0
let collector: ((kind: SchemaKind, schema: object) => void) | undefined

function prebuiltOf(kind: SchemaKind): Record<string, ValidateFunction | undefined> {
  let module = prebuilt.get(kind)
  if (!module) {
    const file = prebuiltValidatorsFile(kind)
    module = existsSync(file) ? (require(file) as Record<string, ValidateFunction>) : {}
    prebuilt.set(kind, module)
  }
  return module
}

/** A new Ajv of one kind; `source` keeps the generated code, for the build's standalone output. */
export function newAjv(kind: SchemaKind, extra: Options = {}): Ajv {
  const setup: KindSetup = SCHEMA_KINDS[kind]
  // Required, not imported: Ajv takes a while to load, and a built gateway needs it only for a schema the build
  // did not see.
  const AjvClass = (setup.draft === '2020' ? require('ajv/dist/2020.js').Ajv2020 : require('ajv').Ajv) as typeof Ajv
  const ajv = new AjvClass({ ...setup.options, ...extra })
  if (setup.formats) (require('ajv-formats') as { default: (ajv: Ajv) => void }).default(ajv)
  return ajv
}

/** The validator of `schema` for one kind of input: the build's, or compiled now (once per schema text). */
export function compileSchema(kind: SchemaKind, schema: object): ValidateFunction {
  collector?.(kind, schema)
  const name = schemaExportName(kind, schema)
  const ready = collector ? undefined : (prebuiltOf(kind)[name] ?? compiled.get(name))
  if (ready) return ready
  let ajv = compilers.get(kind)
  if (!ajv) {
    ajv = newAjv(kind)
    compilers.set(kind, ajv)
  }
  const validate = ajv.compile(schema)
  if (!collector) compilations++
  compiled.set(name, validate)
  return validate
}

/** How many schemas this process has compiled itself rather than found prebuilt (the build's own runs aside). */
export function runtimeCompilations(): number {
  return compilations
}

/**
 * Runs `fn` and returns every schema it compiles through `compileSchema`, by kind (the build's list of what to
 * generate). Prebuilt validators are bypassed meanwhile, so the list does not depend on an earlier build.
 */
export function collectSchemas(fn: () => void): Array<{ kind: SchemaKind; schema: object }> {
  const found: Array<{ kind: SchemaKind; schema: object }> = []
  collector = (kind, schema) => found.push({ kind, schema })
  try {
    fn()
  } finally {
    collector = undefined
  }
  return found
}
