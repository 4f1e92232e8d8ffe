import type { ParentPieces } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Peer } from './peer.js'
import type { Task } from './task.js'

/**
 * Tells running children which pieces their parents finished, and every running peer of a task
 * the digests the task learned. What one turn of the event loop brings (a batch of reports,
 * several parents' reports) goes to each child as one `pieces_available`, with the digests of the
 * pieces that child was not sent before: a swarm then costs the scheduler a message per child per
 * turn, not one per piece per child.
 *
 * A digest goes out the turn the task learns it, to children whose parents hold nothing of it
 * yet: parents tell their children of new pieces themselves (the upload server's piece list), one
 * hop ahead of this relay, and a child asks for a piece only once it holds its digest.
 */
export class PieceAnnouncer {
  /** Per child, per parent, the piece numbers to announce, in the order they were finished. */
  private readonly pending = new Map<Peer, Map<Peer, number[]>>()
  /** Per task, the pieces whose authoritative digest it learned this turn. */
  private readonly learnedDigests = new Map<Task, number[]>()
  private flushScheduled = false

  constructor(
    private readonly components: {
      /** Runs `flush` once the current turn's work is done; `setImmediate` outside tests. */
      readonly defer: (flush: () => void) => void
    },
  ) {}

  /** Queues piece `number` of `parent` for each of its running children. */
  announce(parent: Peer, number: number): void {
    const task = parent.task
    for (const childId of task.graph.childrenOf(parent.id)) {
      const child = task.peers.get(childId)
      if (child?.state !== 'running' || !child.connected) continue
      let byParent = this.pending.get(child)
      if (byParent === undefined) {
        byParent = new Map()
        this.pending.set(child, byParent)
      }
      const numbers = byParent.get(parent)
      if (numbers === undefined) byParent.set(parent, [number])
      else numbers.push(number)
    }
    if (this.pending.size > 0) this.scheduleFlush()
  }

  /** Queues the digest `task` just recorded for piece `number` for each of its running peers. */
  learned(task: Task, number: number): void {
    const numbers = this.learnedDigests.get(task)
    if (numbers === undefined) this.learnedDigests.set(task, [number])
    else numbers.push(number)
    this.scheduleFlush()
  }

  /**
   * Sends what is queued, leaving out what no longer stands: a child that stopped running, a
   * parent it no longer has (blocklisted, gone), a piece whose record was dropped. Safe to repeat.
   */
  flush(): void {
    this.flushScheduled = false
    const pending = [...this.pending]
    const learned = new Map(this.learnedDigests)
    this.pending.clear()
    this.learnedDigests.clear()
    const told = new Set<Peer>()
    for (const [child, byParent] of pending) {
      if (child.state !== 'running' || !child.connected) continue
      const task = child.task
      const parents: ParentPieces[] = []
      for (const [parent, numbers] of byParent) {
        if (task.peers.get(parent.id) !== parent || !task.graph.hasEdge(parent.id, child.id)) continue
        const held = numbers.filter((number) => parent.finishedPieces.has(number) && task.piece(number) !== undefined)
        if (held.length > 0) parents.push({ peerId: parent.id, pieceNumbers: held })
      }
      if (parents.length === 0) continue
      const digests = child.unsentDigests([...parents.flatMap((parent) => parent.pieceNumbers), ...(learned.get(task) ?? [])])
      child.stream?.write({ response: { $case: 'piecesAvailable', value: { parents, digests } } })
      told.add(child)
    }
    for (const [task, numbers] of learned) {
      for (const peer of task.runningPeers.all) {
        if (told.has(peer) || !peer.connected) continue
        const digests = peer.unsentDigests(numbers)
        if (digests.length > 0) peer.stream?.write({ response: { $case: 'piecesAvailable', value: { parents: [], digests } } })
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    this.components.defer(() => {
      this.flush()
    })
  }
}

