import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { HostId, PeerId } from '../../protocol/ids.js'
import type { ParentOffer } from '../scheduler-client/scheduler-answers.js'
import { ParentOffers } from './parent-offers.js'
import { PieceChoice } from './piece-choice.js'

const TEST = { timeout: 1_000 }

function offer(name: string, pieceNumbers: readonly number[]): ParentOffer {
  return { peerId: name as PeerId, hostId: `host-${name}` as HostId, ip: `10.0.0.${name.length}`, uploadPort: 4000, seed: false, uploadTls: true, pieceNumbers }
}

function digests(...numbers: number[]): Array<{ number: number; digest: string }> {
  return numbers.map((number) => ({ number, digest: `sha256:${number}` }))
}

function setUp(blocklist: ReadonlySet<PeerId> = new Set()): { choice: PieceChoice<string>; offers: ParentOffers<string>; taken: string[] } {
  const choice = new PieceChoice<string>({ concurrentPieceCount: 4, pieceLengthBytes: 1024, random: () => 0.5 }, [0, 1, 2, 3, 4])
  const taken: string[] = []
  const offers = new ParentOffers({ choice }, { blocklist, about: (parent) => parent.ip, onParent: (parent) => taken.push(parent.peerId) })
  return { choice, offers, taken }
}

function piecesOf(choice: PieceChoice<string>, name: string): number[] {
  return [...(choice.parent(name as PeerId)?.pieces ?? [])].sort()
}

describe('ParentOffers', () => {
  it('adds the offered parents with the pieces whose digests came with them, once each', TEST, () => {
    const { choice, offers, taken } = setUp()
    offers.apply({ kind: 'parents', task: undefined, capability: undefined, parents: [offer('a', [0, 1, 2])], digests: digests(0, 1) })
    const parent = choice.parent('a' as PeerId)
    assert.equal(parent?.about, '10.0.0.1')
    assert.deepEqual(piecesOf(choice, 'a'), [0, 1])
    assert.equal(offers.digest(1), 'sha256:1')
    assert.equal(offers.digest(2), undefined)
    offers.apply({ kind: 'parents', task: undefined, capability: undefined, parents: [offer('a', [3])], digests: digests(3) })
    assert.deepEqual(piecesOf(choice, 'a'), [0, 1, 3])
    assert.deepEqual(taken, ['a'], 'a parent offered again is the same parent')
  })

  it('holds back a piece announced before its digest until the digest comes, and forgets it for a dropped parent', TEST, () => {
    const { choice, offers } = setUp()
    offers.apply({ kind: 'parents', task: undefined, capability: undefined, parents: [offer('a', []), offer('bb', [])], digests: [] })
    offers.announced('a' as PeerId, [2, 3])
    offers.announced('bb' as PeerId, [3])
    offers.announced('stranger' as PeerId, [3])
    assert.deepEqual(piecesOf(choice, 'a'), [], 'nothing is asked for before its digest is known')
    const bb = choice.parent('bb' as PeerId)
    assert.ok(bb)
    choice.dropParent(bb)
    offers.apply({ kind: 'pieces-available', parents: [], digests: digests(3) })
    assert.deepEqual(piecesOf(choice, 'a'), [3])
    assert.equal(choice.parent('bb' as PeerId), undefined)
    assert.equal(choice.parent('stranger' as PeerId), undefined)
    offers.apply({ kind: 'pieces-available', parents: [{ peerId: 'a' as PeerId, pieceNumbers: [2] }], digests: digests(2) })
    assert.deepEqual(piecesOf(choice, 'a'), [2, 3])
  })

  it('never adds a parent the child blocklisted', TEST, () => {
    const { choice, offers } = setUp(new Set(['bad' as PeerId]))
    offers.apply({ kind: 'parents', task: undefined, capability: undefined, parents: [offer('bad', [0]), offer('good', [0])], digests: digests(0) })
    assert.equal(choice.parent('bad' as PeerId), undefined)
    assert.ok(choice.parent('good' as PeerId))
  })

  it('gives known parents their new pieces, ignores unknown ones, and takes a later digest over an earlier one', TEST, () => {
    const { choice, offers } = setUp()
    offers.apply({ kind: 'parents', task: undefined, capability: undefined, parents: [offer('a', [])], digests: [] })
    offers.apply({ kind: 'pieces-available', parents: [{ peerId: 'a' as PeerId, pieceNumbers: [3] }, { peerId: 'stranger' as PeerId, pieceNumbers: [4] }], digests: digests(3, 4) })
    assert.deepEqual([...(choice.parent('a' as PeerId)?.pieces ?? [])], [3])
    assert.equal(choice.parent('stranger' as PeerId), undefined)
    offers.apply({ kind: 'pieces-available', parents: [], digests: [{ number: 3, digest: 'sha256:again' }] })
    assert.equal(offers.digest(3), 'sha256:again')
  })
})
