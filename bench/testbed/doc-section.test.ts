import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ackShareSentence, docSection, frameOverheadSentence, loadSummary, type DocContext } from './doc-section.js'
import { fakeRound, fakeRun, MIB } from './testbed-fixtures.js'

const TEST = { timeout: 10_000 }
const CONTEXT: DocContext = {
  args: ['--hosts', '4', '--size', '64MiB'],
  measuredAt: new Date('2026-01-02T03:04:05Z'),
  machine: '2 CPUs (test)',
  cores: 2,
  elapsedMs: 95_000,
  hostRate: '100mbit',
  originRate: '100mbit',
}

describe('testbed doc section', TEST, () => {
  it('calls rounds CPU-bound, by name and figure, when the machine was that busy', () => {
    const outcomes = [fakeRun([fakeRound('curl', { machineBusyShare: 0.07, scenarioBusyShare: 0.05 }), fakeRound('damselfly', { machineBusyShare: 0.98, scenarioBusyShare: 0.9 })])]
    const summary = loadSummary(outcomes, { cores: 2 }).join(' ')
    assert.match(summary, /^1 of 2 rounds had the machine at least 90% busy during the fetches with the origin's link not saturated \(damselfly at N=4 × 64\.0 MiB: 98%\): their times are CPU-bound/)
    assert.doesNotMatch(summary, /idle|out of the way/)
  })

  it('does not call a busy round CPU-bound when the origin link was saturated', () => {
    // 268 MiB in 22.4 s is the whole of 100mbit.
    const saturated = fakeRound('curl', { machineBusyShare: 0.97, scenarioBusyShare: 0.04, originLinkBytes: 268 * MIB, lastDoneMs: 22_400 })
    const summary = loadSummary([fakeRun([saturated, fakeRound('bittorrent', { machineBusyShare: 0.3 })])], { cores: 2 }).join(' ')
    assert.match(summary, /^1 of 2 rounds had the machine at least 90% busy \(curl at N=4 × 64\.0 MiB: 97%\) but the origin's link at least 95% busy sending, so the link set their pace\./)
    assert.doesNotMatch(summary, /CPU-bound|No round/)
  })

  it('calls the cores idle only when every round left them so', () => {
    const idle = [fakeRun([fakeRound('curl', { machineBusyShare: 0.07 }), fakeRound('bittorrent', { machineBusyShare: 0.2 })])]
    assert.match(loadSummary(idle, { cores: 2 })[0]!, /^Every round left the cores mostly idle .*the busiest, bittorrent at N=4 × 64\.0 MiB, 20%/)
    const middling = [fakeRun([fakeRound('curl', { machineBusyShare: 0.07 }), fakeRound('bittorrent', { machineBusyShare: 0.6 })])]
    const sentence = loadSummary(middling, { cores: 2 })[0]!
    assert.match(sentence, /^No round had the machine 90% busy .*bittorrent at N=4 × 64\.0 MiB at 60%/)
    assert.doesNotMatch(sentence, /idle/)
  })

  it('says the load is unknown rather than guess it', () => {
    const summary = loadSummary([fakeRun([fakeRound('curl', { machineBusyShare: undefined, scenarioBusyShare: undefined })])], { cores: 2 })
    assert.deepEqual(summary, ["The machine's CPU load was not measured (no /proc/stat), so nothing here says whether a time was CPU-bound."])
  })

  it('gives the uncharged share from the round where it was largest', () => {
    const outcomes = [fakeRun([fakeRound('curl', { machineBusyShare: 0.9, scenarioBusyShare: 0.1 }), fakeRound('damselfly', { machineBusyShare: 0.95, scenarioBusyShare: 0.85 })])]
    assert.match(loadSummary(outcomes, { cores: 2 }).join(' '), /Up to 80% of the cores were busy during a round's fetches with work not charged to its processes/)
  })

  it('states header overhead and ACK share only from curl rounds the run had', () => {
    const withCurl = [fakeRun([fakeRound('curl', { originLinkBytes: 267.8 * MIB, originBodyBytes: 256 * MIB, hostUploadBytes: [0.1 * MIB, 0.3 * MIB, 0.2 * MIB, 0] })])]
    assert.deepEqual(frameOverheadSentence(withCurl), ["In this run, curl's origin link carried 1.046x its HTTP body bytes, the price of the headers."])
    assert.match(ackShareSentence(withCurl)[0]!, /the most any host sent was 0\.005x the file/)
    const withoutCurl = [fakeRun([fakeRound('damselfly')])]
    assert.deepEqual(frameOverheadSentence(withoutCurl), [])
    assert.deepEqual(ackShareSentence(withoutCurl), [])
  })

  it('writes no fixed claim about the CPU, and the run\'s own duration and command', () => {
    const section = docSection([fakeRun([fakeRound('damselfly', { machineBusyShare: 0.99, scenarioBusyShare: 0.9 })])], CONTEXT)
    assert.doesNotMatch(section, /out of the way|roughly 45 minutes/)
    assert.match(section, /Measured 2026-01-02T03:04:05\.000Z on 2 CPUs \(test\); the run took 95 s\./)
    assert.match(section, /Command: `node --import tsx bench\/testbed\/run\.ts --hosts 4 --size 64MiB`/)
    assert.match(section, /CPU-bound/)
    assert.match(section, /Damselfly computes its piece length from the size \(64\.0 MiB: 1\.0 MiB\)/)
    assert.doesNotMatch(section, /curl's origin link carried/, 'no curl round, no overhead figure')
    assert.doesNotMatch(section, / {2}\S.* {2}\S/, 'no doubled space where a sentence was left out')
  })
})
