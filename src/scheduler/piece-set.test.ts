import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PieceSet } from './piece-set.js'

const TEST = { timeout: 5_000 }

describe('PieceSet', TEST, () => {
  it('holds what a Set<number> holds, iterated in ascending order', TEST, () => {
    const pieces = new PieceSet()
    const reference = new Set<number>()
    let state = 12_345
    for (let i = 0; i < 2_000; i++) {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648
      const number = state % 700
      assert.equal(pieces.add(number), !reference.has(number), `add(${number})`)
      reference.add(number)
    }
    assert.equal(pieces.size, reference.size)
    assert.deepEqual([...pieces], [...reference].sort((a, b) => a - b))
    for (let number = 0; number < 760; number++) assert.equal(pieces.has(number), reference.has(number), `has(${number})`)
  })

  it('keeps the bits at a word\'s edges apart, and forgets everything on clear', TEST, () => {
    const pieces = new PieceSet()
    for (const number of [0, 29, 30, 59, 60, 89, 1_000]) pieces.add(number)
    assert.deepEqual([...pieces], [0, 29, 30, 59, 60, 89, 1_000])
    assert.equal(pieces.has(31), false)
    assert.equal(pieces.add(29), false, 'a second add changes nothing')
    assert.equal(pieces.size, 7)
    pieces.clear()
    assert.equal(pieces.size, 0)
    assert.deepEqual([...pieces], [])
    assert.equal(pieces.has(0), false)
  })
})
