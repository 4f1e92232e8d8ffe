import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MIB } from '../../src/protocol/piece.js'
import { classFigures, jainIndex, percentile, runReport, summaryTable, swarmFigures, type SwarmRun } from './report.js'
import { equalLinks, GBIT, heterogeneousLinks, type HostResult, type Scenario } from './scenario.js'

const SCENARIO: Scenario = equalLinks({ hosts: 4, sizeBytes: 8 * MIB, rateBitsPerSecond: 1 * GBIT, seed: 3 })

function host(id: number, fields: Partial<HostResult>): HostResult {
  return { host: id, seed: false, finishedAtMs: undefined, left: false, uploadedBytes: 0, downloadedBytes: 8 * MIB, fromOriginBytes: 0, ...fields }
}

/** The scenario's seed peer (host 1) and its four hosts (2 to 5), finishing at 100, 200, 300 and 400 ms. */
function run(swarm: string, lastFields: Partial<HostResult> = {}): SwarmRun {
  return {
    swarm,
    wallMs: 1234,
    result: {
      hosts: [
        host(1, { seed: true, uploadedBytes: 16 * MIB, downloadedBytes: 8 * MIB }),
        host(2, { finishedAtMs: 100, uploadedBytes: 8 * MIB }),
        host(3, { finishedAtMs: 200, uploadedBytes: 8 * MIB }),
        host(4, { finishedAtMs: 300, uploadedBytes: 0 }),
        host(5, { finishedAtMs: 400, uploadedBytes: 0, ...lastFields }),
      ],
      originEgressBytes: 8 * MIB,
      seedEgressBytes: 16 * MIB,
      schedulerDecisions: 8,
      simulatedMs: 2_000,
      events: 50_000,
    },
  }
}

describe('swarm-sim report', { timeout: 5_000 }, () => {
  it('takes nearest-rank percentiles', { timeout: 1_000 }, () => {
    assert.equal(percentile([], 0.5), undefined)
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2)
    assert.equal(percentile([1, 2, 3, 4], 0.99), 4)
    assert.equal(percentile(Array.from({ length: 100 }, (_, n) => n + 1), 0.99), 99)
  })

  it('scores equal uploads 1 and one host doing everything 1/n', { timeout: 1_000 }, () => {
    assert.equal(jainIndex([2, 2, 2, 2]), 1)
    assert.equal(jainIndex([4, 0, 0, 0]), 0.25)
    assert.equal(jainIndex([0, 0]), 1)
  })

  it('computes a run\'s figures from its hosts and its scenario', { timeout: 1_000 }, () => {
    const figures = swarmFigures(SCENARIO, run('damselfly'))
    assert.equal(figures.staying, 4)
    assert.equal(figures.unfinished, 0)
    assert.equal(figures.medianMs, 200)
    assert.equal(figures.p99Ms, 400)
    assert.equal(figures.lastMs, 400)
    assert.equal(figures.originEgressShare, 1)
    assert.equal(figures.seedEgressShare, 2)
    assert.deepEqual(figures.upload, { min: 0, median: 0, max: 1, jain: 0.5 })
    assert.equal(figures.decisionsPerSecond, 4)
    assert.ok(figures.boundMs > 0)
    assert.equal(figures.ownBoundRatio.p99, 400 / figures.boundMs, 'with equal links and everyone there at 0, a host\'s own bound is S/d, the run\'s bound here')
  })

  it('gives no last host while a staying host is unfinished, and leaves hosts that left out', { timeout: 1_000 }, () => {
    assert.equal(swarmFigures(SCENARIO, run('damselfly', { finishedAtMs: undefined })).lastMs, undefined)
    const left = swarmFigures(SCENARIO, run('damselfly', { finishedAtMs: undefined, left: true }))
    assert.equal(left.lastMs, 300)
    assert.equal(left.left, 1)
    assert.equal(left.unfinished, 0)
  })

  it('writes a table per run and a summary line per run', { timeout: 1_000 }, () => {
    const outcome = { spec: { scenario: 'equal-links' as const, hosts: 4, sizeBytes: 8 * MIB }, scenario: SCENARIO, runs: [run('damselfly'), run('bittorrent', { finishedAtMs: 800 })] }
    const table = runReport(outcome)
    assert.match(table, /^### equal-links, N = 4 × 8\.0 MiB/)
    assert.match(table, /\| Damselfly \(real scheduler\) \| 0\.20 s \| 0\.40 s \| 0\.40 s \|/)
    assert.match(table, /Damselfly's last host \/ the baseline's: 0\.50x\./)
    const summary = summaryTable([outcome], ['damselfly', 'bittorrent']).split('\n')
    assert.equal(summary.length, 3)
    assert.match(summary[2] ?? '', /^\| equal-links \| 4 \| 8\.0 MiB \|/)
  })

  it('groups hosts by downlink rate, slowest first, each against its own bound, where the rates differ', { timeout: 1_000 }, () => {
    const mixed = heterogeneousLinks({ hosts: 4, sizeBytes: 8 * MIB, ratesBitsPerSecond: [1 * GBIT, 10 * GBIT], seed: 3 })
    const downloaders = mixed.hosts.filter((each) => !each.seed)
    const slow = downloaders.filter((each) => each.links.downBytesPerMs < 1_000_000)
    const results = [
      host(1, { seed: true }),
      ...downloaders.map((each, index) => host(each.id, { finishedAtMs: slow.includes(each) ? 100 + index : undefined })),
    ]
    const outcome = { spec: { scenario: 'heterogeneous-links' as const, hosts: 4, sizeBytes: 8 * MIB }, scenario: mixed, runs: [{ ...run('damselfly'), result: { ...run('damselfly').result, hosts: results } }] }
    const classes = classFigures(mixed, outcome.runs[0] as SwarmRun)
    assert.equal(classes.length, 2)
    assert.ok((classes[0]?.downBytesPerMs ?? 0) < (classes[1]?.downBytesPerMs ?? 0))
    assert.equal(classes[0]?.staying, slow.length)
    assert.equal(classes[0]?.unfinished, 0)
    assert.equal(classes[1]?.unfinished, downloaders.length - slow.length)
    assert.equal(classes[1]?.medianMs, undefined)
    assert.match(runReport(outcome), /By downlink rate:[\s\S]*\| Damselfly \(real scheduler\) \| 1 Gbit\/s \|/)
    assert.doesNotMatch(runReport({ spec: { scenario: 'equal-links' as const, hosts: 4, sizeBytes: 8 * MIB }, scenario: SCENARIO, runs: [run('damselfly')] }), /By downlink rate/)
  })
})
