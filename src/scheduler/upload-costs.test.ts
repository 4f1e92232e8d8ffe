import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from './resource-fixtures.js'
import { UploadCosts } from './upload-costs.js'

const TEST = { timeout: 5_000 }

describe('UploadCosts: the bad-node rule', TEST, () => {
  const steady30 = Array.from({ length: 30 }, (_, i) => 100 + (i % 3) * 10)
  const cases: ReadonlyArray<{ name: string; costsMs: number[]; anomalous: boolean }> = [
    { name: 'no samples', costsMs: [], anomalous: false },
    { name: 'one sample', costsMs: [1_000_000], anomalous: false },
    { name: 'exactly 20x the mean', costsMs: [10, 10, 200], anomalous: false },
    { name: 'above 20x the mean', costsMs: [10, 10, 201], anomalous: true },
    { name: '30+ samples within 3 sigma', costsMs: [...steady30, 125], anomalous: false },
    { name: '30+ samples beyond 3 sigma though below 20x', costsMs: [...steady30, 150], anomalous: true },
  ]
  for (const { name, costsMs, anomalous } of cases) {
    it(`${name}: ${anomalous}`, TEST, () => {
      const costs = new UploadCosts()
      for (const costMs of costsMs) costs.record(costMs)
      assert.equal(costs.lastIsAnomalous(), anomalous)
    })
  }
})

describe('UploadCosts: running sums against the whole list', TEST, () => {
  /** The rule computed from every cost, as a list of them would. */
  function fromList(costsMs: readonly number[]): boolean {
    if (costsMs.length < 2) return false
    const last = costsMs[costsMs.length - 1] ?? 0
    const earlier = costsMs.slice(0, -1)
    const mean = earlier.reduce((sum, cost) => sum + cost, 0) / earlier.length
    if (costsMs.length < 30) return last > mean * 20
    const variance = earlier.reduce((sum, cost) => sum + (cost - mean) ** 2, 0) / earlier.length
    return last > mean + 3 * Math.sqrt(variance)
  }

  it('agrees after every upload of a long, noisy history', TEST, () => {
    const random = seededRandom(11)
    const costs = new UploadCosts()
    const list: number[] = []
    let anomalies = 0
    for (let i = 0; i < 400; i++) {
      const costMs = Math.round(50 + random() * 100 + (random() < 0.05 ? 2_000 * random() : 0))
      costs.record(costMs)
      list.push(costMs)
      assert.equal(costs.lastIsAnomalous(), fromList(list), `after ${list.length} uploads`)
      if (fromList(list)) anomalies++
    }
    assert.ok(anomalies > 0, 'the history holds anomalies to agree on')
    assert.equal(costs.count, 400)
  })
})
