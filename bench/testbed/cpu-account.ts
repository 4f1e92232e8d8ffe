/**
 * CPU time of a group of processes, counted by the kernel: a cgroup the testbed makes for itself.
 * A process started through `wrap` joins the group before it runs its command, so whatever it
 * forks counts too, and its time stays counted after it exits. cgroup v2's `cpu.stat` where a v2
 * hierarchy is mounted (it exists without the cpu controller), else cgroup v1's `cpuacct`.
 */
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'

/** A mounted hierarchy that can count CPU time, and the files that give it in its unit. */
export interface CpuHierarchy {
  readonly version: 'v2' | 'v1'
  readonly mountPath: string
}

/** User and system CPU time, in ms. */
export interface CpuUsage {
  readonly userMs: number
  readonly systemMs: number
}

/**
 * The hierarchy to use, from the text of /proc/self/mounts: a cgroup2 mount first, else a v1
 * mount whose options hold `cpuacct`; undefined when there is neither.
 */
export function cpuHierarchyFrom(mountsText: string): CpuHierarchy | undefined {
  const mounts = mountsText.split('\n').flatMap((line) => {
    const [, mountPath, type, options] = line.split(' ')
    return mountPath === undefined || type === undefined || options === undefined ? [] : [{ mountPath, type, options: options.split(',') }]
  })
  const v2 = mounts.find((mount) => mount.type === 'cgroup2')
  if (v2 !== undefined) return { version: 'v2', mountPath: v2.mountPath }
  const v1 = mounts.find((mount) => mount.type === 'cgroup' && mount.options.includes('cpuacct'))
  return v1 === undefined ? undefined : { version: 'v1', mountPath: v1.mountPath }
}

/** cgroup v2's `cpu.stat` (flat keyed, microseconds) as user and system ms. */
export function parseCpuStat(text: string): CpuUsage {
  const fields = new Map<string, number>()
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/)
    if (key !== undefined && value !== undefined) fields.set(key, Number(value))
  }
  const userMicros = fields.get('user_usec')
  const systemMicros = fields.get('system_usec')
  if (userMicros === undefined || systemMicros === undefined || !Number.isFinite(userMicros) || !Number.isFinite(systemMicros)) {
    throw new Error(`cpu.stat has no user_usec and system_usec: ${JSON.stringify(text.slice(0, 200))}`)
  }
  return { userMs: userMicros / 1000, systemMs: systemMicros / 1000 }
}

function nanosecondsFile(path: string): number {
  const value = Number(readFileSync(path, 'utf8').trim())
  if (!Number.isFinite(value)) throw new Error(`${path} holds no number`)
  return value
}

/** Joins the cgroup whose `cgroup.procs` is $1, then runs the rest of the arguments in its place (same pid). */
const JOIN_THEN_EXEC = 'echo $$ > "$1" && shift && exec "$@"'

export class CpuAccount {
  private removed = false

  private constructor(
    readonly dir: string,
    private readonly hierarchy: CpuHierarchy,
  ) {}

  /**
   * Makes the cgroup `name` at the top of the hierarchy (needs root). Undefined, after saying why
   * on stderr, where there is no hierarchy to use or it may not be written: the figures that need
   * it are then reported as missing, never guessed.
   */
  static create(name: string): CpuAccount | undefined {
    const mounts = (() => {
      try {
        return readFileSync('/proc/self/mounts', 'utf8')
      } catch (error) {
        console.error('cannot read /proc/self/mounts, so no CPU time per process group:', error)
        return ''
      }
    })()
    const hierarchy = cpuHierarchyFrom(mounts)
    if (hierarchy === undefined) {
      console.error('no cgroup2 or cpuacct hierarchy is mounted, so no CPU time per process group')
      return undefined
    }
    const dir = join(hierarchy.mountPath, name)
    try {
      mkdirSync(dir)
    } catch (error) {
      console.error(`cannot make cgroup ${dir}, so no CPU time per process group:`, error)
      return undefined
    }
    return new CpuAccount(dir, hierarchy)
  }

  /** The command line that runs `command args` inside the group, under the same pid. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'sh', args: ['-c', JOIN_THEN_EXEC, 'cpu-account', join(this.dir, 'cgroup.procs'), command, ...args] }
  }

  /** CPU time every process that ever ran in the group has used so far. */
  usage(): CpuUsage {
    if (this.hierarchy.version === 'v2') return parseCpuStat(readFileSync(join(this.dir, 'cpu.stat'), 'utf8'))
    return {
      userMs: nanosecondsFile(join(this.dir, 'cpuacct.usage_user')) / 1e6,
      systemMs: nanosecondsFile(join(this.dir, 'cpuacct.usage_sys')) / 1e6,
    }
  }

  /** Removes the group; every process in it must have exited. Safe to call more than once. */
  remove(): void {
    if (this.removed) return
    try {
      rmdirSync(this.dir)
      this.removed = true
    } catch (error) {
      console.error(`could not remove cgroup ${this.dir} (a process of it may still run):`, error)
    }
  }
}
