import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PieceBook, RANDOM_FIRST_PIECES } from './bittorrent-pieces.js'
import { Tracker } from './bittorrent-tracker.js'
import { createRandom } from './random.js'

const TEST = { timeout: 5_000 }

function holding(pieces: readonly number[], count: number): Uint8Array {
  const have = new Uint8Array(count)
  for (const piece of pieces) have[piece] = 1
  return have
}

const never = (): boolean => false

describe('PieceBook', TEST, () => {
  it('picks at random among what the neighbour holds until it has a few pieces', TEST, () => {
    const random = createRandom(1)
    const picked = new Set<number>()
    for (let round = 0; round < 200; round++) {
      const book = new PieceBook(10, false)
      book.availability.set([9, 9, 9, 9, 9, 9, 9, 9, 1, 1])
      picked.add(book.pick(holding([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10), never, random))
    }
    assert.ok(picked.size > 5, `random first pieces ${[...picked].join(' ')}`)
  })

  it('then picks the rarest piece the neighbour holds that it lacks and fetches from no one', TEST, () => {
    const random = createRandom(2)
    const book = new PieceBook(10, false)
    for (let piece = 0; piece < RANDOM_FIRST_PIECES; piece++) book.add(piece)
    book.availability.set([1, 1, 1, 1, 5, 3, 2, 1, 4, 6])
    book.addSource(7)
    const remote = holding([0, 4, 5, 6, 7, 8], 10)
    for (let round = 0; round < 20; round++) assert.equal(book.pick(remote, never, random), 6)
    assert.equal(book.pick(holding([0, 1, 7], 10), never, random), -1, 'nothing new, or only what is under way')
  })

  it('enters endgame once every missing piece is under way, asking each of at most two neighbours', TEST, () => {
    const random = createRandom(3)
    const book = new PieceBook(6, false)
    for (const piece of [0, 1, 2, 3]) book.add(piece)
    book.addSource(4)
    assert.equal(book.inEndgame, false)
    book.addSource(5)
    book.addSource(5)
    assert.equal(book.inEndgame, true)
    const remote = holding([0, 1, 2, 3, 4, 5], 6)
    assert.equal(book.pick(remote, never, random), 4, 'piece 5 has two sources already')
    assert.equal(book.pick(remote, (piece) => piece === 4, random), -1, 'piece 4 is already asked of this neighbour')
    book.add(4)
    book.removeSource(4)
    book.add(5)
    assert.equal(book.complete, true)
    assert.equal(book.inEndgame, false)
  })
})

describe('Tracker', TEST, () => {
  it('lists distinct other hosts in the swarm, up to the count asked', TEST, () => {
    const tracker = new Tracker(createRandom(4))
    for (let host = 0; host < 1000; host++) tracker.add(host)
    for (let host = 0; host < 1000; host += 2) tracker.remove(host)
    const listed = tracker.announce(1, 50)
    assert.equal(listed.length, 50)
    assert.equal(new Set(listed).size, 50)
    assert.ok(listed.every((host) => host % 2 === 1 && host !== 1))
    const small = new Tracker(createRandom(5))
    for (const host of [1, 2, 3]) small.add(host)
    assert.deepEqual(small.announce(2, 50).sort(), [1, 3])
  })
})
