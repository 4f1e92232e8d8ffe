/**
 * Dragonfly's job types, and distribution (one-to-many delivery with live progress). Pure: the
 * console's job forms import it through the job arguments' schemas.
 */
export const JOB_TYPES = ['preheat', 'distribution', 'get_task', 'delete_task'] as const
export type JobType = (typeof JOB_TYPES)[number]
