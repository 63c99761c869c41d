/**
 * Case numbers (案号) under the SPC rules in force since 2016, amended 2018 (docs/architecture.md#case-numbers):
 *
 *   （2023）黑0103民初45号 = （year）+ court code + [specialised-trial code] + case-type code + serial + 号
 *
 * Pure: whether the court exists is the directory's business, not this module's.
 */
import { GatewayError } from '../http/errors.js'

export type CaseCategory = 'civil' | 'enforcement' | 'other'
export type FileStore = 'trial' | 'execution'

export interface CaseNumber {
  /** The normalised form: full-width parentheses, ASCII digits, no whitespace, no zero padding. */
  text: string
  year: number
  courtCode: string
  specialisedCode?: string
  typeCode: string
  serial: number
  category: CaseCategory
  /** Set for a pre-2016 number: the court abbreviation and the case type as written there. */
  legacy?: { abbreviation: string; typeText: string }
}

/**
 * Civil case-type codes of the SPC case-type standard (法〔2015〕137号, amended 2018): civil litigation (first
 * and second instance, retrial and its review, procuratorial protest, supervision, jurisdiction and its appeal
 * and supervision, special procedure, payment order, public notice for exhortation, third-party revocation,
 * other), then bankruptcy (review of the application, appeal, supervision, the bankruptcy itself), compulsory
 * liquidation (review, appeal, the liquidation), and preservation reviewed outside a lawsuit (property, conduct,
 * evidence). All are decided on the trial side; only carrying out a preservation (执保) is enforcement.
 */
export const CIVIL_TYPE_CODES = [
  '民初',
  '民终',
  '民再',
  '民申',
  '民抗',
  '民监',
  '民辖',
  '民辖终',
  '民辖监',
  '民特',
  '民特监',
  '民督',
  '民督监',
  '民催',
  '民撤',
  '民他',
  '破申',
  '破终',
  '破监',
  '破',
  '强清申',
  '强清终',
  '强清',
  '财保',
  '行保',
  '证保',
] as const

/**
 * Enforcement case-type codes (执行): first enforcement, resumed enforcement, enforcement of preservation,
 * objection, review, supervision, coordination, other, request for instructions, and supervision by urging.
 */
export const ENFORCEMENT_TYPE_CODES = [
  '执',
  '执恢',
  '执保',
  '执异',
  '执复',
  '执监',
  '执协',
  '执他',
  '执请',
  '执督',
] as const

/**
 * Specialised-trial codes (专门审判代字) that may stand between the court code and the case-type code. The 2018
 * amendment introduced 知 for intellectual-property trials (e.g. （2019）最高法知民终1号, and IP tribunals of
 * intermediate courts). Letters such as 破 (bankruptcy) or 执 (enforcement) are not specialised codes: they begin
 * case-type codes (破申, 执恢), so they must never be split off here.
 */
export const SPECIALISED_CODES = ['知'] as const

/**
 * The court-code letters: the 31 provincial-level abbreviations plus 兵 (the Xinjiang Production and
 * Construction Corps courts, which the SPC table codes like a province). The Supreme People's Court's own
 * code (最高法) is deliberately absent: its files are outside what the gateway serves.
 */
export const PROVINCE_CODES = '京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新兵'

const civil: ReadonlySet<string> = new Set(CIVIL_TYPE_CODES)
const enforcement: ReadonlySet<string> = new Set(ENFORCEMENT_TYPE_CODES)
const specialised: ReadonlySet<string> = new Set(SPECIALISED_CODES)

const MAX_LENGTH = 64
const MAX_SERIAL_DIGITS = 9
const FIRST_YEAR = 1949
const HAN = /^\p{Script=Han}$/u
const DIGIT = /^[0-9]$/
const FULL_WIDTH_DIGIT = /[\uFF10-\uFF19]/g
const OPEN = new Set(['（', '('])
const CLOSE = new Set(['）', ')'])

/**
 * The case-type part of a pre-2016 number (`民一终` in `（2014）哈民一终字第123号`): a division (民, 商, 刑, 行,
 * 执, 破), an optional tribunal ordinal (民一 = first civil tribunal), then the procedure. 商 (the commercial
 * tribunals of the time) and 提 (retrial brought by the court itself) have no code of their own since 2016: their
 * cases are 民 and 民再 now.
 */
const LEGACY_TYPE = /^(民|商|刑|行|执|破)([一二三四五六七八九十]{0,2})(.{0,2})$/u
const LEGACY_PROCEDURE: Record<string, Record<string, string>> = {
  民: {
    初: '民初',
    终: '民终',
    再: '民再',
    提: '民再',
    申: '民申',
    抗: '民抗',
    监: '民监',
    辖: '民辖',
    辖终: '民辖终',
    特: '民特',
    督: '民督',
    催: '民催',
    撤: '民撤',
    他: '民他',
    破: '破',
  },
  执: {
    '': '执',
    恢: '执恢',
    保: '执保',
    异: '执异',
    复: '执复',
    监: '执监',
    协: '执协',
    他: '执他',
    督: '执督',
    请: '执请',
  },
  破: { '': '破', 申: '破申', 终: '破终', 监: '破监' },
  刑: { 初: '刑初', 终: '刑终', 再: '刑再', 申: '刑申', 监: '刑监', 提: '刑再' },
  行: { 初: '行初', 终: '行终', 再: '行再', 申: '行申', 监: '行监', 提: '行再' },
}

/**
 * Court abbreviations (法院简称) of pre-2016 numbers, such as 哈 for the Harbin Intermediate Court, mapped to
 * directory court codes. The directory owns the mapping (`Directory.legacyCourts()`); the parser only reads it.
 */
export type LegacyCourts = ReadonlyMap<string, string>

export interface ParseOptions {
  now?: Date
  /** Without it, no pre-2016 number resolves to a court. */
  legacyCourts?: LegacyCourts
}

/** A court code: a province letter, then nothing (high court), 2 digits (intermediate) or 4 digits (basic). */
export function isCourtCode(code: string): boolean {
  return /^\p{Script=Han}(?:\d{2}|\d{4})?$/u.test(code) && PROVINCE_CODES.includes(code[0]!)
}

export function categoryOf(typeCode: string): CaseCategory {
  if (civil.has(typeCode)) return 'civil'
  if (enforcement.has(typeCode)) return 'enforcement'
  return 'other'
}

/** Trial files and enforcement files often live in different systems (docs/architecture.md#adapters-and-routing, adapter `stores`). */
export function storeForTypeCode(code: string): FileStore | undefined {
  if (civil.has(code)) return 'trial'
  if (enforcement.has(code)) return 'execution'
  return undefined
}

function invalid(message: string): never {
  throw new GatewayError('INVALID_CASE_NUMBER', message)
}

/** The Gregorian year in China Standard Time, so that a number filed on 1 January is not early anywhere. */
function chinaYear(now: Date): number {
  return new Date(now.getTime() + 8 * 3600_000).getUTCFullYear()
}

/**
 * Full-width digits become ASCII and whitespace goes, as clerks and OCR write numbers both ways; whitespace
 * between two digits is refused, since dropping it would join two numbers into another one.
 */
function normaliseCharacters(text: string): string[] {
  const chars = [...text.replace(FULL_WIDTH_DIGIT, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))]
  const out: string[] = []
  for (let i = 0; i < chars.length; i++) {
    if (!/\s/u.test(chars[i]!)) {
      out.push(chars[i]!)
      continue
    }
    let next = i
    while (next < chars.length && /\s/u.test(chars[next]!)) next++
    if (DIGIT.test(out[out.length - 1] ?? '') && DIGIT.test(chars[next] ?? '')) {
      invalid(`space inside the number "${out.join('')}…"`)
    }
    i = next - 1
  }
  return out
}

/**
 * Parses a case number in the current form (`（2023）黑01民初45号`) or the pre-2016 form (`（2014）哈民一终字第123号`,
 * resolved through `options.legacyCourts`). Half-width parentheses, full-width digits and spaces are accepted and
 * normalised. Throws GatewayError('INVALID_CASE_NUMBER') with a message that says what is wrong; the message quotes
 * only parts of the input, which the client sent itself.
 */
export function parseCaseNumber(input: string, options: ParseOptions = {}): CaseNumber {
  if (typeof input !== 'string') invalid('case number must be a string')
  // Bounded before any other work, so a huge body cannot make the parser do much.
  if (input.length > MAX_LENGTH) invalid(`case number is longer than ${MAX_LENGTH} characters`)
  const chars = normaliseCharacters(input)
  if (chars.length === 0) invalid('case number is empty')

  if (!OPEN.has(chars[0]!)) {
    invalid('case number must start with the year in parentheses, as in （2023）黑01民初1号')
  }
  const close = chars.findIndex((ch) => CLOSE.has(ch))
  if (close < 0) invalid('missing closing parenthesis after the year')
  const yearText = chars.slice(1, close).join('')
  if (!/^[0-9]{4}$/.test(yearText)) invalid(`year "${yearText}" must be 4 digits`)
  const year = Number(yearText)
  const lastYear = chinaYear(options.now ?? new Date()) + 1
  if (year < FIRST_YEAR || year > lastYear) invalid(`year ${year} is outside ${FIRST_YEAR}–${lastYear}`)

  const body = chars.slice(close + 1)
  if (body.length === 0) invalid('missing court code, case-type code and serial number after the year')
  if (body[body.length - 1] !== '号') invalid('case number must end with 号')
  body.pop()
  const legacyAt = body.join('').indexOf('字第')
  return legacyAt < 0
    ? parseNational(year, body)
    : parseLegacy(year, body, [...body.join('').slice(0, legacyAt)].length, options.legacyCourts)
}

/** `黑0103` `[知]` `民初` `45`, the form in force since 2016. */
function parseNational(year: number, body: string[]): CaseNumber {
  let i = 0
  const province = body[i]
  if (province === undefined || !PROVINCE_CODES.includes(province)) {
    invalid(`court code must start with a province abbreviation such as 黑, not "${province ?? ''}"`)
  }
  i++
  const take = (pattern: RegExp): string => {
    let run = ''
    while (i < body.length && pattern.test(body[i]!)) run += body[i++]
    return run
  }
  const courtDigits = take(DIGIT)
  const letters = take(HAN)
  const serialText = take(DIGIT)
  if (i < body.length) invalid(`unexpected character "${body[i]}" after "${body.slice(0, i).join('')}"`)

  const courtCode = province + courtDigits
  // Checked before the court code's digits: without letters, court digits and serial run together.
  if (letters === '') invalid('missing case-type code between the court code and the serial number')
  if (courtDigits.length !== 0 && courtDigits.length !== 2 && courtDigits.length !== 4) {
    invalid(`court code "${courtCode}" must be a province abbreviation followed by nothing, 2 or 4 digits`)
  }
  const { specialisedCode, typeCode } = splitLetters(letters)
  if (serialText.startsWith('0') && !/^0+$/.test(serialText)) {
    invalid(`serial number "${serialText}" must not have leading zeros`)
  }
  const serial = serialOf(serialText)
  const result: CaseNumber = {
    text: `（${year}）${courtCode}${specialisedCode ?? ''}${typeCode}${serial}号`,
    year,
    courtCode,
    typeCode,
    serial,
    category: categoryOf(typeCode),
  }
  if (specialisedCode !== undefined) result.specialisedCode = specialisedCode
  return result
}

/**
 * `哈` `民一终` 字第 `123`, the form before 2016: a court abbreviation that only the directory can resolve, then the
 * case type as the tribunals wrote it. The result carries the national court and type codes, so that jurisdiction,
 * policy and the choice of store work as for any number, and keeps the abbreviation and type as written in `text`,
 * which is what the court's files are filed under. Zero-padded serials (第00047号) occur in real files and are
 * accepted; the normal form drops the padding.
 */
function parseLegacy(
  year: number,
  body: string[],
  lettersEnd: number,
  legacyCourts: LegacyCourts = new Map(),
): CaseNumber {
  const letters = body.slice(0, lettersEnd)
  const bad = letters.find((ch) => !HAN.test(ch))
  if (bad !== undefined) invalid(`unexpected character "${bad}" in a number of the pre-2016 form`)
  const serialText = body.slice(lettersEnd + 2).join('')
  if (!/^[0-9]*$/.test(serialText)) invalid(`serial number "${serialText}" after 字第 must be digits`)
  // The abbreviation is the longest prefix the directory knows whose remainder reads as a case type.
  for (let cut = letters.length - 1; cut >= 1; cut--) {
    const abbreviation = letters.slice(0, cut).join('')
    const courtCode = legacyCourts.get(abbreviation)
    const typeCode = courtCode === undefined ? undefined : legacyTypeCode(letters.slice(cut).join(''))
    if (courtCode === undefined || typeCode === undefined) continue
    const serial = serialOf(serialText.replace(/^0+(?=.)/, ''))
    return {
      text: `（${year}）${letters.join('')}字第${serial}号`,
      year,
      courtCode,
      typeCode,
      serial,
      category: categoryOf(typeCode),
      legacy: { abbreviation, typeText: letters.slice(cut).join('') },
    }
  }
  const written = letters.join('')
  const known = [...legacyCourts.keys()]
    .filter((abbreviation) => written.startsWith(abbreviation))
    .sort((a, b) => b.length - a.length)[0]
  if (known === undefined) invalid(`"${written}" does not start with the abbreviation of a court in the directory`)
  const rest = written.slice(known.length)
  invalid(
    rest === ''
      ? `missing case type after the court abbreviation "${known}"`
      : `unknown case type "${rest}" after the court abbreviation "${known}"`,
  )
}

function legacyTypeCode(text: string): string | undefined {
  const match = LEGACY_TYPE.exec(text)
  if (match === null) return undefined
  const [, division, ordinal, procedure] = match as unknown as [string, string, string, string]
  // Only civil, criminal and administrative tribunals were numbered (民一, 刑二 …).
  if (ordinal !== '' && (division === '执' || division === '破')) return undefined
  return LEGACY_PROCEDURE[division === '商' ? '民' : division]?.[procedure]
}

function serialOf(serialText: string): number {
  if (serialText === '') invalid('missing serial number before 号')
  if (/^0+$/.test(serialText)) invalid('serial number must be a positive integer')
  if (serialText.length > MAX_SERIAL_DIGITS) invalid(`serial number is longer than ${MAX_SERIAL_DIGITS} digits`)
  return Number(serialText)
}

/**
 * The letters between the court code and the serial are an optional specialised-trial code and a case-type
 * code of at most 3 characters. A known type code wins over a split, so that no type code is ever cut apart;
 * an unknown run is split only when it starts with a specialised code, and is otherwise kept whole (category
 * 'other': criminal, administrative … numbers are valid, just not civil or enforcement).
 */
function splitLetters(letters: string): { specialisedCode?: string; typeCode: string } {
  const chars = [...letters]
  if (civil.has(letters) || enforcement.has(letters)) return { typeCode: letters }
  if (chars.length >= 2 && specialised.has(chars[0]!)) {
    const typeCode = chars.slice(1).join('')
    if (chars.length > 4) invalid(`case-type code "${typeCode}" is longer than 3 characters`)
    return { specialisedCode: chars[0]!, typeCode }
  }
  if (chars.length > 3) invalid(`case-type code "${letters}" is longer than 3 characters`)
  return { typeCode: letters }
}

/** The normalised text of a case number; throws like parseCaseNumber. */
export function normaliseCaseNumber(input: string, options: ParseOptions = {}): string {
  return parseCaseNumber(input, options).text
}
