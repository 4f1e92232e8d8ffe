import { z } from 'zod'
import { JOB_TYPES } from '../db/job-type.js'
import { optional } from '../jobs/job-args.js'
import { rfc3339 } from './input-schemas.js'

/**
 * The body of `POST /api/v1/jobs` (and `/oapi/v1/jobs`), Dragonfly's; `args` is checked apart,
 * by its type's schema (job-args.ts). Pure: the console's job forms check with it too.
 */
export const createJobBody = z.object({
  type: z.enum(JOB_TYPES),
  bio: optional(z.string().max(1024)),
  args: z.preprocess((value) => value ?? {}, z.record(z.string(), z.unknown())),
  scheduler_cluster_ids: optional(z.array(z.number().int().min(1).max(2_147_483_647)).max(100)),
  /** Run at this time rather than now. */
  scheduled_at: optional(rfc3339),
})
