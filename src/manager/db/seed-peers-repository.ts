import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { MembersRepository, toMemberRecord, type MemberRecord, type MemberRegistration } from './members-repository.js'
import type { SeedPeerRow } from './schema.js'

/** Dragonfly's seed peer types. */
export const SEED_PEER_TYPES = ['super', 'strong', 'weak'] as const
export type SeedPeerType = (typeof SEED_PEER_TYPES)[number]

export interface SeedPeerRegistration extends MemberRegistration {
  readonly type: SeedPeerType
}

/** A seed peer as the manager knows it; `port` is its piece upload port. */
export interface SeedPeerRecord extends MemberRecord {
  readonly type: string
}

/** Seed peers in the database: registration, keepalive and who is alive (members-repository.ts). */
export class SeedPeersRepository extends MembersRepository<SeedPeerRegistration, SeedPeerRecord, SeedPeerRow> {
  constructor(components: { database: ManagerDatabase; clock: Clock }) {
    super(components, 'seed_peers')
  }

  protected toRecord(row: SeedPeerRow): SeedPeerRecord {
    return { ...toMemberRecord(row), type: row.type }
  }

  protected ownColumns(input: SeedPeerRegistration): { type: string } {
    return { type: input.type }
  }
}
