/**
 * A min-queue of (share, link id) pairs in typed arrays: the network's progressive filling pops
 * the link with the smallest share tens of thousands of times per allocation, and a queue of
 * plain numbers neither allocates nor chases pointers. Equal shares leave by link id, so an
 * allocation repeats exactly.
 */
export class ShareQueue {
  private shares = new Float64Array(64)
  private ids = new Int32Array(64)
  private length = 0

  get size(): number {
    return this.length
  }

  push(share: number, id: number): void {
    if (this.length === this.ids.length) this.grow()
    let index = this.length++
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (this.leavesBefore(parent, share, id)) break
      this.shares[index] = this.shares[parent]!
      this.ids[index] = this.ids[parent]!
      index = parent
    }
    this.shares[index] = share
    this.ids[index] = id
  }

  /** The smallest share, or Infinity when empty. */
  get topShare(): number {
    return this.length === 0 ? Infinity : this.shares[0]!
  }

  /** Takes out the entry with the smallest share and returns its link id; read its share with `topShare` first. */
  pop(): number | undefined {
    if (this.length === 0) return undefined
    const top = this.ids[0]!
    const length = --this.length
    const share = this.shares[length]!
    const id = this.ids[length]!
    let index = 0
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      if (child + 1 < length && this.leavesBefore(child + 1, this.shares[child]!, this.ids[child]!)) child++
      if (!this.leavesBefore(child, share, id)) break
      this.shares[index] = this.shares[child]!
      this.ids[index] = this.ids[child]!
      index = child
    }
    this.shares[index] = share
    this.ids[index] = id
    return top
  }

  clear(): void {
    this.length = 0
  }

  /** True when the entry at `index` leaves before (share, id). */
  private leavesBefore(index: number, share: number, id: number): boolean {
    const other = this.shares[index]!
    return other < share || (other === share && this.ids[index]! < id)
  }

  private grow(): void {
    const shares = new Float64Array(this.shares.length * 2)
    shares.set(this.shares)
    this.shares = shares
    const ids = new Int32Array(this.ids.length * 2)
    ids.set(this.ids)
    this.ids = ids
  }
}
