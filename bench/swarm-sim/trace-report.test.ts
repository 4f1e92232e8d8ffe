import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TaskId } from '../../src/protocol/ids.js'
import { MIB } from '../../src/protocol/piece.js'
import { damselflyWith } from './damselfly.js'
import type { PieceLanded } from './damselfly/piece-trace.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { heterogeneousLinks } from './scenario.js'
import { downlinkBusy, landings, traceReport } from './trace-report.js'

const TEST = { timeout: 60_000 }

describe('swarm-sim trace', TEST, () => {
  it('hears of every piece each host lands once, from the origin only on the seed, each hop in order', TEST, async () => {
    const scenario = heterogeneousLinks({ hosts: 12, sizeBytes: 16 * MIB, seed: 3 })
    const loop = new EventLoop()
    const events: PieceLanded[] = []
    await damselflyWith({ trace: { landed: (event) => events.push(event) } }).run(scenario, loop, new Network(loop, { overhead: 1 }))
    const seeds = new Set(scenario.hosts.filter((host) => host.seed).map((host) => host.id))
    const pieceCount = 16 * MIB / scenario.tasks[0]!.pieceLengthBytes
    for (const host of scenario.hosts) {
      const numbers = events.filter((event) => event.host === host.id).map((event) => event.number).sort((a, b) => a - b)
      assert.deepEqual(numbers, Array.from({ length: pieceCount }, (_, number) => number), `host ${host.id} landed each piece once`)
    }
    for (const { event, depth, parentHeldMs } of landings(events)) {
      if (event.source.kind === 'origin') {
        assert.ok(seeds.has(event.host), `host ${event.host} fetched the origin`)
        assert.equal(depth, 0)
        continue
      }
      assert.ok(parentHeldMs !== undefined, 'the parent held the piece before it sent it')
      assert.ok(parentHeldMs <= event.source.requestedMs && event.source.requestedMs <= event.source.sendingMs && event.source.sendingMs <= event.atMs)
      assert.ok(depth >= 1)
    }
    const report = traceReport(scenario, events, { piece: 0 })
    assert.match(report, /^Pieces from the origin: 16, /)
    assert.match(report, /Hops from the hosts that fetched the origin \(a fresh piece's first copy\), \d+:\n- per hop, from the parent holding the piece to the child's request: median /)
    for (const rate of ['1 Gbit/s', '10 Gbit/s', '25 Gbit/s']) assert.match(report, new RegExp(`${rate} downlinks, \\d+ hosts:`))
    assert.match(report, /- downlinks busy, by tenths of the time to the class's last piece \([\d.]+ ms each\): (\d+% ){9}\d+%\n/)
    assert.match(report, /Piece 0 of the first task, host by host as it landed:\n- [\d.]+ ms: host \d+ \(10 Gbit\/s, depth 0\) from the origin/)
  })

  it('says how full a class of downlinks ran in each tenth of the time, from the transfers it carried', TEST, () => {
    const taskId = 'task' as TaskId
    const fromParent = (host: number, number: number, sendingMs: number, atMs: number, bytes: number): PieceLanded =>
      ({ host, taskId, number, bytes, atMs, source: { kind: 'parent', parentHost: 0, requestedMs: sendingMs, sendingMs } })
    const events: PieceLanded[] = [
      { host: 0, taskId, number: 0, bytes: 100, atMs: 0, source: { kind: 'origin' } },
      { host: 0, taskId, number: 1, bytes: 100, atMs: 0, source: { kind: 'origin' } },
      // Two hosts on links of 10 bytes/ms, 100 ms: periods of 10 ms, 200 bytes each at full use.
      fromParent(1, 0, 0, 20, 200), // 100 bytes in each of the first two periods
      fromParent(2, 0, 15, 25, 100), // 50 bytes in the second period, 50 in the third
      fromParent(2, 1, 90, 100, 100), // 100 bytes in the last
      fromParent(1, 1, 95, 100, 100), // 100 bytes in the last
    ]
    const classOf = landings(events).filter(({ event }) => event.host !== 0)
    assert.deepEqual(downlinkBusy(classOf, 10, 100).map((share) => Math.round(share * 100)), [50, 75, 25, 0, 0, 0, 0, 0, 0, 100])
  })
})
