/**
 * One testbed of N hosts with its origin, on which scenarios run one round at a time. A round has
 * two clocks: one from the start of its first process ("including start-up"), one from the moment
 * every process is up and announced and the fetches begin ("from running and announced"). Around
 * the round it reads every link's tc counter and the origin's own byte count; at each clock's
 * start and at the end, the CPU time of the testbed's cgroup and the machine's busy CPU time.
 * Afterwards it checks every host's copy and deletes the round's files.
 */
import { mkdir, rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { sha256File } from '../../test/support/files.js'
import type { ChildProcesses } from '../support/child-processes.js'
import { machineBusyCpuMs } from '../support/process-cpu.js'
import { TestbedOrigin } from './origin.js'
import type { Payload, Scenario, ScenarioName } from './scenario.js'
import { Testbed, type TestbedInit } from './testbed.js'

/**
 * The figures of one scenario's round. Byte counts are deltas over the whole round, start-up
 * included; CPU figures cover the round's processes and the HTTP origin, not the bench's own work.
 */
export interface RoundResult {
  readonly scenario: ScenarioName
  /** When each host held the whole file, ms after the fetches started (every process running and announced), in host order. */
  readonly hostDoneMs: readonly number[]
  readonly lastDoneMs: number
  readonly medianDoneMs: number
  /** From the start of the round's first process until every one was up and announced; near 0 for curl, which starts nothing beforehand. */
  readonly startupMs: number
  /** HTTP body bytes the origin server sent, by its own count. */
  readonly originBodyBytes: number
  /**
   * Bytes the origin namespace sent on its link (tc, headers included): the origin server plus
   * whatever else lives there, i.e. the seed daemon and the scheduler, or the seeder and the tracker.
   */
  readonly originLinkBytes: number
  /** Bytes each host sent on its link (tc, headers and ACKs included), in host order. */
  readonly hostUploadBytes: readonly number[]
  /** Hosts whose copy has the payload's sha256. */
  readonly digestsOk: number
  /** User + system CPU ms of the round's processes and the origin during start-up; undefined without a cgroup. */
  readonly startupCpuMs: number | undefined
  /** The same from the fetches' start until the last host was done. */
  readonly fetchCpuMs: number | undefined
  /** Share (0..1) of all the machine's cores busy during the fetches, whoever used them; undefined without /proc. */
  readonly machineBusyShare: number | undefined
  /** Share (0..1) of all the machine's cores the round's processes and the origin used during the fetches. */
  readonly scenarioBusyShare: number | undefined
  /** Share (0..1) of all the machine's cores busy during start-up, whoever used them. */
  readonly startupMachineBusyShare: number | undefined
  readonly seedUploadBytes?: number
  readonly hostBackToSourceBytes?: number
}

/** The clocks and CPU counters at one instant of a round. */
interface Reading {
  readonly atMs: number
  readonly scenarioCpuMs: number | undefined
  readonly machineBusyCpuMs: number | undefined
}

/** What the links and the origin had sent at one instant. */
interface LinkReading {
  readonly originBodyBytes: number
  readonly originLinkBytes: number
  readonly hostUploadBytes: readonly number[]
}

function delta(after: number | undefined, before: number | undefined): number | undefined {
  return after === undefined || before === undefined ? undefined : after - before
}

/**
 * Share of `cores` that `cpuMs` kept busy over `from`..`to`. /proc/stat counts in 10 ms ticks, so
 * over a short window the share can come out above 1: it is capped there.
 */
function busyShare(cpuMs: number | undefined, from: Reading, to: Reading, cores: number): number | undefined {
  const wallMs = to.atMs - from.atMs
  return cpuMs === undefined || wallMs <= 0 ? undefined : Math.min(1, cpuMs / (wallMs * cores))
}

export interface ProvingGroundInit extends TestbedInit {
  readonly hosts: number
  /** Where the origin's files and each round's files go; removed by the caller. */
  readonly workDir: string
  /** Deadline of one host's whole fetch. */
  readonly downloadTimeoutMs: number
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function digestsMatching(files: readonly string[], sha256: string): Promise<number> {
  let matching = 0
  // One at a time: hashing is CPU-bound, and the files may add up to gigabytes.
  for (const file of files) {
    const digest = await sha256File(file).catch(() => undefined)
    if (digest === sha256) matching += 1
  }
  return matching
}

export class ProvingGround {
  readonly testbed: Testbed
  private origin: TestbedOrigin | undefined
  private rounds = 0

  constructor(
    private readonly components: { children: ChildProcesses },
    private readonly init: ProvingGroundInit,
  ) {
    this.testbed = new Testbed(components)
  }

  /** Builds the testbed and starts the origin; on failure, tears down what it built. */
  async open(): Promise<void> {
    this.testbed.up(this.init.hosts, { hostRate: this.init.hostRate, originRate: this.init.originRate })
    try {
      this.origin = await TestbedOrigin.start({ testbed: this.testbed, children: this.components.children }, { dir: join(this.init.workDir, 'origin') })
    } catch (error) {
      await this.close()
      throw error
    }
  }

  /** The HTTP origin's process id, once open. */
  get originPid(): number | undefined {
    return this.origin?.pid
  }

  /** A random file of `sizeBytes` on the origin. */
  addPayload(sizeBytes: number): Promise<Payload> {
    return this.requireOrigin().addRandomFile(sizeBytes)
  }

  /** Runs one round of `scenario`; throws when it fails, after stopping its processes. */
  async round(scenario: Scenario, payload: Payload): Promise<RoundResult> {
    const origin = this.requireOrigin()
    this.rounds += 1
    const dir = join(this.init.workDir, `round-${this.rounds}-${scenario.name}`)
    await mkdir(dir, { recursive: true })
    try {
      const prepared = await scenario.prepare({ testbed: this.testbed, children: this.components.children, dir, payload, downloadTimeoutMs: this.init.downloadTimeoutMs })
      try {
        const linksBefore = this.links(origin)
        const started = await this.reading()
        await prepared.start()
        const running = await this.reading()
        const delivery = await prepared.fetchAll()
        const done = await this.reading()
        const linksAfter = this.links(origin)
        const seedCounters = prepared.seedCounters?.()
        const digestsOk = await digestsMatching(delivery.files, payload.sha256)
        const cores = availableParallelism()
        const fetchCpuMs = delta(done.scenarioCpuMs, running.scenarioCpuMs)
        return {
          scenario: scenario.name,
          hostDoneMs: delivery.hostDoneMs,
          lastDoneMs: Math.max(...delivery.hostDoneMs),
          medianDoneMs: median(delivery.hostDoneMs),
          startupMs: running.atMs - started.atMs,
          originBodyBytes: linksAfter.originBodyBytes - linksBefore.originBodyBytes,
          originLinkBytes: linksAfter.originLinkBytes - linksBefore.originLinkBytes,
          hostUploadBytes: linksAfter.hostUploadBytes.map((bytes, i) => bytes - linksBefore.hostUploadBytes[i]!),
          digestsOk,
          startupCpuMs: delta(running.scenarioCpuMs, started.scenarioCpuMs),
          fetchCpuMs,
          machineBusyShare: busyShare(delta(done.machineBusyCpuMs, running.machineBusyCpuMs), running, done, cores),
          scenarioBusyShare: busyShare(fetchCpuMs, running, done, cores),
          startupMachineBusyShare: busyShare(delta(running.machineBusyCpuMs, started.machineBusyCpuMs), started, running, cores),
          ...(seedCounters ?? {}),
        }
      } finally {
        await prepared.stop()
      }
    } finally {
      if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
    }
  }

  /** Stops the origin and deletes the namespaces and the cgroup; safe to call more than once. Stop other processes first. */
  async close(): Promise<void> {
    await this.origin?.stop()
    this.origin = undefined
    this.testbed.down()
  }

  /** Cheap reads only (files in /proc and the cgroup), so a clock starts or stops within a few ms of the call. */
  private async reading(): Promise<Reading> {
    const scenarioCpuMs = this.testbed.cpuUsedMs()
    const machineBusy = await machineBusyCpuMs()
    return { atMs: performance.now(), scenarioCpuMs, machineBusyCpuMs: machineBusy }
  }

  /** One query per namespace: read outside the clocks. */
  private links(origin: TestbedOrigin): LinkReading {
    return {
      originBodyBytes: origin.bodyBytesSent(),
      originLinkBytes: this.testbed.sentBytes(this.testbed.origin),
      hostUploadBytes: this.testbed.hosts.map((host) => this.testbed.sentBytes(host)),
    }
  }

  private requireOrigin(): TestbedOrigin {
    if (this.origin === undefined) throw new Error('the proving ground is not open')
    return this.origin
  }
}
