import { preheatArgs, type Scope } from '@manager-jobs/job-args'
import { formNumber } from './form-number'
import { checkedJobBody, type Checked } from './checked-job-body'
import { linesOf } from './lines-of'
import { present } from './present'
import { parseHeaders } from './parse-headers'

/** The "New preheat" form's fields, as typed. */
export interface PreheatForm {
  readonly type: 'image' | 'file'
  readonly url: string
  readonly platform: string
  readonly username: string
  readonly password: string
  /** `Name: value` a line. */
  readonly headers: string
  readonly tag: string
  readonly application: string
  readonly filteredQueryParams: string
  readonly pieceLength: string
  readonly scope: Scope
  /** One IP address or hostname a line. */
  readonly ips: string
  readonly count: string
  readonly percentage: string
  readonly timeoutSeconds: string
  /** None: the default cluster. */
  readonly clusterIds: readonly number[]
}

export const EMPTY_PREHEAT: PreheatForm = {
  type: 'image', url: '', platform: '', username: '', password: '', headers: '', tag: '', application: '', filteredQueryParams: '',
  pieceLength: '', scope: 'single_seed_peer', ips: '', count: '', percentage: '', timeoutSeconds: '', clusterIds: [],
}

/** The `POST /api/v1/jobs` body for the form, or the one line the API would refuse it with. */
export function preheatBody(form: PreheatForm): Checked {
  const headers = parseHeaders(form.headers)
  if ('problem' in headers) return headers
  const args = present({
    type: form.type,
    url: form.url.trim(),
    platform: form.platform.trim(),
    username: form.username,
    password: form.password,
    headers: Object.keys(headers.headers).length === 0 ? undefined : headers.headers,
    tag: form.tag.trim(),
    application: form.application.trim(),
    filtered_query_params: form.filteredQueryParams.trim(),
    piece_length: formNumber(form.pieceLength),
    scope: form.scope,
    ips: linesOf(form.ips),
    count: formNumber(form.count),
    percentage: formNumber(form.percentage),
    timeout: formNumber(form.timeoutSeconds),
  })
  const body = present({ type: 'preheat', args, scheduler_cluster_ids: [...form.clusterIds] })
  return checkedJobBody(body, preheatArgs)
}
