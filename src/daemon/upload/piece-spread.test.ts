import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PieceSpread } from './piece-spread.js'

const TEST = { timeout: 5_000 }

describe('PieceSpread', TEST, () => {
  it('sends every held piece once before any piece twice, counting uploads in progress', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 10 })
    const task = { finishedPieceCount: 3, complete: true }
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
    const task = { finishedPieceCount: 1, complete: false }
    assert.equal(spread.claim(task, 0), 'send')
    assert.equal(spread.claim(task, 0), 'send', 'the only piece held may go to a second child')
    task.finishedPieceCount = 2
    assert.equal(spread.claim(task, 0), 'defer', 'piece 1 arrived and has not gone out')
  })

  it('gives the count back when an upload fails, so the piece is not held back for it', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 10 })
    const task = { finishedPieceCount: 2, complete: true }
    assert.equal(spread.claim(task, 0), 'send')
    spread.finished(task, 0, false)
    assert.equal(spread.claim(task, 0), 'send')
  })

  it('sends at most uploadsPerTask pieces of one task at once, tasks apart', TEST, () => {
    const spread = new PieceSpread({ uploadsPerTask: 2 })
    const task = { finishedPieceCount: 8, complete: true }
    const other = { finishedPieceCount: 8, complete: true }
    assert.equal(spread.claim(task, 0), 'send')
    assert.equal(spread.claim(task, 1), 'send')
    assert.equal(spread.claim(task, 2), 'busy')
    assert.equal(spread.claim(other, 0), 'send')
    spread.finished(task, 1, true)
    assert.equal(spread.claim(task, 2), 'send')
  })

  describe('tasks sharing the seed\'s uplink (an image\'s layers)', TEST, () => {
    /** A small layer the seed holds whole and sent once, and a large one it still fetches, piece 0 going out. */
    function layers(): { spread: PieceSpread; small: { finishedPieceCount: number; complete: boolean }; large: { finishedPieceCount: number; complete: boolean } } {
      const spread = new PieceSpread({ uploadsPerTask: 8 })
      const small = { finishedPieceCount: 2, complete: true }
      const large = { finishedPieceCount: 3, complete: false }
      for (const number of [0, 1]) {
        assert.equal(spread.claim(small, number), 'send')
        spread.finished(small, number, true)
      }
      assert.equal(spread.claim(large, 0), 'send')
      return { spread, small, large }
    }

    it('sends no second copy while a task being fetched holds pieces that have not gone out', TEST, () => {
      const { spread, small, large } = layers()
      assert.equal(spread.claim(small, 0), 'defer', 'pieces 1 and 2 of the large layer wait for their first copies')
      assert.equal(spread.claim(large, 1), 'send')
      assert.equal(spread.claim(large, 2), 'send')
      assert.equal(spread.claim(small, 0), 'send', 'every piece held of the large layer is out')
    })

    it('sends second copies again once the fetch is done or no piece of that task goes out', TEST, () => {
      const done = layers()
      done.large.complete = true
      assert.equal(done.spread.claim(done.small, 0), 'send')
      const idle = layers()
      idle.spread.finished(idle.large, 0, true)
      assert.equal(idle.spread.claim(idle.small, 0), 'send', 'nobody is taking the large layer from the seed right now')
    })
  })
})
