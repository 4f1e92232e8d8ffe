import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { BenchRun } from '../bench/support/bench-run.js'
import { ProvingGround, type RoundResult } from '../bench/testbed/proving-ground.js'
import type { Payload, Scenario } from '../bench/testbed/scenario.js'
import { BitTorrentScenario } from '../bench/testbed/scenarios/bittorrent.js'
import { CurlScenario } from '../bench/testbed/scenarios/curl.js'
import { DamselflyScenario } from '../bench/testbed/scenarios/damselfly.js'
import { MiB, tempDir } from './support/files.js'

// The smoke version of `npm run bench:testbed`: the same code, small enough for CI. It checks
// correctness (every host, every digest, what left the origin), never speed.
const HOSTS = 4
const SIZE_BYTES = 16 * MiB
const RATE = '200mbit'
const ROUND_TIMEOUT_MS = 180_000
const DAMSELFLY_MAX_ORIGIN_EGRESS = 1.1

/** Why the suite cannot run here, or undefined when it can: it needs root and `ip netns`. */
function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the testbed needs root to create network namespaces'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
  } catch {
    return '`ip netns` is unavailable (iproute2 missing or no network namespaces)'
  }
  return undefined
}

/** The parent of a process, from /proc/<pid>/stat (the field after the parenthesised name and the state); undefined once it is gone. */
function parentPid(pid: number): number | undefined {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : undefined
  return stat === undefined ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ')[0] ?? '')
}

describe(`testbed smoke: ${HOSTS} hosts fetch 16 MiB over ${RATE} links with curl, BitTorrent and Damselfly`, { timeout: 600_000, skip: skipReason() ?? false }, () => {
  const run = new BenchRun()
  let ground!: ProvingGround
  let payload!: Payload

  before(async () => {
    run.work = await tempDir('testbed-smoke')
    ground = run.hold(
      new ProvingGround({ children: run.children }, { hosts: HOSTS, hostRate: RATE, originRate: RATE, workDir: run.work.path, downloadTimeoutMs: ROUND_TIMEOUT_MS }),
      (held) => held.close(),
    )
    await ground.open()
    payload = await ground.addPayload(SIZE_BYTES)
  })

  after(async () => {
    const prefix = (ground as ProvingGround | undefined)?.testbed.prefix
    const work = run.work?.path
    await run.release()
    if (prefix !== undefined) assert.deepEqual(namespaces().filter((name) => name.startsWith(prefix)), [], 'every namespace of the testbed is deleted')
    if (work !== undefined && process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') assert.equal(existsSync(work), false, 'the work directory is removed')
  })

  async function round(scenario: Scenario): Promise<RoundResult> {
    const result = await ground.round(scenario, payload)
    assert.equal(result.hostDoneMs.length, HOSTS, 'every host reported a finish time')
    assert.ok(result.hostDoneMs.every((ms) => ms > 0 && ms < ROUND_TIMEOUT_MS), `finish times ${result.hostDoneMs.join(', ')} ms`)
    assert.equal(result.digestsOk, HOSTS, 'every host holds the payload with the right sha256')
    // Every byte a host received was sent by someone on the testbed, so the tc counters add up.
    const sentBytes = result.originLinkBytes + result.hostUploadBytes.reduce((sum, bytes) => sum + bytes, 0)
    assert.ok(sentBytes >= HOSTS * SIZE_BYTES, `the links sent ${sentBytes} bytes for ${HOSTS} copies of ${SIZE_BYTES}`)
    assert.ok(result.startupMs >= 0 && result.startupMs < ROUND_TIMEOUT_MS, `start-up took ${result.startupMs} ms`)
    // Where the machine gives the testbed a cgroup, the round's own processes did the fetching, so they used CPU.
    if (ground.testbed.cpuUsedMs() !== undefined) assert.ok((result.fetchCpuMs ?? 0) > 0, `the round's processes used ${result.fetchCpuMs} CPU ms during the fetches`)
    for (const host of ground.testbed.hosts) assert.deepEqual(ground.testbed.pids(host), [], `nothing of the round still runs on ${host.namespace}`)
    // With a cold tsx cache the origin (static-server.ts) runs an esbuild service child of its own.
    const originPid = ground.originPid
    const strays = ground.testbed.pids(ground.testbed.origin).filter((pid) => pid !== originPid && parentPid(pid) !== originPid)
    assert.deepEqual(strays, [], 'only the HTTP origin still runs on the origin host')
    return result
  }

  it('curl: every host fetches the whole file from the origin', { timeout: ROUND_TIMEOUT_MS }, async () => {
    const result = await round(new CurlScenario())
    assert.equal(result.originBodyBytes, HOSTS * SIZE_BYTES)
    assert.ok(result.originLinkBytes >= HOSTS * SIZE_BYTES, `the origin link sent ${result.originLinkBytes} bytes, every copy with its headers`)
  })

  it('BitTorrent: every leecher completes from the seeder and each other, the HTTP origin untouched', { timeout: ROUND_TIMEOUT_MS }, async () => {
    const result = await round(new BitTorrentScenario())
    assert.equal(result.originBodyBytes, 0)
    assert.ok(result.originLinkBytes >= SIZE_BYTES, `the seeder sent ${result.originLinkBytes} bytes, at least one copy`)
  })

  it(`Damselfly: every host's daemon completes and the origin sends at most ${DAMSELFLY_MAX_ORIGIN_EGRESS}x the file`, { timeout: ROUND_TIMEOUT_MS }, async () => {
    const result = await round(new DamselflyScenario())
    assert.ok(result.originBodyBytes >= SIZE_BYTES, `the origin sent ${result.originBodyBytes} bytes, at least one copy`)
    assert.ok(result.originBodyBytes <= DAMSELFLY_MAX_ORIGIN_EGRESS * SIZE_BYTES, `the origin sent ${result.originBodyBytes} bytes, ${(result.originBodyBytes / SIZE_BYTES).toFixed(2)}x the file`)
  })
})
