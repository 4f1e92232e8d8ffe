import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DAEMON_DEFAULTS } from '../../src/daemon/config.js'
import { MIB } from '../../src/protocol/piece.js'
import { daemonConfigWith } from './daemon-settings.js'
import { damselflyWith } from './damselfly.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { equalLinks, GBIT } from './scenario.js'

const TEST = { timeout: 60_000 }

describe('swarm-sim daemon settings', () => {
  it('changes the settings named by their path and keeps every other default', TEST, () => {
    const config = daemonConfigWith({ 'download.concurrentPieceCount': 16, 'seedPeer.taskUploadLimit': 3 })
    assert.equal(config.download.concurrentPieceCount, 16)
    assert.equal(config.seedPeer.taskUploadLimit, 3)
    assert.equal(config.upload.concurrentLimit, DAEMON_DEFAULTS.upload.concurrentLimit)
    assert.equal(daemonConfigWith({}).download.concurrentPieceCount, DAEMON_DEFAULTS.download.concurrentPieceCount)
  })

  it('names every path that is no setting, and a value the daemon would refuse, as dfdaemon does for its flags', TEST, () => {
    assert.throws(() => daemonConfigWith({ 'download.piecesInFlight': 4, 'upload.concurrentLimt': 1 }),
      /^DamselflyError: invalid configuration: download\.piecesInFlight: unknown key; upload\.concurrentLimt: unknown key \(did you mean concurrentLimit\?\)$/)
    assert.throws(() => daemonConfigWith({ upload: 3 }), /invalid configuration: upload: /)
    assert.throws(() => daemonConfigWith({ 'upload.concurrentLimit.x': 1 }), /invalid configuration: upload\.concurrentLimit: /)
    assert.throws(() => daemonConfigWith({ upload: 3, 'upload.concurrentLimit': 2 }), /^Error: daemon setting upload is given a value and also holds upload\.concurrentLimit$/)
    assert.throws(() => daemonConfigWith({ 'download.concurrentPieceCount': 0 }), /download\.concurrentPieceCount/)
  })

  it('reaches the simulated daemons', TEST, async () => {
    const scenario = equalLinks({ hosts: 8, sizeBytes: 16 * MIB, rateBitsPerSecond: 1 * GBIT, seed: 5 })
    const run = async (swarm = damselflyWith({})) => {
      const loop = new EventLoop()
      return swarm.run(scenario, loop, new Network(loop, { overhead: 1 }))
    }
    const lastMs = (result: Awaited<ReturnType<typeof run>>) => Math.max(...result.hosts.filter((host) => !host.seed).map((host) => host.finishedAtMs ?? Infinity))
    const usual = await run()
    // One piece at a time from the seed, one at a time per child: the file takes longer to spread.
    const narrow = await run(damselflyWith({ daemonSettings: { 'seedPeer.taskUploadLimit': 1, 'download.concurrentPieceCount': 1 } }))
    assert.ok(lastMs(narrow) > lastMs(usual), `the last host came at ${lastMs(narrow)} ms with the narrow settings, ${lastMs(usual)} ms with the defaults`)
  })
})
