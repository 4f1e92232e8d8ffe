/**
 * What each process of a measured window cost: CPU time and peak resident memory, read from /proc
 * for processes that were already running, and from the kernel's accounting of a finished process
 * (GNU time's wait4 figures) for the client a window runs.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { performance } from 'node:perf_hooks'
import type { ChildProcesses, TimedExit } from './child-processes.js'
import { cpuTimeMs, machineBusyCpuMs } from './process-cpu.js'

/** GNU time, which reports a finished command's CPU time and peak RSS (Debian's `time` package). */
export const GNU_TIME = '/usr/bin/time'

/** One process's cost over a measured window. */
export interface ProcessUsage {
  /** Who the process is in the scenario, e.g. `child daemon`. */
  readonly role: string
  /** User plus system CPU time within the window. */
  readonly cpuMs: number
  readonly peakRssBytes: number
  /** Resident set size as the window opened; undefined for a process started within it. */
  readonly openingRssBytes: number | undefined
  /**
   * True when `peakRssBytes` covers the window only (the process's high-water mark was reset as
   * the window opened, or the process lived only within it); false when it is the peak of the
   * process's whole life, because the kernel refused the reset.
   */
  readonly peakCoversWindowOnly: boolean
}

/** A process that was running before a window opened. */
export interface RunningProcess {
  readonly role: string
  readonly pid: number | undefined
}

async function statusBytes(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): Promise<number | undefined> {
  if (pid === undefined) return undefined
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]
  return kib === undefined ? undefined : Number(kib) * 1024
}

/** Peak resident set size so far (VmHWM), in bytes; undefined once the process has gone. */
export function peakRssBytes(pid: number | undefined): Promise<number | undefined> {
  return statusBytes(pid, 'VmHWM')
}

/**
 * Resets the process's peak RSS to its current RSS (`5` into /proc/<pid>/clear_refs, Linux 4.0+),
 * so a later VmHWM covers only what came after. False when the kernel refuses.
 */
export async function resetPeakRss(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false
  return writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false)
}

async function requiredCpuMs(running: RunningProcess): Promise<number> {
  const ms = await cpuTimeMs(running.pid)
  if (ms === undefined) throw new Error(`cannot read the CPU time of the ${running.role} (pid ${running.pid}) from /proc: has it exited?`)
  return ms
}

/**
 * A measured window over processes that are already running: opening it resets their peak RSS and
 * notes their CPU time; closing it reads both again. The machine's busy time is noted too, so a
 * report can say how much of the machine other work took meanwhile.
 */
export class UsageWindow {
  private constructor(
    private readonly processes: readonly RunningProcess[],
    private readonly cpuBeforeMs: readonly number[],
    private readonly resets: readonly boolean[],
    private readonly openingRssBytes: ReadonlyArray<number | undefined>,
    private readonly machineBeforeMs: number | undefined,
    private readonly benchBefore: NodeJS.CpuUsage,
    private readonly openedAtMs: number,
  ) {}

  /** Opens the window; throws when a process's CPU time cannot be read. */
  static async open(processes: readonly RunningProcess[]): Promise<UsageWindow> {
    const resets = await Promise.all(processes.map((running) => resetPeakRss(running.pid)))
    const openingRssBytes = await Promise.all(processes.map((running) => statusBytes(running.pid, 'VmRSS')))
    const cpuBeforeMs = await Promise.all(processes.map(requiredCpuMs))
    return new UsageWindow(processes, cpuBeforeMs, resets, openingRssBytes, await machineBusyCpuMs(), process.cpuUsage(), performance.now())
  }

  /**
   * Closes the window: each process's CPU time since the opening and its peak RSS; the machine's
   * busy CPU time over the window (undefined without /proc/stat); this bench process's own CPU
   * time; the window's wall time.
   */
  async close(): Promise<{ usages: ProcessUsage[]; machineBusyMs: number | undefined; benchCpuMs: number; windowMs: number }> {
    const windowMs = performance.now() - this.openedAtMs
    const machineAfterMs = await machineBusyCpuMs()
    const bench = process.cpuUsage(this.benchBefore)
    const usages = await Promise.all(this.processes.map(async (running, i) => {
      const cpuMs = (await requiredCpuMs(running)) - this.cpuBeforeMs[i]!
      const peak = await peakRssBytes(running.pid)
      if (peak === undefined) throw new Error(`cannot read the peak RSS of the ${running.role} (pid ${running.pid}) from /proc`)
      return { role: running.role, cpuMs, peakRssBytes: peak, openingRssBytes: this.openingRssBytes[i], peakCoversWindowOnly: this.resets[i]! }
    }))
    const machineBusyMs = machineAfterMs === undefined || this.machineBeforeMs === undefined ? undefined : machineAfterMs - this.machineBeforeMs
    return { usages, machineBusyMs, benchCpuMs: (bench.user + bench.system) / 1000, windowMs }
  }
}

/**
 * Runs a command to completion under GNU time and returns how it exited with its own usage: user
 * plus system CPU time of it and every child it waited for, and its peak RSS. Throws when the
 * command fails or GNU time reports nothing.
 */
export async function runMeasured(
  children: ChildProcesses,
  init: { role: string; command: string; args: readonly string[]; usagePath: string; timeoutMs: number },
): Promise<{ exit: TimedExit; usage: ProcessUsage }> {
  const exit = await children.run(GNU_TIME, ['--format', '%U %S %M', '--output', init.usagePath, init.command, ...init.args], { timeoutMs: init.timeoutMs })
  if (exit.code !== 0) throw new Error(`${init.role} (${init.command}) exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr.slice(-1500)}`)
  const report = (await readFile(init.usagePath, 'utf8')).trim().split('\n').pop() ?? ''
  await rm(init.usagePath, { force: true })
  const [userSeconds, systemSeconds, peakKiB] = report.split(' ').map(Number)
  if (userSeconds === undefined || systemSeconds === undefined || peakKiB === undefined || [userSeconds, systemSeconds, peakKiB].some((value) => !Number.isFinite(value))) {
    throw new Error(`${GNU_TIME} reported ${JSON.stringify(report)} for the ${init.role}`)
  }
  return { exit, usage: { role: init.role, cpuMs: (userSeconds + systemSeconds) * 1000, peakRssBytes: peakKiB * 1024, openingRssBytes: undefined, peakCoversWindowOnly: true } }
}
