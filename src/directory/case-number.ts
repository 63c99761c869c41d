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
  /** The normalised form: full-width parentheses, no surrounding whitespace. */
  text: string
  year: number
  courtCode: string
  specialisedCode?: string
  typeCode: string
  serial: number
  category: CaseCategory
}

/**
 * Civil case-type codes (民事): first and second instance, retrial and its review, procuratorial protest,
 * supervision, jurisdiction (and its appeal and supervision), special procedure, payment order, public notice
 * for exhortation, third-party revocation, and other civil matters.
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
 * Parses a case number, accepting half-width parentheses and surrounding whitespace. Throws
 * GatewayError('INVALID_CASE_NUMBER') with a message that says what is wrong; the message quotes only parts of
 * the input, which the client sent itself.
 */
export function parseCaseNumber(input: string, options: { now?: Date } = {}): CaseNumber {
  if (typeof input !== 'string') invalid('case number must be a string')
  // Bounded before any other work, so a huge body cannot make the parser do much.
  if (input.length > MAX_LENGTH) invalid(`case number is longer than ${MAX_LENGTH} characters`)
  const text = input.trim()
  if (text === '') invalid('case number is empty')

  // Code points, not UTF-16 units, so that positions and quoted fragments never split a character.
  const chars = [...text]
  if (chars[0] !== '（' && chars[0] !== '(') {
    invalid('case number must start with the year in parentheses, as in （2023）黑01民初1号')
  }
  const close = chars.findIndex((ch, i) => i > 0 && (ch === '）' || ch === ')'))
  if (close < 0) invalid('missing closing parenthesis after the year')
  const yearText = chars.slice(1, close).join('')
  if (!/^[0-9]{4}$/.test(yearText)) invalid(`year "${yearText}" must be 4 digits`)
  const year = Number(yearText)
  const lastYear = chinaYear(options.now ?? new Date()) + 1
  if (year < FIRST_YEAR || year > lastYear) invalid(`year ${year} is outside ${FIRST_YEAR}–${lastYear}`)
  if (text.includes('字第')) {
    invalid('numbers of the pre-2016 form with 字第 are not accepted; use the current form, as in （2023）黑01民初1号')
  }

  const body = chars.slice(close + 1)
  if (body.length === 0) invalid('missing court code, case-type code and serial number after the year')
  if (body[body.length - 1] !== '号') invalid('case number must end with 号')
  body.pop()

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
  if (i < body.length) {
    const ch = body[i]!
    const why = /\s/u.test(ch) ? ' (no spaces inside a case number)' : ''
    invalid(`unexpected character "${ch}" after "${body.slice(0, i).join('')}"${why}`)
  }

  const courtCode = province + courtDigits
  // Checked before the court code's digits: without letters, court digits and serial run together.
  if (letters === '') invalid('missing case-type code between the court code and the serial number')
  if (courtDigits.length !== 0 && courtDigits.length !== 2 && courtDigits.length !== 4) {
    invalid(`court code "${courtCode}" must be a province abbreviation followed by nothing, 2 or 4 digits`)
  }
  const { specialisedCode, typeCode } = splitLetters(letters)
  if (serialText === '') invalid('missing serial number before 号')
  if (/^0+$/.test(serialText)) invalid('serial number must be a positive integer')
  if (serialText.startsWith('0')) invalid(`serial number "${serialText}" must not have leading zeros`)
  if (serialText.length > MAX_SERIAL_DIGITS) invalid(`serial number is longer than ${MAX_SERIAL_DIGITS} digits`)

  const serial = Number(serialText)
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
 * The letters between the court code and the serial are an optional specialised-trial code and a case-type
 * code of at most 3 characters. A known type code wins over a split, so that no type code is ever cut apart;
 * an unknown run is split only when it starts with a specialised code, and is otherwise kept whole (category
 * 'other': criminal, administrative, bankruptcy … numbers are valid, just not civil or enforcement).
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
export function normaliseCaseNumber(input: string, options: { now?: Date } = {}): string {
  return parseCaseNumber(input, options).text
}
