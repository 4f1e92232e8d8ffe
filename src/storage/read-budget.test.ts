import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_READ_BUDGET, ReadBudget } from './read-budget.js'

const KiB = 1024

describe('ReadBudget', { timeout: 5_000 }, () => {
  const cases: ReadonlyArray<{ open: number; chunkBytes: number }> = [
    { open: 0, chunkBytes: 256 * KiB },
    { open: 1, chunkBytes: 256 * KiB },
    { open: 32, chunkBytes: 256 * KiB },
    { open: 33, chunkBytes: 248 * KiB },
    { open: 64, chunkBytes: 128 * KiB },
    { open: 500, chunkBytes: 16 * KiB },
    { open: 5000, chunkBytes: 16 * KiB },
  ]
  for (const { open, chunkBytes } of cases) {
    it(`gives each of ${open} open streams ${chunkBytes / KiB} KiB at a time, in whole pages`, () => {
      const budget = new ReadBudget(DEFAULT_READ_BUDGET)
      for (let n = 0; n < open; n++) budget.open()
      assert.equal(budget.chunkBytes(), chunkBytes)
    })
  }

  it('grows the chunks again as streams close, and counts a close once', () => {
    const budget = new ReadBudget({ budgetBytes: 1024 * KiB, minChunkBytes: 4 * KiB, maxChunkBytes: 1024 * KiB })
    const closes = Array.from({ length: 4 }, () => budget.open())
    assert.equal(budget.chunkBytes(), 256 * KiB)
    closes[0]?.()
    closes[0]?.()
    assert.equal(budget.chunkBytes(), 340 * KiB)
    for (const close of closes) close()
    assert.equal(budget.chunkBytes(), 1024 * KiB)
  })
})
