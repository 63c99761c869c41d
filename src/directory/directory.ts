import { readFileSync } from 'node:fs'
import { isCourtCode } from './case-number.js'
import type { Court, CourtLevel, DirectoryFile, Org, Organisation, Procuratorate, ProcuratorateLevel } from './types.js'

const COURT_LEVELS: readonly CourtLevel[] = ['high', 'intermediate', 'basic']
const PROCURATORATE_LEVELS: readonly ProcuratorateLevel[] = ['provincial', 'city', 'district']
const ORG_KINDS: readonly Organisation['kind'][] = ['operator', 'audit']
const REGION = /^[0-9]{6}$/
// Organisation codes travel in tokens and log entries next to court and procuratorate codes: keep them ASCII.
const ORG_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
// A court code says its level: the province letter alone, then 2 digits, then 4.
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
      claim(court.code, `courts[${i}]`)
      this.#courts.set(court.code, court)
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

type Fields = Record<string, unknown>

function validateShape(data: unknown): DirectoryFile {
  const top = object(data, 'the directory')
  onlyKeys(top, ['courts', 'procuratorates', 'organisations'], 'the directory')
  return {
    courts: array(top, 'courts').map((raw, i) => court(raw, `courts[${i}]`)),
    procuratorates: array(top, 'procuratorates').map((raw, i) => procuratorate(raw, `procuratorates[${i}]`)),
    organisations: array(top, 'organisations').map((raw, i) => organisation(raw, `organisations[${i}]`)),
  }
}

function court(raw: unknown, where: string): Court {
  const o = object(raw, where)
  const code = string(o, 'code', where)
  const at = `${where} "${code}"`
  // Unknown keys are refused: a misspelt `parent` would otherwise silently make a court a root.
  onlyKeys(o, ['code', 'name', 'level', 'region', 'parent', 'special'], at)
  const level = oneOf(o, 'level', COURT_LEVELS, at)
  if (!isCourtCode(code) || code.length - 1 !== COURT_CODE_DIGITS[level]) {
    const digits = COURT_CODE_DIGITS[level]
    throw new Error(
      `${at}: key "code" must be a province abbreviation followed by ${digits === 0 ? 'no digits' : `${digits} digits`} for a ${level} court`,
    )
  }
  const entry: Court = { code, name: string(o, 'name', at), level, region: region(o, at) }
  if (o.parent !== undefined) entry.parent = string(o, 'parent', at)
  if (o.special !== undefined) entry.special = boolean(o, 'special', at)
  return Object.freeze(entry)
}

function procuratorate(raw: unknown, where: string): Procuratorate {
  const o = object(raw, where)
  const code = string(o, 'code', where)
  const at = `${where} "${code}"`
  onlyKeys(o, ['code', 'name', 'level', 'region', 'parent', 'pairedCourts', 'special'], at)
  if (!REGION.test(code)) throw new Error(`${at}: key "code" must be 6 digits (a GB/T 2260 or gateway-assigned code)`)
  const p: Procuratorate = {
    code,
    name: string(o, 'name', at),
    level: oneOf(o, 'level', PROCURATORATE_LEVELS, at),
    region: region(o, at),
  }
  if (o.parent !== undefined) p.parent = string(o, 'parent', at)
  if (o.pairedCourts !== undefined) {
    const paired = array(o, 'pairedCourts', at).map((c, j) => {
      if (typeof c !== 'string' || c === '') throw new Error(`${at}: key "pairedCourts[${j}]" must be a court code`)
      return c
    })
    if (new Set(paired).size !== paired.length) throw new Error(`${at}: key "pairedCourts" lists a court twice`)
    p.pairedCourts = Object.freeze(paired) as string[]
  }
  if (o.special !== undefined) p.special = boolean(o, 'special', at)
  return Object.freeze(p)
}

function organisation(raw: unknown, where: string): Organisation {
  const o = object(raw, where)
  const code = string(o, 'code', where)
  const at = `${where} "${code}"`
  onlyKeys(o, ['code', 'name', 'kind'], at)
  if (!ORG_CODE.test(code)) throw new Error(`${at}: key "code" must be ASCII letters, digits, ".", "_" or "-"`)
  return Object.freeze({ code, name: string(o, 'name', at), kind: oneOf(o, 'kind', ORG_KINDS, at) })
}

function object(raw: unknown, where: string): Fields {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where} must be an object`)
  return raw as Fields
}

function onlyKeys(o: Fields, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown key "${key}"`)
  }
}

function array(o: Fields, key: string, where = 'the directory'): unknown[] {
  const value = o[key]
  if (value === undefined) throw new Error(`${where}: missing key "${key}"`)
  if (!Array.isArray(value)) throw new Error(`${where}: key "${key}" must be an array`)
  return value
}

function string(o: Fields, key: string, where: string): string {
  const value = o[key]
  if (value === undefined) throw new Error(`${where}: missing key "${key}"`)
  if (typeof value !== 'string' || value.trim() === '')
    throw new Error(`${where}: key "${key}" must be a non-empty string`)
  return value
}

function boolean(o: Fields, key: string, where: string): boolean {
  const value = o[key]
  if (typeof value !== 'boolean') throw new Error(`${where}: key "${key}" must be true or false`)
  return value
}

function oneOf<T extends string>(o: Fields, key: string, allowed: readonly T[], where: string): T {
  const value = string(o, key, where)
  if (!allowed.includes(value as T)) throw new Error(`${where}: key "${key}" must be one of ${allowed.join(', ')}`)
  return value as T
}

function region(o: Fields, where: string): string {
  const value = string(o, 'region', where)
  if (!REGION.test(value)) throw new Error(`${where}: key "region" must be a 6-digit GB/T 2260 code`)
  return value
}
