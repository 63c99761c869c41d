/**
 * What the access log can hold, checked on client input before anything changes. An entry is RFC 8785
 * canonical JSON, which has no representation for a lone UTF-16 surrogate; and identifiers end up in log
 * columns, exports and terminals, where control and format characters (bidi overrides, zero-width marks)
 * could forge or hide text. Input that breaks either rule is refused with a 400 up front, rather than failing
 * the log append after the decision, or entering the log in a form a reader is misled by.
 */

/**
 * Never in an identifier: controls (C0, DEL, C1), format characters (bidi marks, embeddings, overrides and
 * isolates, zero-width characters, the BOM, tags), line and paragraph separators, and lone surrogates.
 */
const NOT_IN_IDENTIFIER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u
/** With the `u` flag a surrogate pair is one code point: only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u

/** Whether `text` is well-formed Unicode (no lone surrogate), so that the log can serialise it. */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text)
}

/** Whether `text` may be an identifier (an id, a case number, a court code, a person). */
export function isIdentifier(text: string): boolean {
  return !NOT_IN_IDENTIFIER.test(text)
}

/** Request fields that hold prose, not identifiers: any well-formed text, line breaks and all. */
export const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(['reason', 'note', 'description', 'caCertificate'])

export interface Unloggable {
  /** Where, as a dotted path of keys (a key that is itself the problem is not echoed). */
  path: string
  problem: string
}

/**
 * A string in `value` (a parsed JSON body, the query, the path parameters) that the log cannot hold, or
 * undefined if there is none. Every string must be well-formed; every string and key must also be an
 * identifier unless its key is one of FREE_TEXT_FIELDS. Iterative, so a deeply nested body cannot exhaust
 * the stack.
 */
export function findUnloggable(value: unknown, root = ''): Unloggable | undefined {
  const stack: Visit[] = [{ value, parent: undefined, step: root, freeText: false }]
  while (stack.length > 0) {
    const visit = stack.pop()!
    const item = visit.value
    if (typeof item === 'string') {
      if (!isWellFormed(item)) return { path: pathOf(visit), problem: 'is not well-formed Unicode (a lone surrogate)' }
      if (!visit.freeText && !isIdentifier(item)) {
        return { path: pathOf(visit), problem: 'contains a control or format character, which an identifier may not' }
      }
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push({ value: item[i], parent: visit, step: i, freeText: visit.freeText })
      }
    } else if (item !== null && typeof item === 'object') {
      for (const key in item) {
        if (!Object.hasOwn(item, key)) continue
        if (!isIdentifier(key)) {
          return { path: pathOf(visit), problem: 'has a field name with a control, format or lone surrogate' }
        }
        const child = (item as Record<string, unknown>)[key]
        stack.push({ value: child, parent: visit, step: key, freeText: FREE_TEXT_FIELDS.has(key) })
      }
    }
  }
  return undefined
}

/** A value to look at, and how it was reached: the path is spelled out only for the one reported. */
interface Visit {
  value: unknown
  parent: Visit | undefined
  /** The key or index under the parent (at the root: the root's name). */
  step: string | number
  freeText: boolean
}

function pathOf(visit: Visit): string {
  const steps: Array<string | number> = []
  for (let at: Visit | undefined = visit; at !== undefined; at = at.parent) steps.push(at.step)
  let path = ''
  for (const step of steps.reverse()) {
    if (typeof step === 'number') path += `[${step}]`
    else if (step !== '') path = path ? `${path}.${step}` : step
  }
  return path
}
