import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PeerId } from '../../protocol/ids.js'
import { BUSY_BACKOFF_MS, DEFERRED_BACKOFF_MS, ENDGAME_CHECK_MS, PieceChoice, perParentInFlight } from './piece-choice.js'

const PIECE_BYTES = 1024

/** A generator that hands out the given values in turn, then repeats them. */
function draws(...values: number[]): () => number {
  let next = 0
  return () => values[next++ % values.length] ?? 0
}

function choice(options: { pieces: number; slots?: number; random?: () => number }): PieceChoice<string> {
  const missing = Array.from({ length: options.pieces }, (_, n) => n)
  return new PieceChoice<string>({ concurrentPieceCount: options.slots ?? 4, pieceLengthBytes: PIECE_BYTES, random: options.random ?? draws(0.5) }, missing)
}

function parentOf(pieces: PieceChoice<string>, name: string, holds: readonly number[], seed = false): ReturnType<PieceChoice<string>['addParent']> {
  const parent = pieces.addParent(name as PeerId, { seed, about: name })
  pieces.addPieces(parent, holds)
  return parent
}

function named(assigned: ReadonlyArray<{ number: number; parent: { about: string } }>): string[] {
  return assigned.map(({ number, parent }) => `${number}@${parent.about}`)
}

describe('PieceChoice', { timeout: 5_000 }, () => {
  it('fetches the rarest held pieces first, at most as many as there are slots', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 6, slots: 2 })
    parentOf(pieces, 'a', [0, 1, 2, 3])
    parentOf(pieces, 'b', [0, 1, 4])
    const assigned = pieces.assign(0)
    // 2, 3 and 4 have one holder each; a may be asked for one piece of the two slots, so b's 4 comes next.
    assert.deepEqual(assigned.map(({ number }) => number).sort(), [2, 4])
    assert.equal(pieces.inFlightCount, 2)
    assert.deepEqual(pieces.assign(0), [], 'no free slot, nothing more')
  })

  it('breaks ties between equally rare pieces with the injected random draws', { timeout: 1_000 }, () => {
    const first = choice({ pieces: 3, slots: 1, random: draws(0.9, 0.1, 0.5) })
    parentOf(first, 'a', [0, 1, 2])
    assert.deepEqual(first.assign(0).map(({ number }) => number), [1])
    const second = choice({ pieces: 3, slots: 1, random: draws(0.1, 0.9, 0.5) })
    parentOf(second, 'a', [0, 1, 2])
    assert.deepEqual(second.assign(0).map(({ number }) => number), [0])
  })

  it('asks the holder with the least in flight, then the fastest', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 4, slots: 4 })
    const slow = parentOf(pieces, 'slow', [0, 1, 2, 3])
    const fast = parentOf(pieces, 'fast', [0, 1, 2, 3])
    slow.speed = 1
    fast.speed = 5
    // Equal load: the faster first; then the other, whose load is now lower; and so on by turns.
    assert.deepEqual(named(pieces.assign(0)).map((name) => name.split('@')[1]), ['fast', 'slow', 'fast', 'slow'])
    assert.equal(fast.inFlight, 2)
    assert.equal(slow.inFlight, 2)
  })

  it('spreads the slots evenly over the parents that are not seeds', { timeout: 1_000 }, () => {
    const cases = [
      { slots: 8, parents: 9, perParent: 1 },
      { slots: 8, parents: 8, perParent: 1 },
      { slots: 8, parents: 4, perParent: 2 },
      { slots: 8, parents: 3, perParent: 3 },
      { slots: 8, parents: 1, perParent: 8 },
      { slots: 8, parents: 0, perParent: 8 },
    ]
    for (const { slots, parents, perParent } of cases) assert.equal(perParentInFlight(slots, parents), perParent, `${slots} slots over ${parents} parents`)
  })

  it('asks no parent for more than its share of the slots, even when it alone holds the rarest pieces', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 6, slots: 4 })
    const fresh = parentOf(pieces, 'fresh', [0, 1, 2, 3, 4, 5])
    const b = parentOf(pieces, 'b', [0, 1])
    const c = parentOf(pieces, 'c', [0, 1])
    const assigned = named(pieces.assign(0))
    assert.equal(assigned.length, 4)
    assert.equal(fresh.inFlight, 2, 'ceil(4 slots / 3 parents): two of its four rarest pieces, not all four')
    assert.equal(b.inFlight + c.inFlight, 2)
    assert.deepEqual(assigned.filter((name) => name.endsWith('@fresh')).map((name) => Number(name.split('@')[0])).sort(), [2, 3])

    pieces.settled(2)
    pieces.stored(2, fresh, PIECE_BYTES, 1)
    assert.deepEqual(named(pieces.assign(1)), ['4@fresh'], 'a freed share goes to the next rarest piece')
  })

  it('gives a seed beside one other parent no share of that parent\'s slots', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 8, slots: 4 })
    const seed = parentOf(pieces, 'seed', [0, 1, 2, 3, 4, 5, 6, 7], true)
    const peer = parentOf(pieces, 'peer', [0, 1, 2, 3, 4, 5, 6, 7])
    assert.equal(pieces.assign(0).length, 4)
    assert.equal(seed.inFlight, 1)
    assert.equal(peer.inFlight, 3, 'the peer is the only parent that is not a seed: all the slots may go to it')
  })

  it('asks a seed for one piece at a time beside other parents, and for three when it is the only one', { timeout: 1_000 }, () => {
    const alone = choice({ pieces: 8, slots: 8 })
    const loneSeed = parentOf(alone, 'seed', [0, 1, 2, 3, 4, 5, 6, 7], true)
    assert.equal(alone.assign(0).length, 3)
    assert.equal(loneSeed.inFlight, 3)

    const shared = choice({ pieces: 8, slots: 8 })
    const seed = parentOf(shared, 'seed', [0, 1, 2, 3, 4, 5, 6, 7], true)
    parentOf(shared, 'peer', [0])
    const assigned = named(shared.assign(0))
    assert.equal(seed.inFlight, 1)
    assert.ok(assigned.includes('0@peer'), 'a piece a peer holds goes to the peer, not the seed (the seed counts as busier)')
    assert.equal(assigned.length, 2)
  })

  it('leaves a busy parent alone until its rest ends, and says when to look again', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 2, slots: 2 })
    const parent = parentOf(pieces, 'a', [0, 1])
    pieces.busy(parent, 100)
    assert.deepEqual(pieces.assign(100), [])
    assert.equal(pieces.nextLookMs(100), 100 + BUSY_BACKOFF_MS)
    assert.equal(pieces.assign(100 + BUSY_BACKOFF_MS).length, 2)
  })

  it('asks others for a piece a parent deferred, and that parent again once the deferral ends', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 1, slots: 1 })
    const seed = parentOf(pieces, 'seed', [0], true)
    pieces.deferred(seed, 0, 0)
    assert.deepEqual(pieces.assign(0), [])
    assert.equal(pieces.nextLookMs(0), DEFERRED_BACKOFF_MS)
    parentOf(pieces, 'peer', [0])
    assert.deepEqual(named(pieces.assign(0)), ['0@peer'])
    pieces.settled(0)
    assert.deepEqual(named(pieces.assign(DEFERRED_BACKOFF_MS)), ['0@peer'], 'the peer is less loaded than the seed')
  })

  it('follows a streaming reader: from its head on, in order, in a short window', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 40, slots: 2, random: draws(0.3) })
    parentOf(pieces, 'a', Array.from({ length: 40 }, (_, n) => 39 - n))
    // With equal rarity and equal draws the window keeps its order: ascending from the head.
    assert.deepEqual(pieces.assign(0, () => 10).map(({ number }) => number), [10, 11])
  })

  it('stops choosing pieces only a dropped parent held', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 3, slots: 3 })
    const dropped = parentOf(pieces, 'a', [0, 1])
    parentOf(pieces, 'b', [1, 2])
    pieces.dropParent(dropped)
    pieces.dropParent(dropped)
    assert.equal(pieces.parent('a' as PeerId), undefined)
    assert.deepEqual(named(pieces.assign(0)).sort(), ['1@b', '2@b'])
  })

  it('takes a stored piece off the missing set and into the parent\'s speed', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 2, slots: 1 })
    const parent = parentOf(pieces, 'a', [0, 1])
    const [first] = pieces.assign(0)
    assert.ok(first !== undefined)
    pieces.stored(first.number, parent, PIECE_BYTES, 4)
    pieces.settled(first.number)
    assert.equal(pieces.missingCount, 1)
    assert.equal(parent.delivered, 1)
    assert.equal(parent.speed, PIECE_BYTES / 4)
    assert.equal(parent.inFlight, 0)
    pieces.stored(1, parent, PIECE_BYTES, 1)
    assert.equal(parent.speed, (PIECE_BYTES / 4) * 0.7 + PIECE_BYTES * 0.3)
  })

  it('drops a parent on its second failure', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 1 })
    const parent = parentOf(pieces, 'a', [0])
    assert.equal(pieces.failed(parent), false)
    assert.equal(pieces.failed(parent), true)
  })

  it('in the endgame, moves a piece whose parent sends nothing to a parent that holds it', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 2, slots: 1 })
    const stuck = parentOf(pieces, 'stuck', [0])
    const third = parentOf(pieces, 'third', [1])
    assert.deepEqual(named(pieces.assign(0)), ['0@stuck'])
    // Two pieces missing, one in flight: not the endgame yet.
    assert.equal(pieces.inEndgame, false)
    assert.deepEqual(pieces.piecesToMove(5_000, () => 0), [])
    pieces.stored(1, third, PIECE_BYTES, 1)
    assert.equal(pieces.inEndgame, true)
    assert.equal(pieces.nextLookMs(0), ENDGAME_CHECK_MS)
    assert.deepEqual(pieces.piecesToMove(500, () => 0), [], 'no other parent holds piece 0')
    // A parent that delivered nothing yet: only a stall moves the piece to it.
    parentOf(pieces, 'other', [0])
    assert.deepEqual(pieces.piecesToMove(900, () => 0), [], 'not stalled for long enough yet')
    assert.deepEqual(pieces.piecesToMove(1_000, () => 0), [0])
    assert.equal(stuck.deferredUntilMs.get(0), 1_000 + DEFERRED_BACKOFF_MS)
    pieces.settled(0)
    assert.deepEqual(named(pieces.assign(1_000)), ['0@other'])
  })

  it('in the endgame, moves a piece that a proven parent would deliver in under half the time left', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 1, slots: 1 })
    const slow = parentOf(pieces, 'slow', [0])
    const fast = parentOf(pieces, 'fast', [0])
    slow.speed = 10
    fast.speed = 1
    assert.deepEqual(named(pieces.assign(0)), ['0@slow'])
    fast.delivered = 1
    fast.speed = PIECE_BYTES / 10
    // A tenth of the piece in 100 ms: 900 ms left, against 10 ms from the fast parent.
    assert.deepEqual(pieces.piecesToMove(100, () => PIECE_BYTES / 10), [0])
    assert.equal(pieces.askedOf(0), slow)
  })

  it('in the endgame, leaves a piece that has received nothing yet with its parent until it stalls', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 1, slots: 1 })
    const asked = parentOf(pieces, 'asked', [0])
    const proven = parentOf(pieces, 'proven', [0])
    asked.speed = 10
    assert.deepEqual(named(pieces.assign(0)), ['0@asked'])
    proven.delivered = 1
    proven.speed = PIECE_BYTES
    // The request is on its way: no byte yet, whatever the other parent did before.
    assert.deepEqual(pieces.piecesToMove(1, () => 0), [])
    assert.deepEqual(pieces.piecesToMove(999, () => 0), [])
    assert.deepEqual(pieces.piecesToMove(1_000, () => 0), [0], 'nothing for a second is a stall')
  })

  it('looks again only on an event when nobody rests and the endgame is far', { timeout: 1_000 }, () => {
    const pieces = choice({ pieces: 8, slots: 2 })
    parentOf(pieces, 'a', [0, 1, 2])
    pieces.assign(0)
    assert.equal(pieces.nextLookMs(0), Infinity)
  })
})
