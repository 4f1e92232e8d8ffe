/**
 * One testbed of N hosts with its origin, on which scenarios run one round at a time. Around each
 * round's fetches it reads every link's tc counter, the origin's own byte count and the machine's
 * busy CPU time; afterwards it checks every host's copy and deletes the round's files.
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

/** The figures of one scenario's round. Byte counts are deltas over the fetches alone. */
export interface RoundResult {
  readonly scenario: ScenarioName
  /** When each host held the whole file, ms after the fetches started, in host order. */
  readonly hostDoneMs: readonly number[]
  readonly lastDoneMs: number
  readonly medianDoneMs: number
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
  /** Share (0..1) of all the machine's cores busy during the fetches, whoever used them; undefined without /proc. */
  readonly machineBusyShare: number | undefined
  readonly seedUploadBytes?: number
  readonly hostBackToSourceBytes?: number
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
        const before = await this.counters(origin)
        const delivery = await prepared.fetchAll()
        const after = await this.counters(origin)
        const digestsOk = await digestsMatching(delivery.files, payload.sha256)
        return {
          scenario: scenario.name,
          hostDoneMs: delivery.hostDoneMs,
          lastDoneMs: Math.max(...delivery.hostDoneMs),
          medianDoneMs: median(delivery.hostDoneMs),
          originBodyBytes: after.originBodyBytes - before.originBodyBytes,
          originLinkBytes: after.originLinkBytes - before.originLinkBytes,
          hostUploadBytes: after.hostUploadBytes.map((bytes, i) => bytes - before.hostUploadBytes[i]!),
          digestsOk,
          machineBusyShare:
            after.busyCpuMs === undefined || before.busyCpuMs === undefined
              ? undefined
              : (after.busyCpuMs - before.busyCpuMs) / ((after.atMs - before.atMs) * availableParallelism()),
          ...(delivery.seedUploadBytes === undefined ? {} : { seedUploadBytes: delivery.seedUploadBytes }),
          ...(delivery.hostBackToSourceBytes === undefined ? {} : { hostBackToSourceBytes: delivery.hostBackToSourceBytes }),
        }
      } finally {
        await prepared.stop()
      }
    } finally {
      if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
    }
  }

  /** Stops the origin and deletes the namespaces; safe to call more than once. Stop other processes first. */
  async close(): Promise<void> {
    await this.origin?.stop()
    this.origin = undefined
    this.testbed.down()
  }

  private async counters(
    origin: TestbedOrigin,
  ): Promise<{ atMs: number; busyCpuMs: number | undefined; originBodyBytes: number; originLinkBytes: number; hostUploadBytes: number[] }> {
    return {
      atMs: performance.now(),
      busyCpuMs: await machineBusyCpuMs(),
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
