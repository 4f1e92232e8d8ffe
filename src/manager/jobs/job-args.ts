import { z } from 'zod'
import { parseBytes } from '../../common/units.js'
import { MAX_FIXED_PIECE_LENGTH_BYTES, MIN_FIXED_PIECE_LENGTH_BYTES } from '../../protocol/piece.js'
import type { JobType } from '../db/job-type.js'

// Pure (zod and pure modules only): the console's job forms check their input with these schemas.

/**
 * Harbor's rule: `""`, `0` and `null` mean "the default", so each optional field reads them as
 * absent. Unknown fields are dropped (zod objects strip them), never refused.
 */
export function optional<T extends z.ZodType>(schema: T): z.ZodPreprocess<z.ZodOptional<T>> {
  return z.preprocess((value) => (value === '' || value === 0 || value === null ? undefined : value), schema.optional())
}

const MAX_URLS = 1000
const MAX_HOSTS = 10_000

const httpUrl = z.string().max(4096).refine((text) => {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}, 'must be an http or https URL')

const headerName = z.string().min(1).max(256).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
const headers = z.record(headerName, z.string().max(8192).refine((value) => !/[\r\n\0]/.test(value), 'must not hold CR, LF or NUL'))
  .refine((record) => Object.keys(record).length <= 64, 'at most 64 headers')

const platform = z.string().max(64).regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must be os/arch or os/arch/variant, e.g. linux/amd64')

/** Dragonfly sends them `&`-separated in one string; a list is taken too. */
const filteredQueryParams = z.union([
  z.string().max(4096).transform((text) => text.split(/[&,]/).map((part) => part.trim()).filter((part) => part !== '')),
  z.array(z.string().min(1).max(256)).max(256),
])

const pieceLength = z.number().int().min(MIN_FIXED_PIECE_LENGTH_BYTES).max(MAX_FIXED_PIECE_LENGTH_BYTES)

/** A host named by IP address or hostname. */
const hostName = z.string().min(1).max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must be an IP address or a hostname')

/** A rate in bytes per second: a number, or a size such as `50MiB` (per second). */
const rate = z.union([z.number().int().min(0), z.string().max(32)]).transform((value, context) => {
  try {
    return parseBytes(value)
  } catch {
    context.addIssue({ code: 'custom', message: 'must be bytes per second, a number or a size such as 50MiB' })
    return z.NEVER
  }
})

export const SCOPES = ['single_seed_peer', 'all_seed_peers', 'all_peers'] as const
export type Scope = (typeof SCOPES)[number]

/** The fields of a download (preheat and distribution) that name what to fetch. */
const contentFields = {
  type: z.enum(['image', 'file']),
  url: optional(httpUrl),
  urls: optional(z.array(httpUrl).min(1).max(MAX_URLS)),
  headers: optional(headers),
  username: optional(z.string().max(1024)),
  password: optional(z.string().max(1024)),
  platform: optional(platform),
  tag: optional(z.string().max(1024)),
  application: optional(z.string().max(1024)),
  filtered_query_params: optional(filteredQueryParams),
  piece_length: optional(pieceLength),
  /** Seconds; the job fails once it runs this long. */
  timeout: optional(z.number().int().min(1).max(7 * 24 * 3600)),
}

/** An image names its manifest in `url`; a file is `url`, `urls` or both. */
function needsUrls(args: { type: 'image' | 'file'; url?: string | undefined; urls?: string[] | undefined }, context: z.core.$RefinementCtx): void {
  if (args.type === 'image' && args.url === undefined) context.addIssue({ code: 'custom', message: 'an image job needs args.url, the image\'s manifest URL' })
  if (args.type === 'file' && args.url === undefined && args.urls === undefined) context.addIssue({ code: 'custom', message: 'a file job needs args.url or args.urls' })
}

/** A preheat job's `args`, every rule included: the API and the console's form both check with it. */
export const preheatArgs = z.object({
  ...contentFields,
  scope: optional(z.enum(SCOPES)),
  ips: optional(z.array(hostName).max(MAX_HOSTS)),
  count: optional(z.number().int().min(1).max(MAX_HOSTS)),
  percentage: optional(z.number().int().min(1).max(100)),
}).superRefine((args, context) => {
  needsUrls(args, context)
  if (args.count !== undefined && args.percentage !== undefined) context.addIssue({ code: 'custom', message: 'give count or percentage, not both' })
})

/** A distribution job's `args`, every rule included: the API and the console's form both check with it. */
export const distributionArgs = z.object({
  ...contentFields,
  /** IP addresses or hostnames; none means every host of the clusters. */
  hosts: optional(z.array(hostName).max(MAX_HOSTS)),
  /** Relative to each daemon's `distribution.outputDir`. */
  output_path: optional(z.string().min(1).max(1024)),
  rate_limit: optional(rate),
}).superRefine((args, context) => {
  needsUrls(args, context)
  if (args.output_path === undefined) return
  if (args.type !== 'file') context.addIssue({ code: 'custom', path: ['output_path'], message: 'only a file is written to a path' })
  else if (new Set([...(args.urls ?? []), ...(args.url === undefined ? [] : [args.url])]).size !== 1) context.addIssue({ code: 'custom', path: ['output_path'], message: 'a path takes exactly one URL' })
})

const taskArgs = z.object({
  task_id: optional(z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')),
  url: optional(httpUrl),
  tag: optional(z.string().max(1024)),
  application: optional(z.string().max(1024)),
  filtered_query_params: optional(filteredQueryParams),
  piece_length: optional(pieceLength),
}).refine((args) => args.task_id !== undefined || args.url !== undefined, 'give task_id or url')

/** What a download job fetches and where. */
export interface DownloadJobSpec {
  readonly kind: 'image' | 'file'
  /** The file URLs, or the image's manifest URL. */
  readonly urls: readonly string[]
  readonly platform: string | undefined
  readonly tag: string
  readonly application: string
  readonly filteredQueryParams: readonly string[]
  readonly pieceLengthBytes: number | undefined
  readonly scope: Scope
  /** IP addresses or hostnames to keep; empty keeps every host the scope names. */
  readonly hosts: readonly string[]
  readonly count: number | undefined
  readonly percentage: number | undefined
  readonly outputPath: string
  readonly rateLimitBytesPerSecond: number
  readonly timeoutMs: number | undefined
}

/** Which task a get_task or delete_task job is about. */
export interface TaskJobSpec {
  readonly taskId: string | undefined
  readonly url: string | undefined
  readonly tag: string
  readonly application: string
  readonly filteredQueryParams: readonly string[]
  readonly pieceLengthBytes: number | undefined
}

/** What a job keeps sealed: never answered by the API, never logged, never in the job queue. */
export interface JobCredentials {
  /** Headers sent to the origin (Authorization and the like). */
  readonly headers: Readonly<Record<string, string>>
  readonly username: string
  readonly password: string
}

/** A job's arguments, parsed: what is stored (and answered), and the credentials sealed apart. */
export interface ParsedArgs {
  readonly args: Record<string, unknown>
  readonly credentials: JobCredentials
}

function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined))
}

/** The URLs to fetch, once each; the schemas made sure there is at least one. */
function urlsOf(args: { type: 'image' | 'file'; url?: string | undefined; urls?: string[] | undefined }): string[] {
  if (args.type === 'image') return args.url === undefined ? [] : [args.url]
  return [...new Set([...(args.urls ?? []), ...(args.url === undefined ? [] : [args.url])])]
}

/**
 * Parses a job's `args` for its type. Throws a zod error or an Error naming the field; the route
 * turns either into one INVALID_ARGUMENT line.
 */
export function parseJobArgs(type: JobType, input: unknown): ParsedArgs {
  switch (type) {
    case 'preheat': {
      const args = preheatArgs.parse(input)
      return {
        args: compact({ ...args, urls: urlsOf(args), url: undefined, headers: undefined, username: undefined, password: undefined, scope: args.scope ?? 'single_seed_peer' }),
        credentials: { headers: args.headers ?? {}, username: args.username ?? '', password: args.password ?? '' },
      }
    }
    case 'distribution': {
      const args = distributionArgs.parse(input)
      return {
        args: compact({ ...args, urls: urlsOf(args), url: undefined, headers: undefined, username: undefined, password: undefined }),
        credentials: { headers: args.headers ?? {}, username: args.username ?? '', password: args.password ?? '' },
      }
    }
    case 'get_task':
    case 'delete_task':
      return { args: compact(taskArgs.parse(input)), credentials: { headers: {}, username: '', password: '' } }
  }
}

const storedDownload = z.object({
  type: z.enum(['image', 'file']),
  urls: z.array(z.string()),
  platform: z.string().optional(),
  tag: z.string().optional(),
  application: z.string().optional(),
  filtered_query_params: z.array(z.string()).optional(),
  piece_length: z.number().optional(),
  timeout: z.number().optional(),
  scope: z.enum(SCOPES).optional(),
  ips: z.array(z.string()).optional(),
  hosts: z.array(z.string()).optional(),
  count: z.number().optional(),
  percentage: z.number().optional(),
  output_path: z.string().optional(),
  rate_limit: z.number().optional(),
})

/** A stored preheat or distribution job's arguments, as its runner uses them. */
export function downloadSpecOf(type: 'preheat' | 'distribution', stored: Record<string, unknown>): DownloadJobSpec {
  const args = storedDownload.parse(stored)
  return {
    kind: args.type,
    urls: args.urls,
    platform: args.platform,
    tag: args.tag ?? '',
    application: args.application ?? '',
    filteredQueryParams: args.filtered_query_params ?? [],
    pieceLengthBytes: args.piece_length,
    scope: type === 'distribution' ? 'all_peers' : args.scope ?? 'single_seed_peer',
    hosts: (type === 'distribution' ? args.hosts : args.ips) ?? [],
    count: args.count,
    percentage: args.percentage,
    outputPath: args.output_path ?? '',
    rateLimitBytesPerSecond: args.rate_limit ?? 0,
    timeoutMs: args.timeout === undefined ? undefined : args.timeout * 1000,
  }
}

const storedTask = z.object({
  task_id: z.string().optional(),
  url: z.string().optional(),
  tag: z.string().optional(),
  application: z.string().optional(),
  filtered_query_params: z.array(z.string()).optional(),
  piece_length: z.number().optional(),
})

export function taskSpecOf(stored: Record<string, unknown>): TaskJobSpec {
  const args = storedTask.parse(stored)
  return {
    taskId: args.task_id,
    url: args.url,
    tag: args.tag ?? '',
    application: args.application ?? '',
    filteredQueryParams: args.filtered_query_params ?? [],
    pieceLengthBytes: args.piece_length,
  }
}
