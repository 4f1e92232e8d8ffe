import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PieceSpread } from './piece-spread.js'

const TEST = { timeout: 5_000 }

describe('PieceSpread', TEST, () => {
  it('sends every held piece once before any piece twice, counting uploads in progress', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 10 })
    const task = { finishedPieceCount: 3 }
    assert.equal(spread.claim(task, 0), 'send')
    assert.equal(spread.claim(task, 0), 'defer', 'piece 0 is on its way to another child')
    spread.finished(task, 0, true)
    assert.equal(spread.claim(task, 0), 'defer', 'pieces 1 and 2 have not gone out')
    assert.equal(spread.claim(task, 1), 'send')
    assert.equal(spread.claim(task, 2), 'send')
    assert.equal(spread.claim(task, 0), 'send', 'every piece went out once: the second round starts')
    assert.equal(spread.claim(task, 0), 'defer', 'piece 0 is ahead of the others again')
    assert.equal(spread.claim(task, 1), 'send')
  })

  it('counts only the pieces the seed holds: a seed still fetching serves what it has', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 10 })
    const task = { finishedPieceCount: 1 }
    assert.equal(spread.claim(task, 0), 'send')
    assert.equal(spread.claim(task, 0), 'send', 'the only piece held may go to a second child')
    task.finishedPieceCount = 2
    assert.equal(spread.claim(task, 0), 'defer', 'piece 1 arrived and has not gone out')
  })

  it('gives the count back when an upload fails, so the piece is not held back for it', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 10 })
    const task = { finishedPieceCount: 2 }
    assert.equal(spread.claim(task, 0), 'send')
    spread.finished(task, 0, false)
    assert.equal(spread.claim(task, 0), 'send')
  })

  it('sends at most uploadsPerTask pieces of one task at once, tasks apart', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 2 })
    const task = { finishedPieceCount: 8 }
    const other = { finishedPieceCount: 8 }
    assert.equal(spread.claim(task, 0), 'send')
    assert.equal(spread.claim(task, 1), 'send')
    assert.equal(spread.claim(task, 2), 'busy')
    assert.equal(spread.claim(other, 0), 'send')
    spread.finished(task, 1, true)
    assert.equal(spread.claim(task, 2), 'send')
  })
})
