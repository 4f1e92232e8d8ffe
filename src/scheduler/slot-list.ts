/**
 * A list that removes any item in O(1) (the last item takes its place) and draws a random sample
 * in O(sample), for lists of a task's peers that may hold tens of thousands. Each item keeps its
 * own position in the numeric field `key` (-1 while in no list of this kind), so an item can be
 * in one list per key.
 */
export class SlotList<K extends PropertyKey, T extends { [P in K]: number }> {
  private readonly items: T[] = []

  constructor(private readonly key: K) {}

  get size(): number {
    return this.items.length
  }

  /** The items in list order, which removals change; not to be changed by the caller. */
  get all(): readonly T[] {
    return this.items
  }

  /** Adds `item` unless it is in the list already. */
  add(item: T): void {
    if (this.items[item[this.key]] === item) return
    item[this.key] = this.items.length as T[K]
    this.items.push(item)
  }

  /** Removes `item`; safe when it is not in the list. */
  remove(item: T): void {
    const slot = item[this.key]
    if (this.items[slot] !== item) return
    const last = this.items.pop() as T
    if (last !== item) {
      this.items[slot] = last
      last[this.key] = slot
    }
    item[this.key] = -1 as T[K]
  }

  /**
   * Up to `count` items drawn at random without replacement, leaving out `except`: a partial
   * Fisher-Yates shuffle of a virtual copy (only the positions it moved are kept), so the cost is
   * O(count), whatever the list's length. One `random()` per item drawn, as a shuffle of a copy
   * of the list without `except` would draw.
   */
  sample(count: number, random: () => number, except?: T): T[] {
    const skipped = except !== undefined && this.items[except[this.key]] === except ? except[this.key] : -1
    const length = this.items.length - (skipped === -1 ? 0 : 1)
    const size = Math.min(count, length)
    const moved = new Map<number, number>()
    const picked: T[] = []
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(random() * (length - i))
      const position = moved.get(j) ?? j
      moved.set(j, moved.get(i) ?? i)
      // Positions count the list without `except`: those from its slot on sit one further.
      picked.push(this.items[skipped !== -1 && position >= skipped ? position + 1 : position] as T)
    }
    return picked
  }
}
