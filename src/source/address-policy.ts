import { BlockList, isIP } from 'node:net'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { z } from 'zod'

type Family = 'ipv4' | 'ipv6'

/** A CIDR as written (`10.0.0.0/8`, `fd00::/8`), split into its network address and prefix length. */
export interface Cidr {
  readonly text: string
  readonly network: string
  readonly prefixLength: number
  readonly family: Family
}

/** Why an address is refused; every refusal names one, so logs and messages can say why. */
export type RefusalReason = 'loopback' | 'unspecified' | 'link-local' | 'metadata' | 'denied range'

/**
 * Well-known ranges and the reason a refusal in them gives, most specific first: the metadata
 * services of AWS, GCP and Azure answer on 169.254.169.254, inside link-local.
 */
const NAMED_RANGES: ReadonlyArray<{ readonly cidr: string; readonly reason: RefusalReason }> = [
  { cidr: '169.254.169.254/32', reason: 'metadata' },
  { cidr: '100.100.100.200/32', reason: 'metadata' },
  { cidr: 'fd00:ec2::254/128', reason: 'metadata' },
  { cidr: '127.0.0.0/8', reason: 'loopback' },
  { cidr: '::1/128', reason: 'loopback' },
  { cidr: '0.0.0.0/8', reason: 'unspecified' },
  { cidr: '::/128', reason: 'unspecified' },
  { cidr: '169.254.0.0/16', reason: 'link-local' },
  { cidr: 'fe80::/10', reason: 'link-local' },
]

/**
 * What a seed peer may not fetch for other hosts unless allowed: its own loopback and unspecified
 * addresses, link-local (which holds the AWS, GCP and Azure metadata service 169.254.169.254),
 * Alibaba Cloud's metadata service and AWS's IPv6 one.
 */
export const DEFAULT_SOURCE_DENY = [
  '127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128', '169.254.0.0/16', 'fe80::/10', '100.100.100.200/32', 'fd00:ec2::254/128',
] as const

const PREFIX_DIGITS = /^\d{1,3}$/
/** The WHATWG URL serialisation of an IPv4-mapped IPv6 address: `::ffff:7f00:1`. */
const MAPPED_IPV4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/

/** Parses `address/prefix`; undefined for anything else, a bare address or a zone id included. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const network = text.slice(0, slash)
  const prefix = text.slice(slash + 1)
  const version = network.includes('%') ? 0 : isIP(network)
  if (slash < 0 || version === 0 || !PREFIX_DIGITS.test(prefix)) return undefined
  const prefixLength = Number(prefix)
  if (prefixLength > (version === 4 ? 32 : 128)) return undefined
  return { text, network, prefixLength, family: version === 4 ? 'ipv4' : 'ipv6' }
}

/** A list of CIDRs in a config file, each checked with {@link parseCidr}. */
export function cidrListSchema(): z.ZodArray<z.ZodString> {
  return z.array(z.string().superRefine((text, ctx) => {
    if (parseCidr(text) === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a CIDR such as 10.0.0.0/8 or fd00::/8` })
  }))
}

/**
 * The address as the policy judges it: IPv6 in its canonical form without a zone id, and an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it reaches. Undefined when
 * the text is no IP address.
 */
export function canonicalAddress(address: string): { readonly address: string; readonly family: Family } | undefined {
  const version = isIP(address)
  if (version === 4) return { address, family: 'ipv4' }
  if (version !== 6) return undefined
  // A zone id (`fe80::1%eth0`) picks an interface; the range is judged on the address alone.
  const bare = address.split('%')[0] ?? address
  const canonical = new URL(`http://[${bare}]/`).hostname.slice(1, -1)
  const mapped = MAPPED_IPV4.exec(canonical)
  if (mapped === null) return { address: canonical, family: 'ipv6' }
  const high = parseInt(mapped[1] ?? '0', 16)
  const low = parseInt(mapped[2] ?? '0', 16)
  return { address: `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`, family: 'ipv4' }
}

function blockListOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList()
  for (const cidr of cidrs) list.addSubnet(cidr.network, cidr.prefixLength, cidr.family)
  return list
}

function parseAll(texts: readonly string[], key: string): Cidr[] {
  return texts.map((text) => {
    const cidr = parseCidr(text)
    if (cidr === undefined) throw new DamselflyError('CONFIG_INVALID', `${key}: ${JSON.stringify(text)} is not a CIDR such as 10.0.0.0/8 or fd00::/8`)
    return cidr
  })
}

/** Why one address may not be connected to. */
export interface AddressRefusal {
  /** The address judged: canonical, an IPv4-mapped IPv6 address as its IPv4 address. */
  readonly address: string
  readonly reason: RefusalReason
  /** The deny entry it falls in. */
  readonly deniedBy: string
}

export interface AddressPolicyInit {
  /** CIDRs refused. */
  readonly deny: readonly string[]
  /** CIDRs let through even when a deny entry covers them. */
  readonly allow: readonly string[]
  /** The setting that lets a refused address through, named in every refusal message. */
  readonly allowKey: string
}

/**
 * Which IP addresses a source may connect to: any address outside the deny list, and any inside
 * the allow list. IPv4-mapped IPv6 addresses are judged as their IPv4 address. Pure and cheap:
 * safe to ask once per connection.
 */
export class AddressPolicy {
  readonly allowKey: string
  private readonly deny: ReadonlyArray<{ readonly cidr: string; readonly list: BlockList }>
  private readonly allow: BlockList
  private readonly named: ReadonlyArray<{ readonly reason: RefusalReason; readonly list: BlockList }>

  /** Throws CONFIG_INVALID naming the first entry that is not a CIDR. */
  constructor(init: AddressPolicyInit) {
    this.allowKey = init.allowKey
    this.deny = parseAll(init.deny, 'deny').map((cidr) => ({ cidr: cidr.text, list: blockListOf([cidr]) }))
    this.allow = blockListOf(parseAll(init.allow, 'allow'))
    this.named = NAMED_RANGES.map(({ cidr, reason }) => ({ reason, list: blockListOf(parseAll([cidr], 'named range')) }))
  }

  /**
   * Undefined when the address may be connected to, otherwise why not. Throws INVALID_ARGUMENT
   * for text that is not an IP address: callers resolve names first.
   */
  check(address: string): AddressRefusal | undefined {
    const judged = canonicalAddress(address)
    if (judged === undefined) throw new DamselflyError('INVALID_ARGUMENT', `${JSON.stringify(address)} is not an IP address`)
    if (this.allow.check(judged.address, judged.family)) return undefined
    const denied = this.deny.find(({ list }) => list.check(judged.address, judged.family))
    if (denied === undefined) return undefined
    const reason = this.named.find(({ list }) => list.check(judged.address, judged.family))?.reason ?? 'denied range'
    return { address: judged.address, reason, deniedBy: denied.cidr }
  }
}

const REASON_PHRASES: Readonly<Record<RefusalReason, string>> = {
  loopback: 'a loopback address',
  unspecified: 'an unspecified address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata service address',
  'denied range': 'in a denied range',
}

/**
 * The one-line reason for a refusal of `host` (a name, or the address itself), e.g.
 * `localhost resolves to 127.0.0.1, a loopback address (deny 127.0.0.0/8); to fetch it anyway, add it to seedPeer.sourcePolicy.allow`.
 */
export function describeRefusal(refusal: AddressRefusal, host: string, allowKey: string): string {
  const literal = canonicalAddress(host) !== undefined
  const judged = host === refusal.address ? host : `${host} (${refusal.address})`
  const subject = literal ? `${judged} is` : `${host} resolves to ${refusal.address},`
  return `${subject} ${REASON_PHRASES[refusal.reason]} (deny ${refusal.deniedBy}); to fetch it anyway, add it to ${allowKey}`
}
