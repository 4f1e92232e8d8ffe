import { z } from 'zod'
import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { MembersRepository, toMemberRecord, type MemberRecord, type MemberRegistration } from './members-repository.js'
import type { SchedulerRow } from './schema.js'

export interface SchedulerRegistration extends MemberRegistration {
  readonly features: readonly string[]
}

/** A scheduler as the manager knows it. */
export interface SchedulerRecord extends MemberRecord {
  readonly features: readonly string[]
}

const features = z.array(z.string()).catch([])

/** Schedulers in the database: registration, keepalive and who is alive (members-repository.ts). */
export class SchedulersRepository extends MembersRepository<SchedulerRegistration, SchedulerRecord, SchedulerRow> {
  constructor(components: { database: ManagerDatabase; clock: Clock }) {
    super(components, 'schedulers')
  }

  protected toRecord(row: SchedulerRow): SchedulerRecord {
    return { ...toMemberRecord(row), features: features.parse(JSON.parse(row.features)) }
  }

  protected ownColumns(input: SchedulerRegistration): { features: string } {
    return { features: JSON.stringify(input.features) }
  }
}
