/**
 * Max-min fair rates for flows over links, each flow crossing two links (its sender's uplink and
 * its receiver's downlink), found by progressive filling: the link whose capacity left, shared
 * among its flows not yet fixed, is smallest fixes those flows at that share and takes their
 * rate off the other link on each one's path; repeat until every flow is fixed.
 *
 * Everything lives in typed arrays indexed by link id and flow slot: one allocation walks every
 * flow twice, and at 10,000 hosts that is 100,000 flows many times per simulated millisecond,
 * where objects scattered over the heap would cost a cache miss per step.
 */
import { MinQueue } from './min-queue.js'

export class FairShare {
  private capacity = new Float64Array(64)
  /** During an allocation: each link's capacity not yet given to fixed flows, and its flows not yet fixed. */
  private remaining = new Float64Array(64)
  private unfixed = new Int32Array(64)
  /** The last allocation in which each link held its flows back (used up its capacity). */
  private saturatedIn = new Int32Array(64)
  /** Each link's flow slots. */
  private readonly linkSlots: number[][] = []

  private up = new Int32Array(256)
  private down = new Int32Array(256)
  /** Places of each flow in its uplink's and downlink's slot lists. */
  private upPlace = new Int32Array(256)
  private downPlace = new Int32Array(256)
  /** The allocation that fixed each flow's rate. */
  private fixedIn = new Int32Array(256)
  private rate = new Float64Array(256)
  private slotsUsed = 0
  private readonly freeSlots: number[] = []
  /** The slots whose rate the last allocation changed, in `changed[0 .. changedCount)`. */
  private changed = new Int32Array(256)
  private changedCount = 0
  private allocations = 0
  private readonly queue = new MinQueue()

  /** Adds a link of `capacityBytesPerMs` and returns its id. */
  addLink(capacityBytesPerMs: number): number {
    const link = this.linkSlots.length
    if (link === this.capacity.length) {
      this.capacity = grown(this.capacity)
      this.remaining = grown(this.remaining)
      this.unfixed = grown(this.unfixed)
      this.saturatedIn = grown(this.saturatedIn)
    }
    this.capacity[link] = capacityBytesPerMs
    this.linkSlots.push([])
    return link
  }

  /** Adds a flow from uplink `up` to downlink `down` at rate 0 until the next allocation; returns its slot. */
  addFlow(up: number, down: number): number {
    const slot = this.freeSlots.pop() ?? this.newSlot()
    this.up[slot] = up
    this.down[slot] = down
    this.upPlace[slot] = this.linkSlots[up]!.push(slot) - 1
    this.downPlace[slot] = this.linkSlots[down]!.push(slot) - 1
    this.rate[slot] = 0
    this.fixedIn[slot] = 0
    return slot
  }

  /** Takes a flow off its links; its slot may be given to a later flow. */
  removeFlow(slot: number): void {
    this.unlist(this.up[slot]!, this.upPlace[slot]!)
    this.unlist(this.down[slot]!, this.downPlace[slot]!)
    this.freeSlots.push(slot)
  }

  /** Whether the last allocation gave all of the link's capacity to its flows: a queue stands in front of it. */
  saturated(link: number): boolean {
    return this.allocations > 0 && this.saturatedIn[link] === this.allocations
  }

  /** A flow's rate in bytes per ms as the last allocation fixed it (0 before one ran). */
  rateOf(slot: number): number {
    return this.rate[slot]!
  }

  /** The flows whose rate the last allocation changed (a new flow's from 0), each once; valid until the next. */
  changedSlots(): Int32Array {
    return this.changed.subarray(0, this.changedCount)
  }

  /**
   * Fixes every flow's rate. The queue is lazy: fixing a flow only raises the share of the other
   * link on its path (the bottleneck's share is the smallest of all), so a link popped with a
   * share below its current one goes back in with the current one, and a link popped with its
   * current share is the next bottleneck.
   */
  allocate(): void {
    const allocation = ++this.allocations
    const { queue, linkSlots, capacity, remaining, unfixed, up, down, fixedIn, rate, changed } = this
    let changedCount = 0
    for (let link = 0; link < linkSlots.length; link++) {
      const flows = linkSlots[link]!.length
      unfixed[link] = flows
      if (flows === 0) continue
      remaining[link] = capacity[link]!
      queue.push(capacity[link]! / flows, link)
    }
    while (queue.size > 0) {
      const queuedShare = queue.topKey
      const link = queue.pop()!
      const left = unfixed[link]!
      if (left === 0) continue
      const share = remaining[link]! / left
      if (share > queuedShare) {
        queue.push(share, link)
        continue
      }
      if (share !== Infinity) this.saturatedIn[link] = allocation
      const slots = linkSlots[link]!
      for (let index = 0; index < slots.length; index++) {
        const slot = slots[index]!
        if (fixedIn[slot] === allocation) continue
        fixedIn[slot] = allocation
        if (rate[slot] !== share) {
          rate[slot] = share
          changed[changedCount++] = slot
        }
        const other = up[slot] === link ? down[slot]! : up[slot]!
        // An infinite share comes only from infinite links, which nothing depletes.
        if (share !== Infinity) remaining[other] = Math.max(0, remaining[other]! - share)
        unfixed[other]!--
      }
      unfixed[link] = 0
    }
    this.changedCount = changedCount
  }

  private newSlot(): number {
    const slot = this.slotsUsed++
    if (slot === this.up.length) {
      this.up = grown(this.up)
      this.down = grown(this.down)
      this.upPlace = grown(this.upPlace)
      this.downPlace = grown(this.downPlace)
      this.fixedIn = grown(this.fixedIn)
      this.rate = grown(this.rate)
      this.changed = grown(this.changed)
    }
    return slot
  }

  /** Removes the flow at `place` of a link's list by moving the list's last flow there, and records that flow's new place. */
  private unlist(link: number, place: number): void {
    const slots = this.linkSlots[link]!
    const last = slots.pop()!
    if (place === slots.length) return
    slots[place] = last
    if (this.up[last] === link) this.upPlace[last] = place
    else this.downPlace[last] = place
  }
}

function grown<T extends Float64Array | Int32Array>(array: T): T {
  const larger = new (array.constructor as new (length: number) => T)(array.length * 2)
  larger.set(array)
  return larger
}
