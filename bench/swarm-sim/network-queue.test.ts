import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EventLoop } from './engine.js'
import { Network, type NetworkOptions } from './network.js'

const TEST = { timeout: 5_000 }
const WIDE = 1e9
const QUEUE_MS = 50

/** Host 0 has a 10 bytes/ms uplink; hosts 1 and 2 wide links; 1 ms to the core from each. */
function network(options: NetworkOptions): { loop: EventLoop; net: Network; arrivals: Array<[string, number]>; message: (from: number, to: number, name: string) => void } {
  const loop = new EventLoop()
  const net = new Network(loop, { recomputeQuantumMs: 0, ...options })
  net.addHost(0, { upBytesPerMs: 10, downBytesPerMs: WIDE, latencyMs: 1 })
  net.addHost(1, { upBytesPerMs: WIDE, downBytesPerMs: WIDE, latencyMs: 1 })
  net.addHost(2, { upBytesPerMs: WIDE, downBytesPerMs: WIDE, latencyMs: 1 })
  const arrivals: Array<[string, number]> = []
  const message = (from: number, to: number, name: string): void => net.message(from, to, () => arrivals.push([name, loop.nowMs]))
  return { loop, net, arrivals, message }
}

describe('Network: standing queues in front of saturated links', TEST, () => {
  it('holds a message leaving by a saturated uplink for the queue, and not one whose path is free', TEST, async () => {
    const { loop, net, arrivals, message } = network({ standingQueueMs: QUEUE_MS })
    // 1000 bytes at 10 bytes/ms from 2 ms on: host 0's uplink is saturated until 102 ms.
    net.transfer(0, 1, 1000, () => undefined)
    loop.at(10, () => {
      message(0, 2, 'through the queue')
      message(2, 1, 'beside it')
    })
    await loop.run()
    assert.deepEqual(arrivals, [['beside it', 12], ['through the queue', 10 + 2 + QUEUE_MS]])
  })

  it('keeps the order of messages between two hosts when the queue drains meanwhile', TEST, async () => {
    const { loop, net, arrivals, message } = network({ standingQueueMs: QUEUE_MS })
    net.transfer(0, 1, 1000, () => undefined)
    loop.at(100, () => message(0, 2, 'first'))
    loop.at(110, () => message(0, 2, 'second, sent after the link went quiet'))
    await loop.run()
    assert.deepEqual(arrivals, [['first', 100 + 2 + QUEUE_MS], ['second, sent after the link went quiet', 100 + 2 + QUEUE_MS]])
  })

  it('starts a transfer\'s bytes behind the queue too', TEST, async () => {
    const { loop, net } = network({ standingQueueMs: QUEUE_MS })
    net.transfer(0, 1, 1000, () => undefined)
    let endedAtMs: number | undefined
    loop.at(10, () => net.transfer(0, 2, 10, () => (endedAtMs = loop.nowMs)))
    await loop.run()
    // Queued until 62 ms, then 10 bytes at half of host 0's uplink.
    assert.equal(endedAtMs, 10 + 2 + QUEUE_MS + 2)
  })

  it('has no queue unless asked', TEST, async () => {
    const { loop, net, arrivals, message } = network({})
    net.transfer(0, 1, 1000, () => undefined)
    loop.at(10, () => message(0, 2, 'at once'))
    await loop.run()
    assert.deepEqual(arrivals, [['at once', 12]])
  })
})
