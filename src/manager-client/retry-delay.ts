/** The first retry after a failed call to the managers; each further failure doubles it, up to the caller's interval. */
export const FIRST_RETRY_DELAY_MS = 500

/** The wait before retry number `failures` (1 for the first), never more than `maxMs`. */
export function retryDelayMs(failures: number, maxMs: number): number {
  return Math.min(maxMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(failures - 1, 20))
}
