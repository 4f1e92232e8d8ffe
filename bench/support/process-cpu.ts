import { readFile } from 'node:fs/promises'

/** USER_HZ, the unit of CPU times in /proc; 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100

/**
 * User plus system CPU time a running process has used so far, from /proc. Undefined where there
 * is no /proc or the process has gone: callers report a missing value rather than a wrong one.
 */
export async function cpuTimeMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const fields = text?.slice(text.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields?.[11])
  const stime = Number(fields?.[12])
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND
}

/**
 * CPU time every core of the machine has spent busy so far (all but idle and iowait), from
 * /proc/stat; undefined where there is none. Set against the bench's own processes, it shows how
 * much of the machine other work took during a measurement.
 */
export async function machineBusyCpuMs(): Promise<number | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => undefined)
  const line = text?.split('\n').find((row) => row.startsWith('cpu '))
  if (line === undefined) return undefined
  // user nice system idle iowait irq softirq steal, in clock ticks; guest time is already in user.
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number)
  if (ticks.length < 8 || ticks.some((tick) => !Number.isFinite(tick))) return undefined
  const [user, nice, system, , , irq, softirq, steal] = ticks as [number, number, number, number, number, number, number, number]
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLOCK_TICKS_PER_SECOND
}
