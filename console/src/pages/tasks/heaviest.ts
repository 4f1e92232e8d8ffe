/**
 * The `limit` items of largest `weight` (all of them when there are no more), in their given
 * order. O(n) on average: the cut-off weight is found by selection, not by sorting everything.
 */
export function heaviest<T>(items: readonly T[], weight: (item: T) => number, limit: number): T[] {
  if (items.length <= limit) return [...items]
  if (limit <= 0) return []
  const weights = Float64Array.from(items, weight)
  const cutoff = kthLargest(Float64Array.from(weights), limit)
  // Everything above the cut-off, then as many of those equal to it as there is room for.
  let equalRoom = limit - weights.reduce((count, value) => count + (value > cutoff ? 1 : 0), 0)
  return items.filter((_item, index) => {
    const value = weights[index] as number
    if (value > cutoff) return true
    if (value === cutoff && equalRoom > 0) {
      equalRoom--
      return true
    }
    return false
  })
}

/** The k-th largest value (k from 1) by quickselect; reorders `values`. */
function kthLargest(values: Float64Array, k: number): number {
  let low = 0
  let high = values.length - 1
  const target = k - 1
  while (low < high) {
    // Middle pivot: snapshots often come sorted by weight, where a first-element pivot is quadratic.
    const pivot = values[(low + high) >> 1] as number
    let i = low
    let j = high
    while (i <= j) {
      while ((values[i] as number) > pivot) i++
      while ((values[j] as number) < pivot) j--
      if (i <= j) {
        const swap = values[i] as number
        values[i] = values[j] as number
        values[j] = swap
        i++
        j--
      }
    }
    if (target <= j) high = j
    else if (target >= i) low = i
    else return values[target] as number
  }
  return values[target] as number
}
