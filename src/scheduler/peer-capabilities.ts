import type { CapabilityIssuer } from '../security/capability.js'
import type { Clock } from '../common/clock.js'
import type { Peer } from './peer.js'

/**
 * The capability each peer shows its parents, issued with its parents and reused until half its
 * life is gone, so a busy swarm signs one per peer per half-life, not one per message.
 */
export class PeerCapabilities {
  private readonly issued = new WeakMap<Peer, { token: string; renewAtMs: number }>()

  constructor(private readonly components: { issuer: CapabilityIssuer | undefined; clock: Clock }) {}

  /** The peer's capability; empty when this scheduler runs without identities, or the peer's host has none. */
  for(peer: Peer): string {
    const { issuer, clock } = this.components
    const key = peer.host.identity?.publicKeySpki
    if (issuer === undefined || key === undefined) return ''
    const known = this.issued.get(peer)
    if (known !== undefined && known.renewAtMs > clock.nowMs()) return known.token
    const { token } = issuer.issue({ taskId: peer.task.id, peerId: peer.id, hostId: peer.hostId, publicKeySpki: key })
    this.issued.set(peer, { token, renewAtMs: clock.nowMs() + issuer.ttlMs / 2 })
    return token
  }
}
