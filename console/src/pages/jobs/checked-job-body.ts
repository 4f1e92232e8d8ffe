import { z } from 'zod'
import { createJobBody } from '@manager-api/create-job-body'
import type { paths } from '../../api/schema'
import { problemWith } from '../../api/validate'

/** `POST /api/v1/jobs`'s body, as the OpenAPI document types it. */
export type CreateJobBody = NonNullable<paths['/api/v1/jobs']['post']['requestBody']>['content']['application/json']

/** A body the API would take, or the one line it would refuse it with. */
export type Checked = { readonly body: CreateJobBody } | { readonly problem: string }

/**
 * Checks a job's body as `POST /api/v1/jobs` does: the body first, then `args` by the job type's
 * schema, so a problem reads exactly as the API's (`body.args.url: ...`).
 */
export function checkedJobBody(body: Record<string, unknown>, argsSchema: z.ZodType): Checked {
  const problem = problemWith(createJobBody, body) ?? problemWith(z.object({ args: argsSchema }), body)
  // The schemas above are the API's: what passes them is a body it takes.
  return problem === undefined ? { body: body as CreateJobBody } : { problem }
}
