import { LRUCache } from 'lru-cache'
import type { CapabilityIssuer } from '../security/capability.js'
import type { Clock } from '../common/clock.js'
import type { Peer } from './peer.js'

/**
 * Peers whose capability is remembered: the most recently issued. A capability is about 1.3 KiB
 * (it carries the scheduler's certificate), and a finished peer, which stays a parent, never
 * needs its own again; a peer past these gets a fresh one at its next offer.
 */
export const REMEMBERED_CAPABILITIES = 8_192

/**
 * The capability each peer shows its parents, issued with its parents and reused until half its
 * life is gone, so a busy swarm signs one per peer per half-life, not one per message.
 */
export class PeerCapabilities {
  private readonly issued = new LRUCache<Peer, { token: string; renewAtMs: number }>({ max: REMEMBERED_CAPABILITIES })

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
