/**
 * RFC 8785 (JSON Canonicalization Scheme) serialisation of the values an access-log entry holds, byte for
 * byte what the `canonicalize` package produces (test/unit/canonical-json.ts compares the two), at about a
 * third of its cost: serialising entries was a third of the sequencer's time per append. The scheme is
 * ECMAScript's JSON.stringify for strings and numbers, with object keys sorted by UTF-16 code units, which
 * is what Array.prototype.sort does by default.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return primitive(value)
  const withToJson = value as { toJSON?: () => unknown }
  if (typeof withToJson.toJSON === 'function') return canonicalJson(withToJson.toJSON())
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ','
      const item: unknown = value[i]
      out += item === undefined || typeof item === 'symbol' ? 'null' : canonicalJson(item)
    }
    return `${out}]`
  }
  const record = value as Record<string, unknown>
  let out = '{'
  for (const key of Object.keys(record).sort()) {
    const item = record[key]
    if (item === undefined || typeof item === 'symbol') continue
    if (out.length > 1) out += ','
    out += `${primitive(key)}:${canonicalJson(item)}`
  }
  return `${out}}`
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function primitive(value: unknown): string {
  switch (typeof value) {
    case 'string':
      // JSON.stringify would escape a lone surrogate; RFC 8785 has no way to represent it, so refuse.
      if (LONE_SURROGATE.test(value)) throw new Error('Lone surrogate is not allowed')
      return JSON.stringify(value)
    case 'number':
      if (Number.isNaN(value)) throw new Error('NaN is not allowed')
      if (!Number.isFinite(value)) throw new Error('Infinity is not allowed')
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    default:
      // null; and, as JSON.stringify at the top level, undefined, functions and symbols (never in an entry).
      return JSON.stringify(value) as string
  }
}
