import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import type { Logger } from '../../common/logger.js'
import type { Startable } from '../../common/startable.js'
import type { DiscoveredCluster } from '../../manager-client/scheduler-discovery.js'

/** Called with the new members whenever they change. */
export type MembersListener = (members: readonly string[]) => void

/**
 * The schedulers a daemon may route tasks to (`host:port`), and news of changes to them.
 * Rendezvous hashing runs over `members` as they are at each pick.
 */
export interface SchedulerDirectory {
  /** The current schedulers, sorted. */
  readonly members: readonly string[]
  /** Whether this daemon takes part in P2P at all: it was given schedulers or a manager. */
  readonly enabled: boolean
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: MembersListener): () => void
}

function sorted(addresses: readonly string[]): readonly string[] {
  return [...new Set(addresses)].sort()
}

/** A fixed list (`scheduler.addrs`): never changes. */
export class StaticSchedulerDirectory implements SchedulerDirectory {
  readonly members: readonly string[]

  constructor(addresses: readonly string[]) {
    this.members = sorted(addresses)
  }

  get enabled(): boolean {
    return this.members.length > 0
  }

  onChange(): () => void {
    return () => undefined
  }
}

const cacheSchema = z.object({ clusterId: z.number().int().min(0), schedulers: z.array(z.string().regex(/^\S+:\d{1,5}$/)).max(10_000) })

/**
 * The schedulers the managers list for this host, fed by scheduler discovery (`update`). The last
 * list is kept in memory and in `cacheFile`, so a daemon carries on with it while every manager
 * is down, also across a restart; before any list is known it starts from `initial`
 * (`scheduler.addrs`, when also given).
 */
export class ManagedSchedulerDirectory implements SchedulerDirectory, Startable {
  private membersValue: readonly string[]
  private readonly listeners = new Set<MembersListener>()
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly components: { logger: Logger },
    private readonly init: { cacheFile: string; initial: readonly string[] },
  ) {
    this.membersValue = sorted(init.initial)
  }

  get members(): readonly string[] {
    return this.membersValue
  }

  get enabled(): boolean {
    return true
  }

  onChange(listener: MembersListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Loads the list the last run kept, if any: discovery replaces it once a manager answers. */
  async start(): Promise<void> {
    let text: string
    try {
      text = await readFile(this.init.cacheFile, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.components.logger.warn({ err: error, file: this.init.cacheFile }, 'cannot read the last known schedulers')
      return
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      // A torn write reads as no file: the rename makes it unlikely, and the manager's next answer replaces it.
      value = undefined
    }
    const parsed = cacheSchema.safeParse(value)
    if (!parsed.success) {
      this.components.logger.warn({ file: this.init.cacheFile }, 'the last known schedulers file is not what this daemon writes; ignored')
      return
    }
    this.components.logger.info({ schedulers: parsed.data.schedulers, file: this.init.cacheFile }, 'starting from the last known schedulers')
    this.set(parsed.data.schedulers)
  }

  /** Waits for the last write of the cache file. */
  async stop(): Promise<void> {
    await this.writing
  }

  /** A manager answered: its list becomes the members, and is kept on disk. */
  update(found: DiscoveredCluster): void {
    if (!this.set(found.schedulers)) return
    const text = `${JSON.stringify({ clusterId: found.clusterId, schedulers: this.membersValue })}\n`
    this.writing = this.writing.then(() => this.persist(text))
  }

  private set(addresses: readonly string[]): boolean {
    const next = sorted(addresses)
    if (next.length === this.membersValue.length && next.every((address, i) => address === this.membersValue[i])) return false
    this.membersValue = next
    for (const listener of this.listeners) listener(next)
    return true
  }

  private async persist(text: string): Promise<void> {
    const file = this.init.cacheFile
    const temp = `${file}.tmp-${process.pid}`
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      await writeFile(temp, text, { mode: 0o600 })
      await rename(temp, file)
    } catch (error) {
      this.components.logger.warn({ err: error, file }, 'cannot keep the last known schedulers on disk; a restart without a manager would start without them')
    }
  }
}
