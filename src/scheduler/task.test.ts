import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../common/logger.js'
import { Task, type PieceRecord } from './task.js'
import { TASK_ID } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }
const GOOD = '1'.repeat(64)
const BAD = '2'.repeat(64)

function piece(digest: string, number = 0): PieceRecord {
  return { number, offset: number * 4, length: 4, digest }
}

describe('Task.recordPiece: the first source report is the authority', TEST, () => {
  const cases: ReadonlyArray<{ name: string; reports: ReadonlyArray<readonly [string, boolean]>; outcomes: readonly string[]; authority: string | undefined }> = [
    { name: 'a source report is recorded', reports: [[GOOD, true]], outcomes: ['recorded'], authority: GOOD },
    { name: 'the same digest again matches', reports: [[GOOD, true], [GOOD, true], [GOOD, false]], outcomes: ['recorded', 'matches', 'matches'], authority: GOOD },
    { name: 'a later source report that differs is refused', reports: [[GOOD, true], [BAD, true]], outcomes: ['recorded', 'mismatch'], authority: GOOD },
    { name: 'a child report that differs is refused', reports: [[GOOD, true], [BAD, false]], outcomes: ['recorded', 'mismatch'], authority: GOOD },
    { name: 'a child report without authority is unverified and records nothing', reports: [[BAD, false], [GOOD, true]], outcomes: ['unverified', 'recorded'], authority: GOOD },
  ]
  for (const { name, reports, outcomes, authority } of cases) {
    it(name, TEST, () => {
      const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
      assert.deepEqual(reports.map(([digest, fromSource]) => task.recordPiece(piece(digest), fromSource)), outcomes)
      assert.equal(task.piece(0)?.digest, authority)
    })
  }

  it('keeps pieces apart by number', TEST, () => {
    const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
    assert.equal(task.recordPiece(piece(GOOD, 0), true), 'recorded')
    assert.equal(task.recordPiece(piece(BAD, 1), true), 'recorded')
    assert.equal(task.piece(1)?.digest, BAD)
    assert.equal(task.piece(2), undefined)
  })

  it('knows its piece count once both lengths are known', TEST, () => {
    const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
    assert.equal(task.pieceCount, undefined)
    task.contentLengthBytes = 10
    assert.equal(task.pieceCount, undefined)
    task.pieceLengthBytes = 4
    assert.equal(task.pieceCount, 3)
  })
})
