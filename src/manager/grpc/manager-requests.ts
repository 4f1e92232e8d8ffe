import { isIP } from 'node:net'
import { z } from 'zod'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import {
  SourceType,
  type KeepAliveRequest,
  type ListSchedulersRequest,
  type RegisterSchedulerRequest,
  type RegisterSeedPeerRequest,
  type ReportHostsRequest,
} from '../../protocol/generated/damselfly/manager/v1/manager.js'
import type { MemberKey } from '../db/members-repository.js'
import type { ReportedHost } from '../db/hosts-repository.js'
import { SEED_PEER_TYPES, type SeedPeerType } from '../db/seed-peers-repository.js'
import type { HostPlacement } from './cluster-search.js'

/** Hosts one report may carry; a scheduler with more sends several. */
export const MAX_HOSTS_PER_REPORT = 10_000

/** Whether `text` holds a control character (PostgreSQL refuses NUL outright; none belongs in a name shown to operators). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}
const printable = (max: number): z.ZodString => z.string().max(max).refine((text) => !hasControlCharacter(text), 'must not hold control characters')
const hostname = printable(255).min(1, 'is missing')
const ip = z.string().refine((text) => isIP(text) !== 0, 'is not an IP address')
const label = printable(255)
const port = z.number().int().min(1).max(65_535)
const hostId = z.string().max(128).regex(/^[A-Za-z0-9._:-]*$/, 'must be letters, digits, dots, dashes, colons and underscores')
const clusterId = z.number().int().min(0).max(2 ** 31 - 1)

const placement = { hostname, ip, idc: label, location: label }

const registerScheduler = z.object({ ...placement, port, features: z.array(label).max(64), hostId, clusterId })
const registerSeedPeer = z.object({
  ...placement,
  port,
  type: z.string().transform((type) => (type === '' ? 'super' : type)).pipe(z.enum(SEED_PEER_TYPES)),
  hostId,
  clusterId,
})
const keepAlive = z.object({ hostname, ip, clusterId: clusterId.min(1, 'is missing: register first') })
const listSchedulers = z.object({ hostname: label, ip: z.union([z.literal(''), ip]), idc: label, location: label, version: label, hostId })
const reportedHost = z.object({
  hostId: hostId.min(1, 'is missing'),
  hostname,
  ip,
  port: z.number().int().min(0).max(65_535),
  idc: label,
  location: label,
  version: printable(64),
  os: printable(64),
  type: z.enum(['normal', 'seed']),
})
const reportHosts = z.object({ hostname, ip, clusterId: clusterId.min(1, 'is missing: register first'), hosts: z.array(reportedHost).max(MAX_HOSTS_PER_REPORT) })

/** Parses with `schema`, or throws INVALID_ARGUMENT naming every bad field of the `what` call. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'request'} ${issue.message}`)
  throw new DamselflyError('INVALID_ARGUMENT', `${what}: ${problems.join('; ')}`)
}

export interface SchedulerRegistrationRequest extends HostPlacement {
  readonly port: number
  readonly features: readonly string[]
  readonly hostId: string
  /** 0: pick the cluster by scopes. */
  readonly clusterId: number
}

export function parseRegisterScheduler(request: RegisterSchedulerRequest): SchedulerRegistrationRequest {
  return parse(registerScheduler, request, 'register scheduler')
}

export interface SeedPeerRegistrationRequest extends HostPlacement {
  readonly port: number
  readonly type: SeedPeerType
  readonly hostId: string
  readonly clusterId: number
}

export function parseRegisterSeedPeer(request: RegisterSeedPeerRequest): SeedPeerRegistrationRequest {
  return parse(registerSeedPeer, request, 'register seed peer')
}

export function parseKeepAlive(request: KeepAliveRequest): MemberKey & { readonly sourceType: 'scheduler' | 'seed-peer' } {
  const sourceType = request.sourceType === SourceType.SOURCE_TYPE_SCHEDULER ? 'scheduler'
    : request.sourceType === SourceType.SOURCE_TYPE_SEED_PEER ? 'seed-peer' : undefined
  if (sourceType === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'keepalive: source_type must be scheduler or seed_peer')
  return { ...parse(keepAlive, request, 'keepalive'), sourceType }
}

export function parseListSchedulers(request: ListSchedulersRequest): HostPlacement & { readonly version: string; readonly hostId: string } {
  return parse(listSchedulers, request, 'list schedulers')
}

export function parseReportHosts(request: ReportHostsRequest): MemberKey & { readonly hosts: readonly ReportedHost[] } {
  return parse(reportHosts, request, 'report hosts')
}
