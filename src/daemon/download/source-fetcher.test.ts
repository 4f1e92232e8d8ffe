import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MIB } from '../../protocol/piece.js'
import { MAX_SOURCE_RANGE_BYTES, sourceRuns, type SourceRun } from './source-fetcher.js'

function allRuns(missing: readonly number[], workerCount: number, pieceLengthBytes: number): SourceRun[] {
  const next = sourceRuns(missing, workerCount, pieceLengthBytes)
  const runs: SourceRun[] = []
  for (let run = next(); run !== undefined; run = next()) runs.push(run)
  return runs
}

describe('sourceRuns', { timeout: 5_000 }, () => {
  it('cuts long runs while much is left, and single pieces at the end', { timeout: 1_000 }, () => {
    const missing = Array.from({ length: 40 }, (_, n) => n)
    const runs = allRuns(missing, 4, MIB)
    const maxRunPieces = MAX_SOURCE_RANGE_BYTES / MIB
    assert.deepEqual(runs[0], { first: 0, last: maxRunPieces - 1 })
    assert.deepEqual(runs.at(-1), { first: 39, last: 39 })
    assert.deepEqual(runs.flatMap(({ first, last }) => Array.from({ length: last - first + 1 }, (_, n) => first + n)), missing)
  })

  it('never joins pieces across a gap, and asks for one piece at a time when pieces are as long as a range', { timeout: 1_000 }, () => {
    assert.deepEqual(allRuns([0, 1, 5, 6], 1, MIB), [{ first: 0, last: 1 }, { first: 5, last: 6 }])
    assert.deepEqual(allRuns([0, 1, 2], 1, MAX_SOURCE_RANGE_BYTES), [{ first: 0, last: 0 }, { first: 1, last: 1 }, { first: 2, last: 2 }])
  })
})
