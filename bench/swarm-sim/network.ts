/**
 * Flow-level network: every transfer is a flow whose rate the links decide, as TCP flows share a
 * bottleneck; no packets are simulated.
 *
 * Model. Each host has an uplink (the sum of its outgoing flows) and a downlink (the sum of its
 * incoming flows); the core between them never limits. Rates are max-min fair over those
 * constraints (fair-share.ts). Hosts added "beside" another (a seed peer in the origin's network
 * namespace) share its links, and a transfer between two such hosts takes no link capacity and
 * no latency, as on a loopback.
 *
 * Cost and error. One allocation costs about O(F + L log L) for F flows over L links, and a swarm
 * starts or ends a flow millions of times, so allocations are batched: a change (a flow starts,
 * ends, is cancelled, a host leaves) asks for one, which runs at once unless one ran less than
 * `recomputeQuantumMs` ago, in which case it runs when that quantum is over and takes in every
 * change since. So a flow starts moving at most one quantum late, and capacity a finished flow
 * frees stays idle at most one quantum; a link whose flows each last T loses at most about
 * quantum / T of its throughput. In a quiet network (the unit tests) every allocation is exact
 * and immediate. Between allocations rates are constant and completion times exact: the network
 * keeps its flows in a queue by completion time and holds one event-loop timer, for the earliest;
 * after an allocation only the flows whose rate changed (about one in ten), which the allocation
 * lists, are visited and re-keyed.
 *
 * Bytes. Links carry `overhead` wire bytes per payload byte (TCP/IP and Ethernet headers, which
 * tc counts), so payload moves at capacity / overhead; every byte count here is payload.
 *
 * Queues. A FIFO queue in front of a link (tc's tbf, as in bench/testbed) fills while the link is
 * saturated: loss-based TCP keeps sending until it drops, so a packet arriving behind the bulk
 * flows waits about the queue's length. With `standingQueueMs`, a link counts as saturated while
 * the last allocation used up its capacity, and a message or a transfer's first byte waits that
 * long in a saturated uplink it leaves by and again in a saturated downlink it arrives by (not
 * between two hosts on one site); messages from one host to another keep their order. The default,
 * 0, is a host whose qdisc serves thin flows first (Linux's fq_codel): control messages then pass
 * the bulk data.
 */
import type { EventLoop, Timer } from './engine.js'
import { FairShare } from './fair-share.js'
import { MinQueue } from './min-queue.js'

/** A host's links, in payload-free wire capacity; the network applies its `overhead`. */
export interface Links {
  readonly upBytesPerMs: number
  readonly downBytesPerMs: number
  /** One-way latency between this host and the core; a path's latency is the sum of its two ends'. */
  readonly latencyMs: number
}

/** A transfer as `Network.transfer` returns it; pass it to `cancel` or `receivedBytes`. */
export interface Transfer {
  readonly from: number
  readonly to: number
  readonly bytes: number
}

export interface NetworkOptions {
  /** Shortest simulated time between two allocations of the links' capacity (see above). Default 1 ms. */
  readonly recomputeQuantumMs?: number
  /** Wire bytes per payload byte. Default 1. */
  readonly overhead?: number
  /** What a packet waits in the queue of a saturated link (see above). Default 0: no queue. */
  readonly standingQueueMs?: number
}

const DEFAULT_RECOMPUTE_QUANTUM_MS = 1

/** The links one or more hosts sit behind, by their ids in the fair-share table. */
interface Site {
  readonly up: number
  readonly down: number
  readonly latencyMs: number
}

interface HostEntry {
  readonly site: Site
  present: boolean
  /** Payload bytes of transfers that ended; those still open are added when asked. */
  closedUploadedBytes: number
  closedDownloadedBytes: number
  /** Transfers from or to this host that have not ended, pending or moving, in the order they were made. */
  readonly open: Set<Flow>
}

type FlowState = 'pending' | 'moving' | 'ended'

class Flow implements Transfer {
  state: FlowState = 'pending'
  /** The latency timer while pending. */
  startTimer: Timer | undefined
  rateBytesPerMs = 0
  /** Bytes arrived by `progressAtMs`; between allocations they grow at `rateBytesPerMs`. */
  arrivedBytes = 0
  progressAtMs = 0
  endAtMs = Infinity
  /** Slot in the fair-share table while moving over links, and place in the network's list of moving flows. */
  slot = -1
  movingIndex = -1

  constructor(
    readonly from: number,
    readonly to: number,
    readonly bytes: number,
    readonly onEnd: (delivered: boolean) => void,
    /** False between hosts beside each other: no link carries it. */
    readonly crossesLinks: boolean,
  ) {}
}

export class Network {
  private readonly recomputeQuantumMs: number
  private readonly overhead: number
  private readonly standingQueueMs: number
  /** When the last message from one host to another arrives (key: from and to), so a later one never overtakes it behind a queue. */
  private readonly lastMessageAtMs = new Map<number, number>()
  private readonly hosts = new Map<number, HostEntry>()
  private readonly fairShare = new FairShare()
  private readonly moving: Flow[] = []
  /** Moving flows by fair-share slot. */
  private readonly bySlot: (Flow | undefined)[] = []
  /**
   * (end time, slot) of moving flows. Lazy: a re-keyed flow's old entry stays until it reaches
   * the top, where it is told apart by its key no longer being the flow's end time.
   */
  private readonly completions = new MinQueue()
  private allocations = 0
  private lastAllocationMs = -Infinity
  private allocationTimer: Timer | undefined
  private completionTimer: Timer | undefined

  constructor(
    private readonly loop: EventLoop,
    options: NetworkOptions = {},
  ) {
    this.recomputeQuantumMs = options.recomputeQuantumMs ?? DEFAULT_RECOMPUTE_QUANTUM_MS
    this.overhead = options.overhead ?? 1
    this.standingQueueMs = options.standingQueueMs ?? 0
    if (!(this.standingQueueMs >= 0)) throw new RangeError(`standingQueueMs must be 0 or more, got ${this.standingQueueMs}`)
    if (!(this.recomputeQuantumMs >= 0)) throw new RangeError(`recomputeQuantumMs must be 0 or more, got ${this.recomputeQuantumMs}`)
    if (!(this.overhead >= 1)) throw new RangeError(`overhead must be 1 or more wire bytes per payload byte, got ${this.overhead}`)
  }

  /** Allocations of link capacity so far (for the run's statistics). */
  get allocationCount(): number {
    return this.allocations
  }

  /** Adds a host behind links of its own. Host numbers are small non-negative integers, each added once. */
  addHost(host: number, links: Links): void {
    const site: Site = {
      up: this.newLink(links.upBytesPerMs),
      down: this.newLink(links.downBytesPerMs),
      latencyMs: links.latencyMs,
    }
    this.addEntry(host, site)
  }

  /** Adds a host that shares the links of `besideHost`, as a seed peer in the origin's network namespace does. */
  addHostBeside(host: number, besideHost: number): void {
    this.addEntry(host, this.entry(besideHost).site)
  }

  /** Takes a host off the network: each of its transfers ends with `onEnd(false)`, and messages to it are dropped. Its byte counts stay readable. */
  removeHost(host: number): void {
    const entry = this.entry(host)
    if (!entry.present) return
    entry.present = false
    for (const flow of [...entry.open]) this.cancel(flow)
  }

  /** True while `host` is on the network: added and not removed. */
  hasHost(host: number): boolean {
    return this.hosts.get(host)?.present ?? false
  }

  /** True once `host` was added, removed since or not: its byte counts can be read. */
  wasAdded(host: number): boolean {
    return this.hosts.has(host)
  }

  /**
   * Sends `bytes` from one host to another. The flow starts after the path's one-way latency and
   * `onEnd(true)` is called once every byte arrived. A transfer from or to a host no longer on the
   * network ends with `onEnd(false)` right after the current event, as a refused connection would.
   */
  transfer(from: number, to: number, bytes: number, onEnd: (delivered: boolean) => void): Transfer {
    if (from === to) throw new RangeError(`host ${from} cannot send to itself`)
    if (!(bytes >= 0)) throw new RangeError(`a transfer takes 0 bytes or more, got ${bytes}`)
    const sender = this.entry(from)
    const receiver = this.entry(to)
    const flow = new Flow(from, to, bytes, onEnd, sender.site !== receiver.site)
    if (!sender.present || !receiver.present) {
      flow.startTimer = this.loop.after(0, () => this.end(flow, false))
      return flow
    }
    sender.open.add(flow)
    receiver.open.add(flow)
    flow.startTimer = this.loop.after(this.latencyMs(sender, receiver) + this.queueMs(sender, receiver), () => this.start(flow))
    return flow
  }

  /** Ends a transfer early with `onEnd(false)`; does nothing for one that has ended. */
  cancel(transfer: Transfer): void {
    if (!(transfer instanceof Flow) || transfer.state === 'ended') return
    if (transfer.startTimer !== undefined) this.loop.cancel(transfer.startTimer)
    this.end(transfer, false)
  }

  /** Payload bytes of `transfer` that have arrived so far. */
  receivedBytes(transfer: Transfer): number {
    if (!(transfer instanceof Flow)) throw new TypeError('not a transfer of this network')
    return this.arrivedByNow(transfer)
  }

  /** A control message (an RPC): `deliver` runs after the path's one-way latency, unless the receiver has left by then. Takes no bandwidth. */
  message(from: number, to: number, deliver: () => void): void {
    const sender = this.entry(from)
    const receiver = this.entry(to)
    let atMs = this.loop.nowMs + this.latencyMs(sender, receiver)
    if (this.standingQueueMs > 0) {
      const key = from * 0x100000 + to
      atMs = Math.max(atMs + this.queueMs(sender, receiver), this.lastMessageAtMs.get(key) ?? 0)
      this.lastMessageAtMs.set(key, atMs)
    }
    this.loop.at(atMs, () => {
      if (receiver.present) deliver()
    })
  }

  /** Payload bytes `host` has sent, including what its open transfers have moved so far. */
  uploadedBytes(host: number): number {
    const entry = this.entry(host)
    let bytes = entry.closedUploadedBytes
    for (const flow of entry.open) if (flow.from === host) bytes += this.arrivedByNow(flow)
    return bytes
  }

  /** Payload bytes `host` has received, including what its open transfers have moved so far. */
  downloadedBytes(host: number): number {
    const entry = this.entry(host)
    let bytes = entry.closedDownloadedBytes
    for (const flow of entry.open) if (flow.to === host) bytes += this.arrivedByNow(flow)
    return bytes
  }

  /** The current rate of a moving transfer in payload bytes per ms (0 while pending, ended, or not yet allocated). */
  rateBytesPerMs(transfer: Transfer): number {
    return transfer instanceof Flow && transfer.state === 'moving' ? transfer.rateBytesPerMs : 0
  }

  private newLink(wireBytesPerMs: number): number {
    if (!(wireBytesPerMs >= 0)) throw new RangeError(`a link's capacity must be 0 or more bytes per ms, got ${wireBytesPerMs}`)
    return this.fairShare.addLink(wireBytesPerMs / this.overhead)
  }

  private addEntry(host: number, site: Site): void {
    if (!Number.isSafeInteger(host) || host < 0) throw new RangeError(`a host is a non-negative integer, got ${host}`)
    if (this.hosts.has(host)) throw new RangeError(`host ${host} was already added`)
    this.hosts.set(host, { site, present: true, closedUploadedBytes: 0, closedDownloadedBytes: 0, open: new Set() })
  }

  private entry(host: number): HostEntry {
    const entry = this.hosts.get(host)
    if (entry === undefined) throw new RangeError(`host ${host} was never added to the network`)
    return entry
  }

  /** What a packet from `sender` to `receiver` waits in the queues of saturated links on its way. */
  private queueMs(sender: HostEntry, receiver: HostEntry): number {
    if (this.standingQueueMs === 0 || sender.site === receiver.site) return 0
    return (this.fairShare.saturated(sender.site.up) ? this.standingQueueMs : 0) + (this.fairShare.saturated(receiver.site.down) ? this.standingQueueMs : 0)
  }

  private latencyMs(sender: HostEntry, receiver: HostEntry): number {
    return sender.site === receiver.site ? 0 : sender.site.latencyMs + receiver.site.latencyMs
  }

  private arrivedByNow(flow: Flow): number {
    const elapsedMs = this.loop.nowMs - flow.progressAtMs
    // An infinite rate times no elapsed time would be NaN.
    if (flow.state !== 'moving' || elapsedMs <= 0) return flow.arrivedBytes
    return Math.min(flow.bytes, flow.arrivedBytes + flow.rateBytesPerMs * elapsedMs)
  }

  private start(flow: Flow): void {
    flow.startTimer = undefined
    flow.state = 'moving'
    flow.progressAtMs = this.loop.nowMs
    if (flow.bytes === 0 || !flow.crossesLinks) {
      flow.arrivedBytes = flow.bytes
      this.end(flow, true)
      return
    }
    flow.slot = this.fairShare.addFlow(this.entry(flow.from).site.up, this.entry(flow.to).site.down)
    this.bySlot[flow.slot] = flow
    flow.movingIndex = this.moving.push(flow) - 1
    this.requestAllocation()
  }

  private end(flow: Flow, delivered: boolean): void {
    if (flow.state === 'moving') {
      flow.arrivedBytes = delivered ? flow.bytes : this.arrivedByNow(flow)
      if (flow.movingIndex >= 0) this.unlink(flow)
    }
    flow.state = 'ended'
    flow.startTimer = undefined
    const sender = this.entry(flow.from)
    const receiver = this.entry(flow.to)
    if (sender.open.delete(flow)) sender.closedUploadedBytes += flow.arrivedBytes
    if (receiver.open.delete(flow)) receiver.closedDownloadedBytes += flow.arrivedBytes
    flow.onEnd(delivered)
  }

  /** Takes a moving flow out of its links; the capacity it held waits for the next allocation. */
  private unlink(flow: Flow): void {
    const last = this.moving.pop()!
    if (last !== flow) {
      this.moving[flow.movingIndex] = last
      last.movingIndex = flow.movingIndex
    }
    flow.movingIndex = -1
    this.fairShare.removeFlow(flow.slot)
    this.bySlot[flow.slot] = undefined
    flow.slot = -1
    this.requestAllocation()
  }

  private requestAllocation(): void {
    if (this.allocationTimer !== undefined) return
    const atMs = Math.max(this.loop.nowMs, this.lastAllocationMs + this.recomputeQuantumMs)
    this.allocationTimer = this.loop.at(atMs, () => {
      this.allocationTimer = undefined
      this.allocate()
    })
  }

  /** Fixes every moving flow's rate anew; the flows whose rate changed are brought up to date and re-keyed. */
  private allocate(): void {
    const nowMs = this.loop.nowMs
    this.lastAllocationMs = nowMs
    this.allocations++
    this.fairShare.allocate()
    const { bySlot } = this
    for (const slot of this.fairShare.changedSlots()) {
      const flow = bySlot[slot]!
      const rateBytesPerMs = this.fairShare.rateOf(slot)
      flow.arrivedBytes = this.arrivedByNow(flow)
      flow.progressAtMs = nowMs
      flow.rateBytesPerMs = rateBytesPerMs
      flow.endAtMs = rateBytesPerMs > 0 ? nowMs + (flow.bytes - flow.arrivedBytes) / rateBytesPerMs : Infinity
      if (flow.endAtMs !== Infinity) this.completions.push(flow.endAtMs, flow.slot)
    }
    if (this.completions.size > 2 * this.moving.length + 1024) this.rebuildCompletions()
    this.armCompletionTimer()
  }

  /** Drops the stale entries of the completion queue, which re-keyed flows leave behind. */
  private rebuildCompletions(): void {
    this.completions.clear()
    for (const flow of this.moving) if (flow.endAtMs !== Infinity) this.completions.push(flow.endAtMs, flow.slot)
  }

  /** The moving flow an entry of the completion queue stands for, or undefined for a stale entry. */
  private flowDue(endAtMs: number, slot: number): Flow | undefined {
    const flow = this.bySlot[slot]
    return flow !== undefined && flow.endAtMs === endAtMs ? flow : undefined
  }

  private armCompletionTimer(): void {
    const completions = this.completions
    while (completions.size > 0 && this.flowDue(completions.topKey, completions.peekId()!) === undefined) completions.pop()
    const atMs = completions.topKey
    if (this.completionTimer?.atMs === atMs) return
    if (this.completionTimer !== undefined) this.loop.cancel(this.completionTimer)
    this.completionTimer = atMs === Infinity ? undefined : this.loop.at(Math.max(atMs, this.loop.nowMs), () => this.completeDue())
  }

  /** Ends every flow whose last byte is due now, earliest first. */
  private completeDue(): void {
    this.completionTimer = undefined
    const completions = this.completions
    while (completions.size > 0 && completions.topKey <= this.loop.nowMs) {
      const endAtMs = completions.topKey
      const flow = this.flowDue(endAtMs, completions.pop()!)
      if (flow !== undefined) this.end(flow, true)
    }
    this.armCompletionTimer()
  }
}
