import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EventLoop } from './engine.js'
import { Network, type Links, type NetworkOptions, type Transfer } from './network.js'
import { createRandom, randomInt } from './random.js'

const TEST = { timeout: 10_000 }
const WIDE = 1e9

function links(upBytesPerMs: number, downBytesPerMs: number, latencyMs = 0): Links {
  return { upBytesPerMs, downBytesPerMs, latencyMs }
}

function network(hosts: readonly Links[], options: NetworkOptions = {}): { loop: EventLoop; net: Network } {
  const loop = new EventLoop()
  const net = new Network(loop, options)
  hosts.forEach((each, host) => net.addHost(host, each))
  return { loop, net }
}

/** Starts a transfer and records when, and how, it ended. */
function send(loop: EventLoop, net: Network, from: number, to: number, bytes: number): { transfer: Transfer; end: { atMs?: number; delivered?: boolean } } {
  const end: { atMs?: number; delivered?: boolean } = {}
  const transfer = net.transfer(from, to, bytes, (delivered) => {
    end.atMs = loop.nowMs
    end.delivered = delivered
  })
  return { transfer, end }
}

describe('Network', TEST, () => {
  it('gives two flows sharing an uplink half of it each', TEST, async () => {
    const { loop, net } = network([links(10, WIDE), links(WIDE, WIDE), links(WIDE, WIDE)])
    const a = send(loop, net, 0, 1, 1000)
    const b = send(loop, net, 0, 2, 1000)
    await loop.run({ untilMs: 50 })
    assert.equal(net.rateBytesPerMs(a.transfer), 5)
    assert.equal(net.rateBytesPerMs(b.transfer), 5)
    assert.equal(net.receivedBytes(a.transfer), 250)
    await loop.run()
    assert.deepEqual([a.end, b.end], [{ atMs: 200, delivered: true }, { atMs: 200, delivered: true }])
  })

  it('leaves the share of a flow bottlenecked elsewhere to the others (max-min fairness)', TEST, async () => {
    // Hosts 0 and 3 send; host 1's downlink (2) holds 0->1 back, host 2's downlink (6) is shared by 0->2 and 3->2.
    // Filling: host 1's downlink fixes 0->1 at 2; host 2's downlink fixes 0->2 and 3->2 at 3 each; nothing else binds.
    const { loop, net } = network([links(10, WIDE), links(WIDE, 2), links(WIDE, 6), links(WIDE, WIDE)])
    const toOne = send(loop, net, 0, 1, 1e6)
    const toTwo = send(loop, net, 0, 2, 1e6)
    const fromThree = send(loop, net, 3, 2, 1e6)
    await loop.run({ untilMs: 1 })
    assert.deepEqual([toOne, toTwo, fromThree].map(({ transfer }) => net.rateBytesPerMs(transfer)), [2, 3, 3])

    // With host 2's downlink at 12, host 0's uplink (10) binds first: 5 each to hosts 1 and 2, and 3->2 takes the 7 left of host 2's downlink.
    const second = network([links(10, WIDE), links(WIDE, WIDE), links(WIDE, 12), links(WIDE, WIDE)])
    const flows = [send(second.loop, second.net, 0, 1, 1e6), send(second.loop, second.net, 0, 2, 1e6), send(second.loop, second.net, 3, 2, 1e6)]
    await second.loop.run({ untilMs: 1 })
    assert.deepEqual(flows.map(({ transfer }) => second.net.rateBytesPerMs(transfer)), [5, 5, 7])
  })

  it('hands a finished flow\'s share to the flows left, with exact completion times', TEST, async () => {
    const { loop, net } = network([links(10, WIDE, 1), links(WIDE, WIDE, 1), links(WIDE, WIDE, 1)])
    const short = send(loop, net, 0, 1, 1000)
    const long = send(loop, net, 0, 2, 2000)
    await loop.run()
    // 2 ms of latency; 1000 bytes each at 5/ms until 202, then 1000 at 10/ms.
    assert.deepEqual(short.end, { atMs: 202, delivered: true })
    assert.deepEqual(long.end, { atMs: 302, delivered: true })
  })

  it('lets a change wait at most one quantum after the last allocation', TEST, async () => {
    const { loop, net } = network([links(10, WIDE), links(WIDE, WIDE), links(WIDE, WIDE)], { recomputeQuantumMs: 10 })
    const first = send(loop, net, 0, 1, 1000)
    let second: ReturnType<typeof send> | undefined
    loop.at(3, () => (second = send(loop, net, 0, 2, 300)))
    await loop.run()
    // The allocation at 0 gives the first flow all 10/ms; the second starts at 3 but moves from 10 at 5/ms:
    // first has 900 left then, second 300: second ends at 70, first gets 10/ms again at 70 (600 left) and ends at 130.
    assert.deepEqual(second?.end, { atMs: 70, delivered: true })
    assert.deepEqual(first.end, { atMs: 130, delivered: true })
    assert.equal(net.allocationCount, 4, 'at 0, 10, 70 and 130')
  })

  it('applies the latency of both ends to transfers and messages', TEST, async () => {
    const { loop, net } = network([links(WIDE, WIDE, 3), links(WIDE, WIDE, 4)])
    const empty = send(loop, net, 0, 1, 0)
    const delivered: number[] = []
    net.message(1, 0, () => delivered.push(loop.nowMs))
    await loop.run()
    assert.deepEqual(empty.end, { atMs: 7, delivered: true })
    assert.deepEqual(delivered, [7])
  })

  it('carries payload at the capacity over the wire overhead', TEST, async () => {
    const { loop, net } = network([links(12, WIDE), links(WIDE, WIDE)], { overhead: 1.2 })
    const one = send(loop, net, 0, 1, 1000)
    await loop.run()
    assert.deepEqual(one.end, { atMs: 100, delivered: true })
    assert.equal(net.uploadedBytes(0), 1000, 'byte counts are payload')
  })

  it('moves bytes between hosts beside each other at once, taking none of their shared link', TEST, async () => {
    const { loop, net } = network([links(10, 10, 2), links(WIDE, WIDE, 2)])
    net.addHostBeside(5, 0)
    const local = send(loop, net, 0, 5, 1e6)
    const remote = send(loop, net, 5, 1, 1000)
    await loop.run()
    assert.deepEqual(local.end, { atMs: 0, delivered: true })
    assert.deepEqual(remote.end, { atMs: 104, delivered: true })
  })

  it('ends a leaving host\'s transfers, pending or moving, and gives their share back', TEST, async () => {
    const { loop, net } = network([links(10, WIDE, 1), links(WIDE, WIDE, 1), links(WIDE, WIDE, 1)])
    const moving = send(loop, net, 0, 1, 1000)
    const staying = send(loop, net, 0, 2, 1000)
    let pending: ReturnType<typeof send> | undefined
    const messages: string[] = []
    loop.at(52, () => {
      pending = send(loop, net, 2, 1, 1000)
      net.message(0, 1, () => messages.push('delivered'))
      net.removeHost(1)
    })
    await loop.run()
    // Both moved at 5/ms from 2 to 52: 250 bytes each. Then host 0's whole uplink goes to host 2: 750 at 10/ms.
    assert.deepEqual(moving.end, { atMs: 52, delivered: false })
    assert.equal(net.receivedBytes(moving.transfer), 250)
    assert.deepEqual(pending?.end, { atMs: 52, delivered: false })
    assert.deepEqual(staying.end, { atMs: 127, delivered: true })
    assert.deepEqual(messages, [], 'a message to a host that left is dropped')
    assert.equal(net.downloadedBytes(1), 250, 'a host that left keeps its counts')
    assert.equal(net.hasHost(1), false)
    const refused = send(loop, net, 0, 1, 10)
    await loop.run()
    assert.deepEqual(refused.end, { atMs: 127, delivered: false })
  })

  it('conserves bytes and repeats itself exactly for a random workload', TEST, async () => {
    const first = await randomWorkload(7)
    const second = await randomWorkload(7)
    assert.deepEqual(second, first)
    assert.notDeepEqual(await randomWorkload(8), first)
    const sent = first.uploaded.reduce((sum, bytes) => sum + bytes, 0)
    const received = first.downloaded.reduce((sum, bytes) => sum + bytes, 0)
    const arrived = first.transfers.reduce((sum, transfer) => sum + transfer.receivedBytes, 0)
    assert.ok(Math.abs(sent - received) < 1e-6 * sent, `${sent} sent, ${received} received`)
    assert.ok(Math.abs(arrived - received) < 1e-6 * sent, `${arrived} arrived, ${received} received`)
    for (const transfer of first.transfers) {
      if (transfer.delivered) assert.equal(transfer.receivedBytes, transfer.bytes)
      else assert.ok(transfer.receivedBytes < transfer.bytes)
    }
    assert.ok(first.transfers.some((transfer) => !transfer.delivered) && first.transfers.some((transfer) => transfer.delivered))
  })
})

/** 20 hosts of mixed links, 400 transfers at random times, a tenth of them cancelled, two hosts leaving. */
async function randomWorkload(seed: number): Promise<{
  transfers: { bytes: number; delivered: boolean | undefined; endAtMs: number | undefined; receivedBytes: number }[]
  uploaded: number[]
  downloaded: number[]
}> {
  const random = createRandom(seed)
  const hosts = Array.from({ length: 20 }, () => links(1 + randomInt(random, 100), 1 + randomInt(random, 100), random()))
  const { loop, net } = network(hosts, { recomputeQuantumMs: 0.5 })
  const started: ReturnType<typeof send>[] = []
  for (let index = 0; index < 400; index++) {
    const from = randomInt(random, hosts.length)
    const to = (from + 1 + randomInt(random, hosts.length - 1)) % hosts.length
    const bytes = randomInt(random, 100_000)
    const cancelled = random() < 0.1
    const cancelAtMs = random() * 1000
    loop.at(random() * 1000, () => {
      if (!net.hasHost(from) || !net.hasHost(to)) return
      const one = send(loop, net, from, to, bytes)
      started.push(one)
      if (cancelled) loop.at(Math.max(loop.nowMs, cancelAtMs), () => net.cancel(one.transfer))
    })
  }
  loop.at(300, () => net.removeHost(3))
  loop.at(600, () => net.removeHost(11))
  await loop.run()
  return {
    transfers: started.map(({ transfer, end }) => ({ bytes: transfer.bytes, delivered: end.delivered, endAtMs: end.atMs, receivedBytes: net.receivedBytes(transfer) })),
    uploaded: hosts.map((_, host) => net.uploadedBytes(host)),
    downloaded: hosts.map((_, host) => net.downloadedBytes(host)),
  }
}
