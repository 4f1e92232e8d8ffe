import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodePieceBitfield, encodePieceBitfield } from './piece-bitfield.js'

const TEST = { timeout: 5_000 }

describe('piece bitfield', TEST, () => {
  it('lists piece 0 as the high bit of the first byte, and decodes what it encodes', TEST, () => {
    const held = new Set([0, 7, 8, 18])
    const bitfield = encodePieceBitfield(19, (number) => held.has(number))
    assert.deepEqual([...bitfield], [0b1000_0001, 0b1000_0000, 0b0010_0000])
    assert.deepEqual(decodePieceBitfield(bitfield, 19), [0, 7, 8, 18])
    assert.deepEqual(decodePieceBitfield(encodePieceBitfield(0, () => true), 0), [])
    const earlier = encodePieceBitfield(19, (number) => number === 7 || number === 18)
    assert.deepEqual(decodePieceBitfield(bitfield, 19, earlier), [0, 8], 'only what the earlier one did not list')
  })

  it('refuses a bitfield of the wrong length, or one that lists a piece past the task\'s end', TEST, () => {
    assert.throws(() => decodePieceBitfield(Buffer.alloc(2), 19), /a piece bitfield of 2 bytes does not fit a task of 19 pieces/)
    assert.throws(() => decodePieceBitfield(Buffer.alloc(3), 19, Buffer.alloc(4)), /of 4 bytes does not fit/)
    assert.throws(() => decodePieceBitfield(Buffer.from([0, 0, 0b0001_0000]), 19), /lists piece 19 of a task of 19 pieces/)
  })
})
