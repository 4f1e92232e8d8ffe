import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cpuLoad, cpuLoadSentence, cpuSecondsPerGiB, lastIncludingStartupMs, originLinkBusyShare, pace, ratioText, roundCpuMs } from './round-figures.js'

const TEST = { timeout: 10_000 }
const MIB = 1024 ** 2

describe('round figures', TEST, () => {
  it('counts the last host from the first process when start-up is included', () => {
    assert.equal(lastIncludingStartupMs({ startupMs: 2500, lastDoneMs: 7500 }), 10_000)
  })

  it('divides CPU seconds by the GiB delivered to all hosts together', () => {
    for (const { cpuMs, hosts, sizeBytes, expected } of [
      { cpuMs: 8000, hosts: 4, sizeBytes: 256 * MIB, expected: 8 },
      { cpuMs: 1000, hosts: 16, sizeBytes: 64 * MIB, expected: 1 },
      { cpuMs: 0, hosts: 2, sizeBytes: 512 * MIB, expected: 0 },
    ]) {
      assert.equal(cpuSecondsPerGiB(cpuMs, { hosts, sizeBytes }), expected, `${cpuMs} ms over ${hosts} x ${sizeBytes}`)
    }
    assert.equal(cpuSecondsPerGiB(undefined, { hosts: 4, sizeBytes: MIB }), undefined, 'unknown CPU time stays unknown')
    assert.equal(cpuSecondsPerGiB(1000, { hosts: 4, sizeBytes: 0 }), undefined, 'nothing delivered has no rate')
  })

  it('adds start-up and fetch CPU only when both are known', () => {
    assert.equal(roundCpuMs({ startupCpuMs: 300, fetchCpuMs: 700 }), 1000)
    assert.equal(roundCpuMs({ startupCpuMs: undefined, fetchCpuMs: 700 }), undefined)
  })

  it('bands the machine load at 25% and 90%', () => {
    for (const [share, band] of [[0, 'idle'], [0.249, 'idle'], [0.25, 'busy'], [0.899, 'busy'], [0.9, 'cpu-bound'], [1, 'cpu-bound']] as const) {
      assert.equal(cpuLoad(share), band, `${share}`)
    }
  })

  it('calls a round CPU-bound or idle only inside those bands, and always states the figure', () => {
    const cases = [
      { machine: 0.99, own: 0.9, says: /99% busy .*: CPU-bound, so this time says as much about the 2 cores/, never: /idle/ },
      { machine: 0.1, own: 0.08, says: /10% busy .*: the cores were mostly idle/, never: /CPU-bound/ },
      { machine: 0.6, own: 0.55, says: /60% busy .*not saturated/, never: /CPU-bound|idle/ },
    ]
    for (const { machine, own, says, never } of cases) {
      const sentence = cpuLoadSentence({ machineBusyShare: machine, scenarioBusyShare: own }, { cores: 2, originLinkShare: 0.5 }) ?? ''
      assert.match(sentence, says)
      assert.doesNotMatch(sentence, never)
    }
    assert.equal(cpuLoadSentence({ machineBusyShare: undefined, scenarioBusyShare: 0.5 }, { cores: 2, originLinkShare: 0.5 }), undefined, 'no measurement, no sentence')
  })

  it('says how much of the load was not the scenario\'s only when that share is notable', () => {
    assert.match(cpuLoadSentence({ machineBusyShare: 0.95, scenarioBusyShare: 0.3 }, { cores: 2, originLinkShare: 0.5 }) ?? '', /65% was not charged to them/)
    assert.doesNotMatch(cpuLoadSentence({ machineBusyShare: 0.95, scenarioBusyShare: 0.9 }, { cores: 2, originLinkShare: 0.5 }) ?? '', /not charged/)
  })

  it('never calls a round CPU-bound while the origin link was saturated, and names the link instead', () => {
    const sentence = cpuLoadSentence({ machineBusyShare: 0.99, scenarioBusyShare: 0.05 }, { cores: 2, originLinkShare: 0.99 }) ?? ''
    assert.match(sentence, /99% busy .*but the origin's link was 99% busy sending: the link, not the CPU, set the pace/)
    assert.doesNotMatch(sentence, /CPU-bound/)
    assert.equal(pace(0.99, 0.949), 'cpu-bound')
    assert.equal(pace(0.1, 0.95), 'origin-link')
  })

  it('measures the origin link against its rate until the last host was done', () => {
    // 100mbit = 12.5 MB/s; 10 s.
    assert.equal(originLinkBusyShare({ originLinkBytes: 62_500_000, lastDoneMs: 10_000 }, { originRate: '100mbit' }), 0.5)
  })

  it('writes ratios with two decimals and refuses a missing or zero divisor', () => {
    assert.equal(ratioText(7.2, 8), '0.90x')
    assert.equal(ratioText(3, 0), undefined)
    assert.equal(ratioText(undefined, 2), undefined)
  })
})
