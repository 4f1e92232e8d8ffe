import { distributionArgs } from '@manager-jobs/job-args'
import { checkedJobBody, type Checked } from './checked-job-body'
import { linesOf } from './lines-of'
import { present } from './present'

/** The "New distribution" form's fields, as typed. */
export interface DistributionForm {
  readonly type: 'image' | 'file'
  readonly url: string
  /** One IP address or hostname a line; none: every host of the clusters. */
  readonly hosts: string
  readonly clusterIds: readonly number[]
  /** Bytes per second, or a size such as `50MiB` (per second). */
  readonly bandwidthLimit: string
  /** A `datetime-local` value, in the reader's zone; empty: now. */
  readonly startAt: string
  readonly outputPath: string
  readonly platform: string
  readonly username: string
  readonly password: string
}

export const EMPTY_DISTRIBUTION: DistributionForm = {
  type: 'file', url: '', hosts: '', clusterIds: [], bandwidthLimit: '', startAt: '', outputPath: '', platform: '', username: '', password: '',
}

/**
 * A `datetime-local` value (`2026-12-24T18:00`, the reader's local time) as RFC 3339 UTC; a value
 * that is no time is passed on as typed, for the API's schema to refuse.
 */
export function startAtOf(local: string): string | undefined {
  if (local.trim() === '') return undefined
  // Without an offset, a date-time string is read in the local zone: what the picker showed.
  const date = new Date(local.trim())
  return Number.isNaN(date.getTime()) ? local : date.toISOString()
}

/** The `POST /api/v1/jobs` body for the form, or the one line the API would refuse it with. */
export function distributionBody(form: DistributionForm): Checked {
  const args = present({
    type: form.type,
    url: form.url.trim(),
    hosts: linesOf(form.hosts),
    rate_limit: form.bandwidthLimit.trim(),
    output_path: form.outputPath.trim(),
    platform: form.platform.trim(),
    username: form.username,
    password: form.password,
  })
  const body = present({ type: 'distribution', args, scheduler_cluster_ids: [...form.clusterIds], scheduled_at: startAtOf(form.startAt) })
  return checkedJobBody(body, distributionArgs)
}
