import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_WEIGHTS, locationScore, WeightedEvaluator } from './evaluator.js'
import type { Peer } from './peer.js'
import { Resources } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }

describe('WeightedEvaluator', TEST, () => {
  it('uses weights summing to 1', TEST, () => {
    const sum = Object.values(DEFAULT_WEIGHTS).reduce((a, b) => a + b, 0)
    assert.ok(Math.abs(sum - 1) < 1e-9)
  })

  const cases: ReadonlyArray<{ name: string; better: (r: Resources) => Peer; worse: (r: Resources) => Peer; total?: number }> = [
    {
      name: 'more finished pieces',
      better: (r) => r.peer('better', r.host('h1'), { pieces: [0, 1, 2] }),
      worse: (r) => r.peer('worse', r.host('h2'), { pieces: [0] }),
      total: 4,
    },
    {
      name: 'more finished pieces while the total is unknown',
      better: (r) => r.peer('better', r.host('h1'), { pieces: [0, 1] }),
      worse: (r) => r.peer('worse', r.host('h2'), { pieces: [0] }),
    },
    {
      name: 'fewer upload failures',
      better: (r) => r.peer('better', r.host('h1'), { pieces: [0] }),
      worse: (r) => {
        const peer = r.peer('worse', r.host('h2'), { pieces: [0] })
        peer.recordUpload('failed')
        return peer
      },
    },
    {
      name: 'more free upload slots',
      better: (r) => r.peer('better', r.host('h1', {}, { concurrentUploadLimit: 10, concurrentUploadCount: 1 }), { pieces: [0] }),
      worse: (r) => r.peer('worse', r.host('h2', {}, { concurrentUploadLimit: 10, concurrentUploadCount: 9 }), { pieces: [0] }),
    },
    {
      name: 'a running seed over a normal host',
      better: (r) => r.peer('better', r.host('seed', { seed: true }), { pieces: [0], state: 'running' }),
      worse: (r) => r.peer('worse', r.host('h2'), { pieces: [0], state: 'running' }),
    },
    {
      name: 'a normal host over a finished seed',
      better: (r) => r.peer('better', r.host('h1'), { pieces: [0], state: 'succeeded' }),
      worse: (r) => r.peer('worse', r.host('seed', { seed: true }), { pieces: [0], state: 'succeeded' }),
    },
    {
      name: 'the same IDC',
      better: (r) => r.peer('better', r.host('h1', { idc: 'idc-1' }), { pieces: [0] }),
      worse: (r) => r.peer('worse', r.host('h2', { idc: 'idc-2' }), { pieces: [0] }),
    },
    {
      name: 'a longer location prefix',
      better: (r) => r.peer('better', r.host('h1', { location: 'eu|de|berlin' }), { pieces: [0] }),
      worse: (r) => r.peer('worse', r.host('h2', { location: 'eu|fr|paris' }), { pieces: [0] }),
    },
  ]
  for (const { name, better, worse, total } of cases) {
    it(`prefers ${name}`, TEST, () => {
      const r = new Resources()
      const child = r.peer('child', r.host('child-host', { idc: 'idc-1', location: 'eu|de|munich' }))
      const evaluator = new WeightedEvaluator()
      const a = evaluator.score(child, better(r), total)
      const b = evaluator.score(child, worse(r), total)
      assert.ok(a > b, `${a} should exceed ${b}`)
    })
  }

  it('takes other weights through its constructor', TEST, () => {
    const r = new Resources()
    const child = r.peer('child', r.host('c', { idc: 'x' }))
    const parent = r.peer('parent', r.host('p', { idc: 'x' }), { pieces: [0] })
    const onlyIdc = new WeightedEvaluator({ finishedPieces: 0, uploadSuccess: 0, freeUploadSlots: 0, hostType: 0, idc: 1, location: 0 })
    assert.equal(onlyIdc.score(child, parent, 1), 1)
  })
})

describe('locationScore', TEST, () => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ['', 'eu', 0],
    ['eu|de', 'eu|de', 1],
    ['eu|de|berlin', 'eu|de|munich', 0.4],
    ['eu|de', 'us|de', 0],
    ['a|b|c|d|e|f', 'a|b|c|d|e|g', 1],
    ['eu', 'eu|de', 0.2],
    ['eu|de', 'eu', 0.2],
    ['eu|d', 'eu|de', 0.2],
    ['a||b', 'a||c', 0.4],
    ['|x', '|y', 0.2],
  ]
  for (const [a, b, expected] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)} → ${expected}`, TEST, () => {
      const r = new Resources()
      const child = r.peer('child', r.host('c', { location: a }))
      const parent = r.peer('parent', r.host('p', { location: b }))
      assert.equal(locationScore(child, parent), expected)
    })
  }
})
