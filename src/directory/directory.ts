import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ErrorObject, ValidateFunction } from 'ajv'
import { PROJECT_ROOT } from '../paths.js'
import { compileSchema } from '../http/schema-compiler.js'
import { isCourtCode, type LegacyCourts } from './case-number.js'
import type { Court, CourtLevel, DirectoryFile, Org, Organisation, Procuratorate, ProcuratorateLevel } from './types.js'

const COURT_LEVELS: readonly CourtLevel[] = ['high', 'intermediate', 'basic']
const PROCURATORATE_LEVELS: readonly ProcuratorateLevel[] = ['provincial', 'city', 'district']
const COURT_CODE_DIGITS: Record<CourtLevel, number> = { high: 0, intermediate: 2, basic: 4 }

/** Reads and validates a directory file; every error names the file and the bad entry or key. */
export function loadDirectory(path: string): Directory {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`cannot read directory file ${path}: ${(error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`directory file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  try {
    return new Directory(raw)
  } catch (error) {
    throw new Error(`directory file ${path}: ${(error as Error).message}`)
  }
}

/**
 * The courts, procuratorates and other organisations a token's `org` may name, with the `parent` links that
 * jurisdiction follows. Immutable once built: entries handed out are frozen, so no caller can widen
 * another's jurisdiction by editing what it was given.
 */
export class Directory {
  readonly #courts = new Map<string, Court>()
  readonly #procuratorates = new Map<string, Procuratorate>()
  readonly #organisations = new Map<string, Organisation>()
  readonly #courtChildren = new Map<string, Court[]>()
  readonly #pairedWith = new Map<string, Procuratorate[]>()
  readonly #legacy = new Map<string, string>()

  /** Validates `data` (shaped like the directory file) and throws an Error naming the bad entry or key. */
  constructor(data: unknown) {
    const file = validateShape(data)
    const seen = new Map<string, string>()
    const claim = (code: string, where: string): void => {
      const first = seen.get(code)
      if (first !== undefined) throw new Error(`${where}: duplicate code "${code}" (also ${first})`)
      seen.set(code, where)
    }
    file.courts.forEach((court, i) => {
      const where = `courts[${i}]`
      claim(court.code, where)
      checkCourtCode(court, `${where} "${court.code}"`)
      this.#courts.set(court.code, court)
      for (const abbreviation of court.abbreviations ?? []) {
        const first = this.#legacy.get(abbreviation)
        if (first !== undefined) {
          throw new Error(`${where} "${court.code}": abbreviation "${abbreviation}" is also court "${first}"'s`)
        }
        this.#legacy.set(abbreviation, court.code)
      }
    })
    file.procuratorates.forEach((p, i) => {
      claim(p.code, `procuratorates[${i}]`)
      this.#procuratorates.set(p.code, p)
    })
    file.organisations.forEach((o, i) => {
      claim(o.code, `organisations[${i}]`)
      this.#organisations.set(o.code, o)
    })

    checkTree('courts', file.courts, this.#courts, COURT_LEVELS)
    checkTree('procuratorates', file.procuratorates, this.#procuratorates, PROCURATORATE_LEVELS)

    file.procuratorates.forEach((p, i) => {
      for (const court of p.pairedCourts ?? []) {
        if (!this.#courts.has(court)) {
          throw new Error(`procuratorates[${i}] "${p.code}": pairedCourts names "${court}", which is not a court`)
        }
        const list = this.#pairedWith.get(court) ?? []
        list.push(p)
        this.#pairedWith.set(court, list)
      }
    })
    for (const court of file.courts) {
      if (court.parent === undefined) continue
      const list = this.#courtChildren.get(court.parent) ?? []
      list.push(court)
      this.#courtChildren.set(court.parent, list)
    }
  }

  court(code: string): Court | undefined {
    return this.#courts.get(code)
  }

  courts(): Court[] {
    return [...this.#courts.values()]
  }

  procuratorate(code: string): Procuratorate | undefined {
    return this.#procuratorates.get(code)
  }

  procuratorates(): Procuratorate[] {
    return [...this.#procuratorates.values()]
  }

  organisations(): Organisation[] {
    return [...this.#organisations.values()]
  }

  /** Whatever organisation a token's `org` claim names; codes are unique across all three lists. */
  org(code: string): Org | undefined {
    const court = this.#courts.get(code)
    if (court) return { kind: 'court', code, name: court.name, court }
    const procuratorate = this.#procuratorates.get(code)
    if (procuratorate) return { kind: 'procuratorate', code, name: procuratorate.name, procuratorate }
    const other = this.#organisations.get(code)
    if (other) return { kind: other.kind, code, name: other.name }
    return undefined
  }

  /** True when `courtCode` is `ancestorCode` or lies below it by `parent` links; false for unknown codes. */
  isWithin(courtCode: string, ancestorCode: string): boolean {
    return isWithin(this.#courts, courtCode, ancestorCode)
  }

  /** Every court below `code` by `parent` links (not `code` itself), nearest first. */
  lowerCourts(code: string): Court[] {
    const out: Court[] = []
    const queue = [...(this.#courtChildren.get(code) ?? [])]
    for (let court = queue.shift(); court !== undefined; court = queue.shift()) {
      out.push(court)
      queue.push(...(this.#courtChildren.get(court.code) ?? []))
    }
    return out
  }

  /** True when procuratorate `code` is `ancestorCode` or lies below it by `parent` links. */
  isProcuratorateWithin(code: string, ancestorCode: string): boolean {
    return isWithin(this.#procuratorates, code, ancestorCode)
  }

  /** Court abbreviations of pre-2016 case numbers → court codes, for `parseCaseNumber`'s `legacyCourts`. */
  legacyCourts(): LegacyCourts {
    return new Map(this.#legacy)
  }

  /** The procuratorates that name `courtCode` in their `pairedCourts`. */
  pairedProcuratorates(courtCode: string): Procuratorate[] {
    return [...(this.#pairedWith.get(courtCode) ?? [])]
  }
}

function isWithin(entries: ReadonlyMap<string, { parent?: string }>, code: string, ancestor: string): boolean {
  if (!entries.has(code) || !entries.has(ancestor)) return false
  // Links were checked acyclic at load, so this walk ends.
  for (let at: string | undefined = code; at !== undefined; at = entries.get(at)?.parent) {
    if (at === ancestor) return true
  }
  return false
}

/**
 * Parents must exist, must not loop, and must be exactly one level up: a basic court under an intermediate
 * one, never straight under the high court, so that "same level" and "lower courts" mean what they say.
 */
function checkTree<L extends string>(
  list: 'courts' | 'procuratorates',
  entries: readonly { code: string; level: L; parent?: string }[],
  byCode: ReadonlyMap<string, { code: string; level: L; parent?: string }>,
  levels: readonly L[],
): void {
  entries.forEach((entry, i) => {
    if (entry.parent !== undefined && !byCode.has(entry.parent)) {
      throw new Error(`${list}[${i}] "${entry.code}": parent "${entry.parent}" is not in ${list}`)
    }
  })
  entries.forEach((entry, i) => {
    const path = [entry.code]
    for (let at = entry.parent; at !== undefined; at = byCode.get(at)?.parent) {
      path.push(at)
      if (at === entry.code) throw new Error(`${list}[${i}] "${entry.code}": parent cycle ${path.join(' → ')}`)
      if (path.length > entries.length + 1) break
    }
  })
  entries.forEach((entry, i) => {
    const rank = levels.indexOf(entry.level)
    if (entry.parent === undefined) {
      if (rank !== 0) throw new Error(`${list}[${i}] "${entry.code}": a ${entry.level} entry needs a parent`)
      return
    }
    const parent = byCode.get(entry.parent)!
    if (levels.indexOf(parent.level) !== rank - 1) {
      throw new Error(
        `${list}[${i}] "${entry.code}": a ${entry.level} entry cannot have the ${parent.level} "${parent.code}" as parent`,
      )
    }
  })
}

/** A court code says its level: the province letter alone, then 2 digits, then 4. */
function checkCourtCode(court: Court, at: string): void {
  const digits = COURT_CODE_DIGITS[court.level]
  if (!isCourtCode(court.code) || court.code.length - 1 !== digits) {
    throw new Error(
      `${at}: key "code" must be a province abbreviation followed by ${digits === 0 ? 'no digits' : `${digits} digits`} for a ${court.level} court`,
    )
  }
}

export const DIRECTORY_SCHEMA = join(PROJECT_ROOT, 'config', 'directory', 'directory.schema.json')

let validator: ValidateFunction | undefined

/** The validator of directory files, by the schema that ships next to them (prebuilt by `npm run build`). */
export function directoryValidator(): ValidateFunction {
  return compileSchema('directory', JSON.parse(readFileSync(DIRECTORY_SCHEMA, 'utf8')))
}

/** The shape of the file, by the JSON Schema that ships next to it; the first error names the entry and key. */
function validateShape(data: unknown): DirectoryFile {
  validator ??= directoryValidator()
  if (!validator(data)) throw new Error(describe(validator.errors![0]!, data))
  const file = structuredClone(data) as DirectoryFile
  return {
    courts: file.courts.map(freeze),
    procuratorates: file.procuratorates.map(freeze),
    organisations: file.organisations.map(freeze),
  }
}

/** Entries are frozen with their lists, so that no caller can widen another's jurisdiction by editing them. */
function freeze<T extends object>(entry: T): T {
  for (const value of Object.values(entry)) if (Array.isArray(value)) Object.freeze(value)
  return Object.freeze(entry)
}

/**
 * `courts[1] "黑01": missing key "region"`, from Ajv's `/courts/1` and the entry's own code. Entries are flat, so
 * a missing or unknown key is always one of the entry (or of the file), and any other error names its key.
 */
function describe(error: ErrorObject, data: unknown): string {
  const [list, index, ...key] = error.instancePath.split('/').slice(1)
  let where = 'the directory'
  if (index !== undefined) {
    const code = (data as Record<string, Record<string, { code?: unknown }>>)[list!]?.[index]?.code
    where = `${list}[${index}]${typeof code === 'string' ? ` "${code}"` : ''}`
  } else if (list !== undefined) {
    key.unshift(list)
  }
  const params = error.params as Record<string, unknown>
  const subject = key.length === 0 ? where : `${where}: key "${key.join('.')}"`
  switch (error.keyword) {
    case 'required':
      return `${where}: missing key "${params.missingProperty}"`
    case 'additionalProperties':
      return `${where}: unknown key "${params.additionalProperty}"`
    case 'enum':
      return `${subject} must be one of ${(params.allowedValues as string[]).join(', ')}`
    default:
      return `${subject} ${error.message}`
  }
}
