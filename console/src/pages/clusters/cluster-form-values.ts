import type { RequestParts } from '../../api/client'
import type { Cluster } from '../../api/types'
import { linesOf } from '../../components/lines-of'

/** The cluster form as typed: every field text, lists one entry a line, numbers '' when left to the default. */
export interface ClusterFormValues {
  readonly name: string
  readonly bio: string
  readonly idc: string
  readonly location: string
  readonly cidrs: string
  readonly hostnames: string
  readonly candidateParentLimit: string
  readonly filterParentLimit: string
  readonly jobRateLimit: string
  readonly seedPeerLoadLimit: string
  readonly peerLoadLimit: string
  readonly blockedApplications: string
  readonly blockedUrls: string
  readonly blockedTags: string
}

/** What `POST /api/v1/clusters` takes; `newClusterBody` in the API's schemas says which values pass. */
export type NewClusterBody = RequestParts<'/api/v1/clusters', 'post'>['body']
/** What `PATCH /api/v1/clusters/:id` takes; `clusterPatchBody` says which values pass. */
export type ClusterPatchBody = RequestParts<'/api/v1/clusters/{id}', 'patch'>['body']

/** A new cluster's form: only a name to give; the API's defaults fill the rest. */
export const EMPTY_CLUSTER_FORM: ClusterFormValues = {
  name: '', bio: '', idc: '', location: '', cidrs: '', hostnames: '',
  candidateParentLimit: '', filterParentLimit: '', jobRateLimit: '', seedPeerLoadLimit: '', peerLoadLimit: '',
  blockedApplications: '', blockedUrls: '', blockedTags: '',
}

/** A cluster as its edit form shows it. */
export function formValuesOf(cluster: Cluster): ClusterFormValues {
  return {
    name: cluster.name,
    bio: cluster.bio,
    idc: cluster.scopes.idc,
    location: cluster.scopes.location,
    cidrs: cluster.scopes.cidrs.join('\n'),
    hostnames: cluster.scopes.hostnames.join('\n'),
    candidateParentLimit: String(cluster.scheduler_cluster_config.candidate_parent_limit),
    filterParentLimit: String(cluster.scheduler_cluster_config.filter_parent_limit),
    jobRateLimit: String(cluster.scheduler_cluster_config.job_rate_limit),
    seedPeerLoadLimit: String(cluster.seed_peer_cluster_config.load_limit),
    peerLoadLimit: String(cluster.peer_cluster_config.load_limit),
    blockedApplications: cluster.blocklist.applications.join('\n'),
    blockedUrls: cluster.blocklist.urls.join('\n'),
    blockedTags: cluster.blocklist.tags.join('\n'),
  }
}

/** '' is "leave it"; anything else goes to the API as a number, so its schema words the problem (1.5, 0). */
function numberOf(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text)
}

/** `T` with each field optional and, when present, set. */
type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> }

/** Keeps the keys whose value is set: an absent key is "not sent", which `undefined` would blur. */
function definedOnly<T extends Record<string, unknown>>(fields: T): Defined<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Defined<T>
}

/** A section with at least one field, or undefined when it has none. */
function section<T extends Record<string, unknown>>(fields: T): Defined<T> | undefined {
  const kept = definedOnly(fields)
  return Object.keys(kept).length === 0 ? undefined : kept
}

/** Every part of the body the form can fill, each `undefined` when not sent. */
function bodyParts(values: ClusterFormValues, keep: (field: keyof ClusterFormValues) => boolean) {
  const text = (field: keyof ClusterFormValues): string | undefined => keep(field) ? values[field] : undefined
  const lines = (field: keyof ClusterFormValues): string[] | undefined => keep(field) ? linesOf(values[field]) : undefined
  const number = (field: keyof ClusterFormValues): number | undefined => keep(field) ? numberOf(values[field]) : undefined
  return {
    name: keep('name') ? values.name.trim() : undefined,
    bio: text('bio'),
    scopes: section({ idc: text('idc'), location: text('location'), cidrs: lines('cidrs'), hostnames: lines('hostnames') }),
    scheduler_cluster_config: section({
      candidate_parent_limit: number('candidateParentLimit'),
      filter_parent_limit: number('filterParentLimit'),
      job_rate_limit: number('jobRateLimit'),
    }),
    seed_peer_cluster_config: section({ load_limit: number('seedPeerLoadLimit') }),
    peer_cluster_config: section({ load_limit: number('peerLoadLimit') }),
    blocklist: section({ applications: lines('blockedApplications'), urls: lines('blockedUrls'), tags: lines('blockedTags') }),
  }
}

/** `POST /api/v1/clusters`: what the form holds; numbers left blank take the API's defaults. */
export function newClusterBodyOf(values: ClusterFormValues): NewClusterBody {
  const { name, ...rest } = bodyParts(values, () => true)
  return { name: name ?? '', ...definedOnly(rest) }
}

/** Compares what a field means, not how it was typed: list order and blank lines in a textarea do not count as a change. */
function sameValue(field: keyof ClusterFormValues, before: ClusterFormValues, after: ClusterFormValues): boolean {
  const lists: readonly (keyof ClusterFormValues)[] = ['cidrs', 'hostnames', 'blockedApplications', 'blockedUrls', 'blockedTags']
  if (lists.includes(field)) return linesOf(before[field]).join('\n') === linesOf(after[field]).join('\n')
  return before[field].trim() === after[field].trim()
}

/**
 * `PATCH /api/v1/clusters/:id`: only the fields that changed (the API merges scopes and each
 * configuration section field by field, so an unchanged field is simply left out). A number
 * emptied is left out too: the API cannot unset one, it keeps the current value.
 */
export function clusterPatchOf(before: ClusterFormValues, after: ClusterFormValues): ClusterPatchBody {
  return definedOnly(bodyParts(after, (field) => !sameValue(field, before, after)))
}

/** Whether a PATCH body would change nothing. */
export function isEmptyPatch(patch: ClusterPatchBody): boolean {
  return Object.keys(patch).length === 0
}
