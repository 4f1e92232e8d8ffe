import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../common/logger.js'
import { ManualClock } from '../common/manual-clock.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { ClusterConfig, ReportedHost } from '../protocol/generated/damselfly/manager/v1/manager.js'
import { HostReporter } from './host-reporter.js'
import type { ManagerCaller } from './manager-connection.js'
import { MemberKeepalive } from './member-keepalive.js'

const TEST = { timeout: 5_000 }

function config(version: number): ClusterConfig {
  return { candidateParentLimit: 4, filterParentLimit: 15, seedPeerLoadLimit: 0, peerLoadLimit: 0, blocklist: undefined, version }
}

/** A manager that answers each call with the next scripted outcome, recording the call's name. */
function scriptedManager(outcomes: Array<unknown>): { caller: ManagerCaller; calls: string[] } {
  const calls: string[] = []
  const caller: ManagerCaller = {
    addresses: ['manager.test:65003'],
    call: <Res>(what: string): Promise<Res> => {
      calls.push(what)
      const next = outcomes.shift()
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next as Res)
    },
  }
  return { caller, calls }
}

/** Lets the loop run until it sleeps again. */
async function settle(clock: ManualClock, sleeping = 1): Promise<void> {
  for (let i = 0; i < 100 && clock.sleeping < sleeping; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('MemberKeepalive', TEST, () => {
  it('registers, keeps alive every interval, hands on each new config once, backs off while no manager answers, and registers again when forgotten', async () => {
    const clock = new ManualClock()
    const unavailable = new DamselflyError('MANAGER_UNAVAILABLE', 'down')
    const { caller, calls } = scriptedManager([
      { config: config(1) }, // keepalive: same version, not handed on again
      unavailable,
      unavailable,
      { config: config(2) },
      new DamselflyError('NOT_FOUND', 'who?'),
      { config: config(2) },
    ])
    const configs: number[] = []
    let registrations = 0
    const keepalive = new MemberKeepalive(
      { connection: caller, clock, logger: silentLogger(), onConfig: (c) => configs.push(c.version) },
      {
        sourceType: 'scheduler', hostname: 's', ip: '10.0.0.1', intervalMs: 5_000,
        register: () => {
          registrations++
          // The second registration brings the config the last keepalive did: nothing new to hand on.
          return Promise.resolve({ clusterId: 3, config: config(registrations) })
        },
      },
    )
    await keepalive.start()
    await settle(clock)
    assert.equal(keepalive.clusterId, 3)
    assert.deepEqual(configs, [1])
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      const before = clock.nowMs()
      // Advance one step at a time to learn each wait the loop chose.
      let waited = 0
      while (calls.length === i) {
        clock.advance(100)
        waited += 100
        await settle(clock)
        if (waited > 10_000) break
      }
      delays.push(clock.nowMs() - before)
    }
    assert.deepEqual(calls, ['keepalive', 'keepalive', 'keepalive', 'keepalive', 'keepalive'])
    assert.deepEqual(delays, [5_000, 5_000, 500, 1_000, 5_000], 'the interval, then backoff from 500 ms while no manager answers')
    assert.deepEqual(configs, [1, 2])
    assert.equal(registrations, 2, 'forgotten: registered again at once')
    await keepalive.stop()
    await keepalive.stop()
  })
})

describe('HostReporter', TEST, () => {
  it('keeps a change pending until the scheduler has registered, then reports it', async () => {
    const clock = new ManualClock()
    const { caller, calls } = scriptedManager([{}, {}])
    const registered: { clusterId: number | undefined } = { clusterId: undefined }
    const hosts: ReportedHost[] = [{ hostId: 'h', hostname: 'n', ip: '10.0.0.2', port: 65002, idc: '', location: '', version: '', os: '', type: 'normal' }]
    const reporter = new HostReporter(
      { connection: caller, clock, logger: silentLogger(), hosts: () => hosts, reporter: () => ({ hostname: 's', ip: '10.0.0.1', clusterId: registered.clusterId }) },
      { intervalMs: 30_000, minGapMs: 1_000 },
    )
    await reporter.start()
    await settle(clock)
    reporter.changed()
    await settle(clock)
    clock.advance(1_000)
    await settle(clock)
    assert.deepEqual(calls, [], 'not registered: nothing sent')
    registered.clusterId = 1
    clock.advance(1_000)
    await settle(clock)
    assert.deepEqual(calls, ['report hosts'], 'the pending change, once registered')
    clock.advance(1_000)
    await settle(clock)
    assert.deepEqual(calls, ['report hosts'], 'nothing new: wait for the interval')
    clock.advance(30_000)
    await settle(clock)
    assert.deepEqual(calls, ['report hosts', 'report hosts'])
    await reporter.stop()
  })
})
