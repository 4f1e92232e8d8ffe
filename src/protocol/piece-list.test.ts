import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodePieceList, PieceListReader } from './piece-list.js'

const TEST = { timeout: 5_000 }

describe('piece list', TEST, () => {
  it('reads back what it encodes, in chunks cut anywhere', TEST, () => {
    const numbers = [7, 0, 300, 65_536, 19]
    const list = encodePieceList(numbers)
    assert.equal(list.length, 20)
    for (const cut of [1, 3, 4, 5, 7, 20]) {
      const reader = new PieceListReader(70_000)
      const read: number[] = []
      for (let at = 0; at < list.length; at += cut) read.push(...reader.read(list.subarray(at, at + cut)))
      assert.deepEqual(read, numbers, `chunks of ${cut}`)
    }
  })

  it('refuses a number that is no piece of the task', TEST, () => {
    assert.throws(() => new PieceListReader(19).read(encodePieceList([3, 19])), /a piece list names piece 19 of a task of 19 pieces/)
  })
})
