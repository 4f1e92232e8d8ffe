/**
 * A binary min-heap whose items remember their place in it, so one can be removed or re-keyed in
 * O(log n) without a search: the event loop cancels timers, the network re-keys and drops
 * transfers among its completions.
 */

/** What an item carries: its place in the heap, -1 while it is in none. */
export interface HeapItem {
  heapIndex: number
}

export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = []

  /** `before(a, b)` is true when `a` must leave the heap before `b`; it must be a strict total order for a repeatable run. */
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    item.heapIndex = this.items.length
    this.items.push(item)
    this.siftUp(item.heapIndex)
  }

  pop(): T | undefined {
    const top = this.items[0]
    if (top !== undefined) this.removeAt(0)
    return top
  }

  /** Takes `item` out; does nothing when it is in no heap. */
  remove(item: T): void {
    if (item.heapIndex >= 0 && this.items[item.heapIndex] === item) this.removeAt(item.heapIndex)
  }

  /** Restores the order after `item`'s key changed, either way. */
  update(item: T): void {
    this.siftDown(item.heapIndex)
    this.siftUp(item.heapIndex)
  }

  private removeAt(index: number): void {
    const items = this.items
    const removed = items[index] as T
    const last = items.pop() as T
    removed.heapIndex = -1
    if (index === items.length) return
    items[index] = last
    last.heapIndex = index
    this.siftDown(index)
    this.siftUp(last.heapIndex)
  }

  private siftUp(index: number): void {
    const items = this.items
    const item = items[index] as T
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = items[parentIndex] as T
      if (!this.before(item, parent)) break
      items[index] = parent
      parent.heapIndex = index
      index = parentIndex
    }
    items[index] = item
    item.heapIndex = index
  }

  private siftDown(index: number): void {
    const items = this.items
    const length = items.length
    const item = items[index] as T
    for (;;) {
      const leftIndex = 2 * index + 1
      if (leftIndex >= length) break
      const rightIndex = leftIndex + 1
      let childIndex = leftIndex
      let child = items[leftIndex] as T
      if (rightIndex < length) {
        const right = items[rightIndex] as T
        if (this.before(right, child)) {
          childIndex = rightIndex
          child = right
        }
      }
      if (!this.before(child, item)) break
      items[index] = child
      child.heapIndex = index
      index = childIndex
    }
    items[index] = item
    item.heapIndex = index
  }
}
