import { isIP } from 'node:net'
import type { Cluster, ClusterScopes } from '../db/clusters-repository.js'

/** What a host tells about itself for the search: its name, address, data center and location. */
export interface HostPlacement {
  readonly hostname: string
  readonly ip: string
  readonly idc: string
  /** Hierarchical, `|`-separated, widest first: `country|province|city`. */
  readonly location: string
}

/**
 * Dragonfly's weights (manager/searcher): an address inside one of the cluster's CIDRs and a
 * hostname matching one of its regular expressions weigh most, then the IDC, then how much of
 * the location matches; being the default cluster only breaks ties.
 */
const WEIGHTS = { cidr: 0.3, hostname: 0.3, idc: 0.15, location: 0.14, isDefault: 0.01 } as const

/** Location elements compared at most; a deeper match scores no more. */
const LOCATION_DEPTH = 5

function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split('.').map(Number)
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return undefined
  return parts.reduce((sum, part) => sum * 256 + part, 0)
}

function ipv6ToBigInt(ip: string): bigint | undefined {
  const [head = '', tail] = ip.split('::')
  const groups = (text: string | undefined): string[] => (text === undefined || text === '' ? [] : text.split(':'))
  const left = groups(head)
  const right = groups(tail)
  const missing = 8 - left.length - right.length
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined
  const all = [...left, ...Array<string>(missing).fill('0'), ...right]
  let value = 0n
  for (const group of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined
    value = (value << 16n) + BigInt(parseInt(group, 16))
  }
  return value
}

/** Whether `ip` lies inside `cidr` (IPv4 or IPv6); false for anything malformed. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base = '', bitsText] = cidr.split('/')
  const version = isIP(base)
  if (version === 0 || version !== isIP(ip)) return false
  const width = version === 4 ? 32 : 128
  const bits = bitsText === undefined ? width : Number(bitsText)
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return false
  if (version === 4) {
    const a = ipv4ToNumber(base)
    const b = ipv4ToNumber(ip)
    if (a === undefined || b === undefined) return false
    const shift = 32 - bits
    return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift)
  }
  const a = ipv6ToBigInt(base)
  const b = ipv6ToBigInt(ip)
  if (a === undefined || b === undefined) return false
  const shift = BigInt(128 - bits)
  return a >> shift === b >> shift
}

function hostnameMatches(patterns: readonly string[], hostname: string): boolean {
  return patterns.some((pattern) => {
    try {
      return new RegExp(pattern).test(hostname)
    } catch {
      // The REST API checks patterns when they are saved; one that slipped in matches nothing.
      return false
    }
  })
}

/** The fraction of the host's location the scope's location shares from the top, over at most LOCATION_DEPTH elements. */
function locationShare(scope: string, location: string): number {
  if (scope === '' || location === '') return 0
  const want = scope.split('|')
  const have = location.split('|')
  let matched = 0
  while (matched < LOCATION_DEPTH && matched < want.length && want[matched] === have[matched]) matched++
  return matched / LOCATION_DEPTH
}

/** How well a cluster's scopes fit a host, from 0 to 1. */
export function scopeScore(scopes: ClusterScopes, isDefault: boolean, host: HostPlacement): number {
  let score = 0
  if (host.ip !== '' && scopes.cidrs.some((cidr) => cidrContains(cidr, host.ip))) score += WEIGHTS.cidr
  if (host.hostname !== '' && hostnameMatches(scopes.hostnames, host.hostname)) score += WEIGHTS.hostname
  // A scope's IDC may list several, `|`-separated, as Dragonfly's does.
  if (host.idc !== '' && scopes.idc.split('|').includes(host.idc)) score += WEIGHTS.idc
  score += WEIGHTS.location * locationShare(scopes.location, host.location)
  if (isDefault) score += WEIGHTS.isDefault
  return score
}

/** Clusters ranked for a host: best scope match first, the default cluster first among equals, then by id. */
export function rankClusters(clusters: readonly Cluster[], host: HostPlacement): Cluster[] {
  return clusters
    .map((cluster) => ({ cluster, score: scopeScore(cluster.scopes, cluster.isDefault, host) }))
    .sort((a, b) => b.score - a.score || a.cluster.id - b.cluster.id)
    .map(({ cluster }) => cluster)
}
