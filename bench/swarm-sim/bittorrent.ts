/**
 * The BitTorrent-like baseline: a decentralized swarm on the same simulated links as Damselfly's,
 * following the mainline client's rules.
 *
 * - Tracker: an arriving host announces and gets up to 50 random hosts in the swarm, and connects
 *   to them while both ends have fewer than 55 connections (aria2's default). It announces again
 *   every 30 s, and at once when it is left with fewer than 10 neighbours (at most every 5 s).
 * - Seeders: the scenario's seed hosts hold every task from the start (no web seed); a seed
 *   beside the origin sends over the origin's link, as the testbed's aria2 seeder does.
 * - Pieces: rarest first among a host's neighbours, after 4 random first pieces; endgame once
 *   every missing piece is under way, each fetched from at most 2 neighbours, the first to
 *   deliver cancelling the other; at most 2 outstanding requests per connection.
 * - Choking: every 10 s a leecher unchokes the 4 interested neighbours it received most from over
 *   the last 20 s, a finished host the 4 it sent most to; plus one optimistic unchoke, rotated
 *   every 30 s. Between those rounds a free slot goes at once to a neighbour that becomes interested.
 * - Finished hosts keep seeding until every host is done (aria2 in the testbed does); two
 *   finished hosts drop their connection. Hosts that leave mid-download disappear at once.
 *
 * Simplifications: a piece moves as one transfer, not 16 KiB blocks, so a piece is never partial
 * and strict priority for partial pieces holds by construction; a choke drops the requests not
 * yet served but lets pieces already moving finish. HAVE announcements take no time (neighbours
 * read each other's bitfields), and interest, choke and unchoke take effect at once; requests
 * and pieces pay the links' latency. Several tasks (an image's layers) are one multi-file
 * torrent: their pieces in a row. No DHT, peer exchange or local discovery (as in the testbed).
 */
import type { EventLoop } from './engine.js'
import { PieceBook } from './bittorrent-pieces.js'
import { Tracker } from './bittorrent-tracker.js'
import { scheduleMembership } from './membership.js'
import type { Network, Transfer } from './network.js'
import { createRandom, deriveSeed, pick, shuffle, type Random } from './random.js'
import { RunProgress } from './run-progress.js'
import type { Scenario, SimHost, Swarm, SwarmResult } from './scenario.js'
import { lowerBoundMs } from './lower-bound.js'

const TRACKER_PEERS = 50
const MAX_CONNECTIONS = 55
const ANNOUNCE_INTERVAL_MS = 30_000
const LOW_NEIGHBOURS = 10
const MIN_ANNOUNCE_GAP_MS = 5_000
const UNCHOKE_SLOTS = 4
const RECHOKE_INTERVAL_MS = 10_000
/** Rechoke rounds between two optimistic unchokes (30 s). */
const OPTIMISTIC_EVERY_ROUNDS = 3
const REQUESTS_PER_CONNECTION = 2
/** A run that has not finished after this many times its lower bound (plus a minute) is cut off; its unfinished hosts say so. */
const GIVE_UP_AFTER_BOUNDS = 50
/** Stream of randomness of this swarm (see random.ts's deriveSeed). */
const RANDOM_STREAM = 101

export const bittorrent: Swarm = {
  name: 'bittorrent',
  async run(scenario: Scenario, loop: EventLoop, network: Network): Promise<SwarmResult> {
    const swarm = new BitTorrentSwarm({ scenario, loop, network })
    scheduleMembership(scenario, loop, network, { arrive: (host) => swarm.arrive(host), leave: (host) => swarm.leave(host) })
    await loop.run({ untilMs: GIVE_UP_AFTER_BOUNDS * lowerBoundMs(scenario) + 60_000 })
    return swarm.progress.result({ schedulerDecisions: 0 })
  },
}

/** A piece asked of a neighbour: pending until the neighbour starts sending it, then moving. */
class Request {
  transfer: Transfer | undefined
  live = true
  constructor(readonly piece: number) {}
}

/** One end of a connection, as its owner sees it. */
class Connection {
  mirror!: Connection
  /** Place in the owner's connection list. */
  listIndex = -1
  amChoking = true
  amInterested = false
  /** Pieces the remote holds that the owner lacks. */
  wanted = 0
  readonly requests: Request[] = []
  /** Bytes received from and sent to the remote in this rechoke round and the one before. */
  receivedThisRound = 0
  receivedLastRound = 0
  sentThisRound = 0
  sentLastRound = 0

  constructor(
    readonly owner: Peer,
    readonly remote: Peer,
  ) {}

  asked(piece: number): boolean {
    return this.requests.some((request) => request.piece === piece)
  }
}

class Peer {
  /** Connections by remote host, and the same in a list, which the hot loops walk. */
  readonly connections = new Map<number, Connection>()
  readonly connectionList: Connection[] = []
  /** Regular unchokes (at most UNCHOKE_SLOTS), and the optimistic one. */
  readonly unchoked = new Set<Connection>()
  optimistic: Connection | undefined
  rechokeRounds = 0
  lastAnnounceMs = -Infinity
  present = true
  readonly timers: (() => void)[] = []

  constructor(
    readonly id: number,
    readonly pieces: PieceBook,
  ) {}

  add(connection: Connection): void {
    this.connections.set(connection.remote.id, connection)
    connection.listIndex = this.connectionList.push(connection) - 1
  }

  remove(connection: Connection): void {
    this.connections.delete(connection.remote.id)
    const last = this.connectionList.pop()!
    if (last !== connection) {
      this.connectionList[connection.listIndex] = last
      last.listIndex = connection.listIndex
    }
  }
}

class BitTorrentSwarm {
  readonly progress: RunProgress
  private readonly peers = new Map<number, Peer>()
  private readonly pieceBytes: number[]
  private readonly random: Random
  private readonly tracker: Tracker

  constructor(private readonly components: { scenario: Scenario; loop: EventLoop; network: Network }) {
    const { scenario } = components
    this.progress = new RunProgress(components)
    this.random = createRandom(deriveSeed(scenario.seed, RANDOM_STREAM))
    this.tracker = new Tracker(this.random)
    this.pieceBytes = scenario.tasks.flatMap((task) =>
      Array.from({ length: Math.ceil(task.sizeBytes / task.pieceLengthBytes) }, (_, index) => Math.min(task.pieceLengthBytes, task.sizeBytes - index * task.pieceLengthBytes)),
    )
  }

  arrive(host: SimHost): void {
    const peer = new Peer(host.id, new PieceBook(this.pieceBytes.length, host.seed))
    this.peers.set(host.id, peer)
    if (peer.pieces.complete) this.progress.finished(host.id)
    this.tracker.add(host.id)
    this.announce(peer)
    peer.timers.push(
      this.every(ANNOUNCE_INTERVAL_MS, () => this.announce(peer)),
      this.every(RECHOKE_INTERVAL_MS, () => this.rechoke(peer)),
    )
  }

  leave(host: SimHost): void {
    const peer = this.peers.get(host.id)
    this.progress.left(host.id)
    if (peer === undefined) return
    peer.present = false
    this.tracker.remove(peer.id)
    for (const stop of peer.timers) stop()
    for (const connection of [...peer.connectionList]) this.disconnect(connection)
  }

  /** Runs `action` every `periodMs` from now on; returns what stops it. */
  private every(periodMs: number, action: () => void): () => void {
    const { loop } = this.components
    let timer = loop.after(periodMs, function tick() {
      action()
      timer = loop.after(periodMs, tick)
    })
    return () => loop.cancel(timer)
  }

  private announce(peer: Peer): void {
    peer.lastAnnounceMs = this.components.loop.nowMs
    // A finished host is listed for others to find; it seeks no one itself.
    if (peer.pieces.complete) return
    for (const id of this.tracker.announce(peer.id, TRACKER_PEERS)) {
      if (peer.connections.size >= MAX_CONNECTIONS) break
      const other = this.peers.get(id)
      if (other !== undefined) this.connect(peer, other)
    }
  }

  private connect(a: Peer, b: Peer): void {
    if (a === b || !a.present || !b.present || a.connections.has(b.id)) return
    if (a.connections.size >= MAX_CONNECTIONS || b.connections.size >= MAX_CONNECTIONS) return
    if (a.pieces.complete && b.pieces.complete) return
    const ab = new Connection(a, b)
    const ba = new Connection(b, a)
    ab.mirror = ba
    ba.mirror = ab
    a.add(ab)
    b.add(ba)
    const aHave = a.pieces.have
    const bHave = b.pieces.have
    for (let piece = 0; piece < aHave.length; piece++) {
      if (bHave[piece] === 1) {
        a.pieces.availability[piece]!++
        if (aHave[piece] === 0) ab.wanted++
      }
      if (aHave[piece] === 1) {
        b.pieces.availability[piece]!++
        if (bHave[piece] === 0) ba.wanted++
      }
    }
    if (ab.wanted > 0) this.setInterested(ab, true)
    if (ba.wanted > 0) this.setInterested(ba, true)
  }

  private disconnect(connection: Connection): void {
    const { owner: a, remote: b, mirror } = connection
    if (a.connections.get(b.id) !== connection) return
    for (const request of [...connection.requests]) this.dropRequest(connection, request)
    for (const request of [...mirror.requests]) this.dropRequest(mirror, request)
    a.remove(connection)
    b.remove(mirror)
    const aHave = a.pieces.have
    const bHave = b.pieces.have
    for (let piece = 0; piece < aHave.length; piece++) {
      if (bHave[piece] === 1) a.pieces.availability[piece]!--
      if (aHave[piece] === 1) b.pieces.availability[piece]!--
    }
    for (const [peer, own] of [[a, connection], [b, mirror]] as const) {
      const hadSlot = peer.unchoked.delete(own)
      if (peer.optimistic === own) peer.optimistic = undefined
      if (!peer.present) continue
      if (hadSlot) this.fillFreeSlot(peer)
      if (!peer.pieces.complete && peer.connections.size < LOW_NEIGHBOURS && this.components.loop.nowMs - peer.lastAnnounceMs >= MIN_ANNOUNCE_GAP_MS) this.announce(peer)
    }
  }

  /** The owner of `connection` tells its remote whether it wants anything the remote holds. */
  private setInterested(connection: Connection, interested: boolean): void {
    connection.amInterested = interested
    const theirs = connection.mirror
    const holder = connection.remote
    if (interested) {
      if (theirs.amChoking && holder.unchoked.size < UNCHOKE_SLOTS) this.unchoke(theirs, false)
      else if (!theirs.amChoking) this.fillRequests(connection)
    } else if (!theirs.amChoking) {
      this.choke(theirs)
      this.fillFreeSlot(holder)
    }
  }

  private unchoke(connection: Connection, optimistic: boolean): void {
    if (optimistic) connection.owner.optimistic = connection
    else connection.owner.unchoked.add(connection)
    if (!connection.amChoking) return
    connection.amChoking = false
    this.fillRequests(connection.mirror)
  }

  /** Chokes the remote; its requests not yet served are dropped, pieces already moving finish. */
  private choke(connection: Connection): void {
    connection.owner.unchoked.delete(connection)
    if (connection.owner.optimistic === connection) connection.owner.optimistic = undefined
    if (connection.amChoking) return
    connection.amChoking = true
    const asking = connection.mirror
    for (const request of [...asking.requests]) if (request.transfer === undefined) this.dropRequest(asking, request)
  }

  /** Gives a free regular slot to the best-ranked interested neighbour still choked. */
  private fillFreeSlot(peer: Peer): void {
    if (peer.unchoked.size >= UNCHOKE_SLOTS) return
    const score = this.score(peer)
    let best: Connection | undefined
    let bestScore = -1
    let ties = 0
    for (const connection of peer.connectionList) {
      if (!connection.amChoking || !connection.mirror.amInterested) continue
      const each = score(connection)
      // Equal scores: each of the tied gets the slot with the same chance (reservoir sampling).
      if (each > bestScore) {
        best = connection
        bestScore = each
        ties = 1
      } else if (each === bestScore && this.random() * ++ties < 1) {
        best = connection
      }
    }
    if (best !== undefined) this.unchoke(best, false)
  }

  /** Neighbours best first by `score`. */
  private ranked(peer: Peer, connections: Connection[]): Connection[] {
    const score = this.score(peer)
    // Shuffled first, so equal scores are broken at random by the stable sort.
    return shuffle(this.random, connections).sort((x, y) => score(y) - score(x))
  }

  /** What a neighbour is ranked by: bytes received from it (a leecher) or sent to it (a finished host) over the last two rounds. */
  private score(peer: Peer): (connection: Connection) => number {
    return peer.pieces.complete
      ? (connection) => connection.sentThisRound + connection.sentLastRound
      : (connection) => connection.receivedThisRound + connection.receivedLastRound
  }

  private rechoke(peer: Peer): void {
    const interested = peer.connectionList.filter((connection) => connection.mirror.amInterested)
    const regular = new Set(this.ranked(peer, interested).slice(0, UNCHOKE_SLOTS))
    let optimistic = peer.optimistic
    if (peer.rechokeRounds % OPTIMISTIC_EVERY_ROUNDS === 0 || optimistic === undefined || regular.has(optimistic) || !optimistic.mirror.amInterested) {
      optimistic = pick(
        this.random,
        interested.filter((connection) => !regular.has(connection)),
      )
    }
    peer.rechokeRounds++
    peer.unchoked.clear()
    peer.optimistic = undefined
    for (const connection of peer.connectionList) {
      if (connection !== optimistic && !regular.has(connection)) this.choke(connection)
      connection.receivedLastRound = connection.receivedThisRound
      connection.sentLastRound = connection.sentThisRound
      connection.receivedThisRound = 0
      connection.sentThisRound = 0
    }
    for (const connection of regular) this.unchoke(connection, false)
    if (optimistic !== undefined) this.unchoke(optimistic, true)
  }

  /** Asks the remote of `connection` for pieces while it unchokes the owner and a request slot is free. */
  private fillRequests(connection: Connection): void {
    const { owner, remote } = connection
    while (connection.amInterested && !connection.mirror.amChoking && connection.requests.length < REQUESTS_PER_CONNECTION) {
      const piece = owner.pieces.pick(remote.pieces.have, (each) => connection.asked(each), this.random)
      if (piece < 0) return
      const request = new Request(piece)
      connection.requests.push(request)
      owner.pieces.addSource(piece)
      this.components.network.message(owner.id, remote.id, () => this.serve(connection, request))
    }
  }

  private serve(connection: Connection, request: Request): void {
    if (!request.live) return
    request.transfer = this.components.network.transfer(connection.remote.id, connection.owner.id, this.pieceBytes[request.piece]!, (delivered) =>
      this.transferEnded(connection, request, delivered),
    )
  }

  private transferEnded(connection: Connection, request: Request, delivered: boolean): void {
    if (!request.live) return
    this.forget(connection, request)
    const { owner } = connection
    if (delivered) {
      const bytes = this.pieceBytes[request.piece]!
      connection.receivedThisRound += bytes
      connection.mirror.sentThisRound += bytes
      if (owner.pieces.have[request.piece] === 0) this.received(owner, request.piece)
    }
    if (owner.connections.get(connection.remote.id) === connection) this.fillRequests(connection)
  }

  /** Cancels a request, and its transfer if one is moving. */
  private dropRequest(connection: Connection, request: Request): void {
    this.forget(connection, request)
    if (request.transfer !== undefined) this.components.network.cancel(request.transfer)
  }

  private forget(connection: Connection, request: Request): void {
    request.live = false
    connection.requests.splice(connection.requests.indexOf(request), 1)
    connection.owner.pieces.removeSource(request.piece)
  }

  /** `peer` holds `piece` now: endgame duplicates are cancelled, neighbours learn of it (HAVE), interest changes both ways. */
  private received(peer: Peer, piece: number): void {
    peer.pieces.add(piece)
    if (peer.pieces.sources[piece] !== 0) {
      for (const connection of peer.connectionList) {
        for (const request of [...connection.requests]) if (request.piece === piece) this.dropRequest(connection, request)
      }
    }
    const connections = peer.connectionList
    for (let index = 0; index < connections.length; index++) {
      const connection = connections[index]!
      const theirs = connection.mirror
      const neighbourPieces = connection.remote.pieces
      neighbourPieces.availability[piece]!++
      if (neighbourPieces.have[piece] === 0) {
        if (++theirs.wanted === 1) this.setInterested(theirs, true)
        else if (!connection.amChoking && theirs.requests.length < REQUESTS_PER_CONNECTION) this.fillRequests(theirs)
      } else if (--connection.wanted === 0) {
        this.setInterested(connection, false)
      }
    }
    if (!peer.pieces.complete) return
    this.progress.finished(peer.id)
    for (const connection of [...peer.connectionList]) if (connection.remote.pieces.complete) this.disconnect(connection)
  }
}
