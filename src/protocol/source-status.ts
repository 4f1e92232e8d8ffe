/**
 * Whether an origin's error status is its final answer to a request, one a retry cannot change:
 * a 4xx other than 408 (request timeout) and 429 (too many requests). Daemons retry the others
 * (source-fetcher.ts), and a seed peer's final answer is what the scheduler relays to the peers
 * that asked the same.
 */
export function isFinalSourceStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 400 && status <= 499 && status !== 408 && status !== 429
}
