import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runReport, versusBitTorrent } from './report.js'
import { fakeRound, fakeRun, MIB } from './testbed-fixtures.js'

const TEST = { timeout: 10_000 }

function tableRows(markdown: string): string[] {
  return markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| target'))
}

describe('testbed report', TEST, () => {
  it('gives every row as many cells as the header, a failed scenario included', () => {
    const run = fakeRun([fakeRound('curl'), fakeRound('bittorrent')])
    const withFailure = { ...run, scenarios: [...run.scenarios, { name: 'damselfly' as const, rounds: [], failure: 'boom' }] }
    const rows = tableRows(runReport(withFailure, { cores: 2 }))
    const cells = (line: string): number => line.split('|').length
    assert.equal(rows.length, 4, 'header and three scenarios')
    for (const row of rows) assert.equal(cells(row), cells(rows[0]!), row)
  })

  it('times the last host from running and including start-up, each against the bound', () => {
    const run = fakeRun([fakeRound('damselfly', { lastDoneMs: 10_800, startupMs: 5400 })])
    const row = tableRows(runReport(run, { cores: 2 }))[1]!
    // 64 MiB at 100mbit: the bound is 5.4 s.
    assert.match(row, /\| 10\.8 s \| 16\.2 s \|/)
    assert.match(row, new RegExp(`\\| ${(10_800 / run.bound.boundMs).toFixed(2)}x \\| ${(16_200 / run.bound.boundMs).toFixed(2)}x \\|`))
  })

  it('reports every scenario\'s origin egress from the origin link, never the HTTP server\'s count', () => {
    const run = fakeRun([fakeRound('curl', { originLinkBytes: 268 * MIB, originBodyBytes: 256 * MIB }), fakeRound('damselfly', { originLinkBytes: 70 * MIB, originBodyBytes: 64 * MIB })])
    const rows = tableRows(runReport(run, { cores: 2 }))
    assert.match(rows[1]!, /\| 268\.0 MiB \(4\.19x\) \|/)
    assert.match(rows[2]!, /\| 70\.0 MiB \(1\.09x\) \|/)
  })

  it('gives CPU-seconds per GiB for the fetches and the whole round, and n/a when unmeasured', () => {
    // 4 hosts x 64 MiB = 0.25 GiB; 6 s fetches + 3 s start-up.
    const run = fakeRun([fakeRound('bittorrent'), fakeRound('curl', { fetchCpuMs: undefined, startupCpuMs: undefined })])
    const [, measured, unmeasured] = tableRows(runReport(run, { cores: 2 }))
    assert.match(measured!, /\| 24\.00 \| 36\.00 \| 50% \(40%\) \|$/)
    assert.match(unmeasured!, /\| n\/a \| n\/a \| 50% \(40%\) \|$/)
  })

  it('puts Damselfly against aria2 on both clocks, and says nothing without both', () => {
    const damselfly = fakeRound('damselfly', { lastDoneMs: 9000, startupMs: 3000 })
    const bittorrent = fakeRound('bittorrent', { lastDoneMs: 10_000, startupMs: 500 })
    assert.deepEqual(versusBitTorrent(fakeRun([bittorrent, damselfly])), ["Damselfly's last host / aria2's: 0.90x from running and announced, 1.14x including start-up."])
    assert.deepEqual(versusBitTorrent(fakeRun([damselfly])), [])
  })

  it('says a round was CPU-bound only when the machine was that busy', () => {
    const busy = runReport(fakeRun([fakeRound('damselfly', { machineBusyShare: 0.99, scenarioBusyShare: 0.95 })]), { cores: 2 })
    const quiet = runReport(fakeRun([fakeRound('damselfly', { machineBusyShare: 0.12, scenarioBusyShare: 0.1 })]), { cores: 2 })
    assert.match(busy, /99% busy during the fetches.*CPU-bound/)
    assert.doesNotMatch(quiet, /CPU-bound/)
    assert.match(quiet, /12% busy during the fetches.*mostly idle/)
  })

  it('notes the start-up only for scenarios that start something beforehand', () => {
    const report = runReport(fakeRun([fakeRound('curl', { startupMs: 2 }), fakeRound('damselfly', { startupMs: 4200 })]), { cores: 2 })
    assert.equal(report.match(/start-up \(first process started/g)?.length, 1)
    assert.match(report, /took 4\.2 s, using 3\.0 CPU-s with the machine 60% busy/)
  })

  it('checks the targets on the link counter at N=16 x 256 MiB only', () => {
    const target = fakeRun([fakeRound('damselfly', { originLinkBytes: 270 * MIB }), fakeRound('bittorrent')], { hosts: 16, sizeBytes: 256 * MIB })
    assert.match(runReport(target, { cores: 2 }), /origin egress \(origin link, tc, frame headers included\) \/ file size \| 1\.05x/)
    assert.doesNotMatch(runReport(fakeRun([fakeRound('damselfly')]), { cores: 2 }), /\| target/)
  })
})
