import { createHash } from 'node:crypto'
import type { Logger } from '../common/logger.js'
import { pieceCount, TINY_TASK_MAX_BYTES } from '../protocol/piece.js'
import type { HostId, PeerId, TaskId } from '../protocol/ids.js'
import type { Download } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { PeerGraph } from './peer-graph.js'
import type { Peer, PeerState } from './peer.js'
import type { PeerTraffic } from './peer-traffic.js'
import { sameDownload } from './request-parsing.js'
import { SlotList } from './slot-list.js'

/** One piece as the scheduler records it; `digest` is lowercase hex sha256. */
export interface PieceRecord {
  readonly number: number
  readonly offset: number
  readonly length: number
  readonly digest: string
}

/** A piece's authoritative digest as a child is sent it, once. */
export interface PieceDigest {
  readonly number: number
  readonly digest: string
}

/** The authoritative record of a piece, and the host whose report made it so. */
interface AuthoritativePiece extends PieceRecord {
  readonly vouchedBy: HostId
}

/**
 * What became of a reported piece: `recorded` (the first report by a host that may vouch, now
 * the authority), `matches` (agrees with the authority), `mismatch` (differs: refused),
 * `unverified` (no authority exists and the reporter may not vouch: refused).
 */
export type PieceOutcome = 'recorded' | 'matches' | 'mismatch' | 'unverified'

/** A peer that left its task, as the swarm view still shows it. */
export interface DepartedPeer {
  readonly id: PeerId
  readonly hostId: HostId
  readonly hostname: string
  readonly ip: string
  readonly seed: boolean
  readonly state: PeerState
  readonly finishedPieces: number
  readonly traffic: PeerTraffic
}

/** Peers gone from a task that its swarm view still shows, the most recent kept. */
export const MAX_DEPARTED_PEERS = 500

/** Bytes delivered to a task's peers over its whole life on this scheduler, peers gone included. */
export interface TaskTraffic {
  bytesFromPeers: number
  bytesFromSeedPeers: number
  bytesFromOrigin: number
}

/** One piece of content to distribute, with its peers and their DAG. */
export class Task {
  contentLengthBytes: number | undefined
  pieceLengthBytes: number | undefined
  readonly peers = new Map<PeerId, Peer>()
  /** Its edges count on the parent's host, as the children the scheduler gave it (Host.children). */
  readonly graph = new PeerGraph<PeerId>({
    childrenChanged: (parentId, delta) => {
      const host = this.peers.get(parentId)?.host
      if (host !== undefined) host.children += delta
    },
  })
  /** Set once a seed host has been asked to fetch this task, so it is asked only once. */
  seedRequestedMs: number | undefined
  /** The whole content of a tiny task, checked against its piece's digest; answered inline. */
  tinyContent: Buffer | undefined
  /** When the last peer went away; undefined while the task has peers. */
  peerlessSinceMs: number | undefined
  /** Hosts whose digests for this task failed a whole-content check: never trusted for it again. */
  readonly distrustedHosts = new Set<HostId>()
  /** The URL of its first peer, without the query parameters the task id ignores; for operators. */
  url = ''
  readonly traffic: TaskTraffic = { bytesFromPeers: 0, bytesFromSeedPeers: 0, bytesFromOrigin: 0 }
  /** When a peer first finished it; undefined before. */
  finishedAtMs: number | undefined
  /** Peers that left, oldest first, for the swarm view (at most MAX_DEPARTED_PEERS). */
  readonly departed: DepartedPeer[] = []
  /** The same peers as `peers`, in a list a sample can be drawn from without copying it. */
  readonly peerList = new SlotList<'taskSlot', Peer>('taskSlot')
  /** The peers in state `running`, likewise. */
  readonly runningPeers = new SlotList<'runningSlot', Peer>('runningSlot')
  /** A seed peer left before it finished: failed peers leave, so this is what remembers it. */
  private seedPeerLeftUnfinished = false
  private readonly pieces = new Map<number, AuthoritativePiece>()
  /** Peers in state `back-to-source`, kept as states change (Peer's `state` tells the task). */
  private backToSourceCount = 0
  /** Peers on hosts that announced themselves seeds when the peer joined: the few the seed rules look at. */
  private readonly seedPeers = new Set<Peer>()
  /** The download its peers most likely name: a peer naming exactly the same holds this one instead of its own copy. */
  private sharedDownload: Download | undefined
  /** See fastestChildUploadBytesPerSecond; undefined until asked, and again once it may be stale. */
  private fastestChildUpload: number | undefined

  constructor(
    readonly id: TaskId,
    private readonly components: { logger: Logger },
    nowMs: number,
  ) {
    this.peerlessSinceMs = nowMs
  }

  /**
   * Keeps the bytes of a tiny task (one piece of at most {@link TINY_TASK_MAX_BYTES}) once they
   * match the recorded digest; later peers then get them inline. False when they do not match.
   */
  recordTinyContent(content: Buffer): boolean {
    const piece = this.pieces.get(0)
    if (content.length > TINY_TASK_MAX_BYTES || piece === undefined || piece.length !== content.length) return false
    if (createHash('sha256').update(content).digest('hex') !== piece.digest) return false
    this.tinyContent = content
    return true
  }

  /** Known once both lengths are. */
  get pieceCount(): number | undefined {
    if (this.contentLengthBytes === undefined || this.pieceLengthBytes === undefined || this.pieceLengthBytes <= 0) return undefined
    return pieceCount(this.contentLengthBytes, this.pieceLengthBytes)
  }

  /** The authoritative record of a piece, or undefined when no source report exists yet. */
  piece(number: number): PieceRecord | undefined {
    return this.pieces.get(number)
  }

  /**
   * Checks a reported piece against the authority. With no authority yet, the report becomes it
   * only when `voucher` is set: the host of a peer that fetched the piece from the source and may
   * vouch for it (see Peer.vouches). Any report that differs from the authority is refused and
   * logged. Safe to repeat with the same piece.
   */
  recordPiece(piece: PieceRecord, voucher: HostId | undefined): PieceOutcome {
    const known = this.pieces.get(piece.number)
    if (known === undefined) {
      if (voucher === undefined) {
        this.components.logger.debug({ piece: piece.number }, 'piece reported without an authoritative digest; not vouched for')
        return 'unverified'
      }
      this.pieces.set(piece.number, { number: piece.number, offset: piece.offset, length: piece.length, digest: piece.digest, vouchedBy: voucher })
      return 'recorded'
    }
    if (known.digest === piece.digest) return 'matches'
    this.components.logger.warn(
      { piece: piece.number, recorded: known.digest, reported: piece.digest, vouchedBy: known.vouchedBy },
      'piece digest differs from the authoritative record',
    )
    return 'mismatch'
  }

  /**
   * The whole content failed its digest although every piece matched the authority: the authority
   * is wrong. Forgets every digest, the content length, what each peer was known to hold and was
   * sent, and distrusts the hosts that vouched for the digests, for this task. Returns those hosts.
   */
  dropAuthority(): HostId[] {
    const vouchers = [...new Set([...this.pieces.values()].map((piece) => piece.vouchedBy))]
    for (const host of vouchers) this.distrustedHosts.add(host)
    this.pieces.clear()
    this.tinyContent = undefined
    this.contentLengthBytes = undefined
    this.seedRequestedMs = undefined
    for (const peer of this.peers.values()) {
      peer.finishedPieces.clear()
      peer.forgetSentDigests()
      this.graph.deleteInEdges(peer.id)
    }
    return vouchers
  }

  /**
   * `download` itself, or the equal one another peer of this task already named: a swarm's peers
   * mostly ask for the same thing, and each decoded copy (URL, headers) costs a few hundred bytes.
   */
  shareDownload(download: Download): Download {
    if (this.sharedDownload !== undefined && sameDownload(this.sharedDownload, download)) return this.sharedDownload
    this.sharedDownload ??= download
    return download
  }

  addPeer(peer: Peer): void {
    this.peers.set(peer.id, peer)
    this.graph.addVertex(peer.id)
    this.peerlessSinceMs = undefined
    this.peerList.add(peer)
    if (peer.host.info.seed) this.seedPeers.add(peer)
    else if (this.fastestChildUpload !== undefined) this.fastestChildUpload = Math.max(this.fastestChildUpload, peer.host.load.uploadCapacityBytesPerSecond)
    this.counted(peer, peer.state, 1)
  }

  /**
   * The fastest upload capacity among the hosts of its peers that are not seeds, in bytes per
   * second; 0 when none says. Kept as peers join; counted again only after the fastest may have
   * gone (it left, or a host announced a new capacity: forgetUploadCapacities).
   */
  fastestChildUploadBytesPerSecond(): number {
    if (this.fastestChildUpload === undefined) {
      let fastest = 0
      for (const peer of this.peers.values()) {
        if (!peer.host.info.seed) fastest = Math.max(fastest, peer.host.load.uploadCapacityBytesPerSecond)
      }
      this.fastestChildUpload = fastest
    }
    return this.fastestChildUpload
  }

  /** A host of its peers announced a different upload capacity. */
  forgetUploadCapacities(): void {
    this.fastestChildUpload = undefined
  }

  removePeer(peerId: PeerId, nowMs: number): void {
    const peer = this.peers.get(peerId)
    if (peer?.host.seed === true && peer.state !== 'succeeded') this.seedPeerLeftUnfinished = true
    if (peer !== undefined) {
      if (peer.host.load.uploadCapacityBytesPerSecond >= (this.fastestChildUpload ?? Infinity)) this.fastestChildUpload = undefined
      this.rememberDeparted(peer)
      this.counted(peer, peer.state, -1)
      this.peerList.remove(peer)
      this.seedPeers.delete(peer)
    }
    // Edges go first, while the peer still names the host they count on.
    this.graph.removeVertex(peerId)
    this.peers.delete(peerId)
    if (this.peers.size === 0) this.peerlessSinceMs = nowMs
  }

  /** A peer's state changed from `previous` (Peer's `state` setter calls this); peers not of this task are ignored. */
  peerStateChanged(peer: Peer, previous: PeerState): void {
    if (this.peers.get(peer.id) !== peer) return
    this.counted(peer, previous, -1)
    this.counted(peer, peer.state, 1)
  }

  /** Counts `peer` in (`+1`) or out (`-1`) of what the task keeps by state. */
  private counted(peer: Peer, state: PeerState, change: 1 | -1): void {
    if (state === 'back-to-source') this.backToSourceCount += change
    if (state !== 'running') return
    if (change === 1) this.runningPeers.add(peer)
    else this.runningPeers.remove(peer)
  }

  private rememberDeparted(peer: Peer): void {
    const { info } = peer.host
    this.departed.push({
      id: peer.id, hostId: peer.hostId, hostname: info.hostname, ip: info.ip, seed: peer.host.seed,
      state: peer.state, finishedPieces: peer.finishedPieces.size, traffic: peer.traffic,
    })
    if (this.departed.length > MAX_DEPARTED_PEERS) this.departed.shift()
  }

  /** Peers fetching from the source right now (or told to). */
  get backToSourcePeerCount(): number {
    return this.backToSourceCount
  }

  /** True until a seed peer asked to fetch the task has failed or left (also before it registered). */
  get hasSeedPeerOrPending(): boolean {
    let seen = false
    for (const peer of this.seedPeers) {
      if (!peer.host.seed || this.distrustedHosts.has(peer.hostId)) continue
      seen = true
      if (peer.state !== 'failed' && peer.state !== 'left') return true
    }
    return !seen && !this.seedPeerLeftUnfinished
  }

  /** True when a peer on a trusted seed host other than `except` is fetching this task, from the source or from parents. */
  seedPeerFetching(except: Peer): boolean {
    for (const peer of this.seedPeers) {
      if (peer === except || !peer.host.seed || this.distrustedHosts.has(peer.hostId)) continue
      if (peer.state === 'back-to-source' || peer.state === 'running') return true
    }
    return false
  }

  /** True when a peer on a trusted seed host is downloading or holds this task. */
  get hasSeedPeer(): boolean {
    for (const peer of this.seedPeers) {
      if (peer.host.seed && !this.distrustedHosts.has(peer.hostId) && peer.state !== 'failed' && peer.state !== 'left') return true
    }
    return false
  }
}
