import { BlockList, isIP } from 'node:net'

/**
 * Which network addresses the gateway may connect to for court adapters (`adapters.allowedNetworks`). Pure:
 * resolving names is the caller's job; this module only says yes or no to addresses and URL hosts.
 *
 * Every address is compared in one canonical form, so no spelling slips past: WHATWG URL parsing already
 * turns `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1` into `127.0.0.1`, and an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is checked as the IPv4 address it reaches.
 */

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Resolves a host name to all its addresses (like `dns.lookup(name, { all: true })`); rejects when it cannot. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/**
 * Never a court's address, whatever the allow-list says: connecting to an unspecified address reaches this
 * host itself, and multicast and broadcast are not single peers.
 */
const NEVER: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['255.255.255.255', 32, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
]

/**
 * Refused when no allow-list is configured: this host's own services (loopback) and link-local addresses,
 * where cloud metadata services answer (169.254.169.254). An allow-list that names them admits them.
 */
const LOCAL: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
]

function blockList(entries: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList()
  for (const [address, prefix, family] of entries) list.addSubnet(address, prefix, family)
  return list
}

/**
 * An IP address in canonical form: IPv6 compressed and lower-case, an IPv4-mapped IPv6 address as its IPv4
 * address. Undefined for anything that is not an IP address (a name, an address with a zone, garbage).
 */
export function canonicalAddress(text: string): ResolvedAddress | undefined {
  const family = isIP(text)
  if (family === 4) return { address: new URL(`http://${text}/`).hostname, family: 4 }
  if (family !== 6 || text.includes('%')) return undefined
  const address = new URL(`http://[${text}]/`).hostname.slice(1, -1)
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address)
  if (mapped) {
    const high = Number.parseInt(mapped[1]!, 16)
    const low = Number.parseInt(mapped[2]!, 16)
    return { address: [high >> 8, high & 255, low >> 8, low & 255].join('.'), family: 4 }
  }
  return { address, family: 6 }
}

export class AddressPolicy {
  readonly #allowed: BlockList | undefined
  readonly #never = blockList(NEVER)
  readonly #local = blockList(LOCAL)

  /** `networks`: CIDR blocks (validated by the config loader); empty means any address but local ones. */
  constructor(networks: readonly string[]) {
    if (networks.length === 0) return
    this.#allowed = blockList(
      networks.map((network) => {
        const [address, bits] = network.split('/') as [string, string]
        return [address, Number(bits), address.includes(':') ? 'ipv6' : 'ipv4'] as const
      }),
    )
  }

  /** Whether the gateway may connect to `address` (any textual IP form); false for what is not an address. */
  allows(address: string): boolean {
    const canonical = canonicalAddress(address)
    if (!canonical) return false
    const type = canonical.family === 4 ? 'ipv4' : 'ipv6'
    if (this.#never.check(canonical.address, type)) return false
    if (this.#allowed) return this.#allowed.check(canonical.address, type)
    return !this.#local.check(canonical.address, type)
  }

  /**
   * The addresses to connect to, in resolver order, when every one of them is allowed; undefined otherwise.
   * All of them, not just the first: a name that also resolves to a forbidden address is refused outright,
   * so which address a connection ends up on never decides whether it was allowed.
   */
  vet(addresses: readonly ResolvedAddress[]): ResolvedAddress[] | undefined {
    if (addresses.length === 0) return undefined
    const canonical = addresses.map((entry) => canonicalAddress(entry.address))
    if (canonical.some((entry) => entry === undefined || !this.allows(entry.address))) return undefined
    return canonical as ResolvedAddress[]
  }
}

/**
 * The host of a parsed URL: an IP address (canonical, as the URL parser leaves it) or a name. `localhost` and
 * its subdomains count as loopback addresses (RFC 6761 §6.3: they never leave this host), whatever the
 * resolver would say.
 */
export function urlHost(url: URL): { address: ResolvedAddress } | { name: string } {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const address = canonicalAddress(hostname)
  if (address) return { address }
  const name = hostname.replace(/\.$/, '')
  if (name === 'localhost' || name.endsWith('.localhost')) return { address: { address: '127.0.0.1', family: 4 } }
  return { name: hostname }
}
