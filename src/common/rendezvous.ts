import { createHash } from 'node:crypto'

/**
 * Rendezvous (highest random weight) hashing: the item whose hash with `key` is highest. Every
 * process that sees the same items picks the same one, and removing an item moves only the keys
 * it owned.
 */
export function rendezvousPick<T>(key: string, items: readonly T[], idOf: (item: T) => string): T | undefined {
  let best: T | undefined
  let bestWeight = ''
  for (const item of items) {
    const weight = createHash('sha256').update(`${key}\n${idOf(item)}`).digest('hex')
    if (best === undefined || weight > bestWeight) {
      best = item
      bestWeight = weight
    }
  }
  return best
}
