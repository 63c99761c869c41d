/**
 * The key a client address is counted under: an IPv4 address itself (also when it arrives IPv4-mapped on an
 * IPv6 listener), an IPv6 address by its /64. One subscriber or host holds a whole /64 and could otherwise
 * rotate through fresh addresses for ever, never reaching the limit and pushing the blocked ones out.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped) return mapped[1]!
  if (!ip.includes(':')) return ip
  const [head = '', tail] = ip.split('%')[0]!.split('::')
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  const left = groups(head)
  const prefix =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - groups(tail).length)).fill('0')]
  return `${prefix
    .slice(0, 4)
    .map((group) => Number.parseInt(group || '0', 16).toString(16))
    .join(':')}::/64`
}
