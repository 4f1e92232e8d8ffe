/**
 * A min-queue of (key, id) pairs in typed arrays: progressive filling pops the link with the
 * smallest key, and the network the flow with the earliest end, tens of thousands of times
 * per simulated millisecond; a queue of plain numbers neither allocates nor chases pointers.
 * Equal keys leave by id, so a run repeats exactly.
 */
export class MinQueue {
  private keys = new Float64Array(64)
  private ids = new Int32Array(64)
  private length = 0

  get size(): number {
    return this.length
  }

  push(key: number, id: number): void {
    if (this.length === this.ids.length) this.grow()
    let index = this.length++
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.leavesBefore(parent, key, id)) break
      this.keys[index] = this.keys[parent]!
      this.ids[index] = this.ids[parent]!
      index = parent
    }
    this.keys[index] = key
    this.ids[index] = id
  }

  /** The smallest key, or Infinity when empty. */
  get topKey(): number {
    return this.length === 0 ? Infinity : this.keys[0]!
  }

  /** The id of the entry with the smallest key; undefined when empty. */
  peekId(): number | undefined {
    return this.length === 0 ? undefined : this.ids[0]
  }

  /** Takes out the entry with the smallest key and returns its id; read its key with `topKey` first. */
  pop(): number | undefined {
    if (this.length === 0) return undefined
    const top = this.ids[0]!
    const length = --this.length
    const key = this.keys[length]!
    const id = this.ids[length]!
    let index = 0
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      if (child + 1 < length && this.leavesBefore(child + 1, this.keys[child]!, this.ids[child]!)) child++
      if (!this.leavesBefore(child, key, id)) break
      this.keys[index] = this.keys[child]!
      this.ids[index] = this.ids[child]!
      index = child
    }
    this.keys[index] = key
    this.ids[index] = id
    return top
  }

  clear(): void {
    this.length = 0
  }

  /** True when the entry at `index` leaves before (key, id). */
  private leavesBefore(index: number, key: number, id: number): boolean {
    const other = this.keys[index]!
    return other < key || (other === key && this.ids[index]! < id)
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2)
    keys.set(this.keys)
    this.keys = keys
    const ids = new Int32Array(this.ids.length * 2)
    ids.set(this.ids)
    this.ids = ids
  }
}
