import type { PeerId } from '../../protocol/ids.js'
import type { ParentOffer, SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import type { ChoiceParent, PieceChoice } from './piece-choice.js'

/** The scheduler's answers that offer parents or pieces. */
export type OfferAnswer = Extract<SchedulerAnswer, { kind: 'parents' | 'pieces-available' }>

/**
 * What the scheduler offers a child, applied to its PieceChoice: parents (none the child
 * blocklisted), the pieces each holds, and each piece's digest, the only digest the piece is
 * checked against. Parents also tell the child of their new pieces themselves (`announced`), often
 * before the scheduler's digest of the piece arrives: a piece is asked of a parent only once its
 * digest is known, and one announced earlier is held back until then. The daemon's parent
 * download and the swarm simulator's both take offers through this one class.
 */
export class ParentOffers<About> {
  private readonly digests = new Map<number, string>()
  /** Per piece whose digest has not come yet, the parents that hold it. */
  private readonly awaitingDigest = new Map<number, Array<ChoiceParent<About>>>()

  constructor(
    private readonly components: { readonly choice: PieceChoice<About> },
    private readonly init: {
      readonly blocklist: ReadonlySet<PeerId>
      /** What the download needs to reach a parent it was offered. */
      readonly about: (offer: ParentOffer) => About
      /** Called once for each parent the child takes on. */
      readonly onParent?: ((parent: ChoiceParent<About>) => void) | undefined
    },
  ) {}

  /** The scheduler's digest of piece `number`, if it sent one. */
  digest(number: number): string | undefined {
    return this.digests.get(number)
  }

  apply(answer: OfferAnswer): void {
    const { choice } = this.components
    if (answer.kind === 'parents') {
      for (const offer of answer.parents) {
        if (this.init.blocklist.has(offer.peerId)) continue
        const known = choice.parent(offer.peerId)
        const parent = known ?? choice.addParent(offer.peerId, { seed: offer.seed, about: this.init.about(offer) })
        if (known === undefined) this.init.onParent?.(parent)
        this.addPieces(parent, offer.pieceNumbers)
      }
    } else {
      for (const { peerId, pieceNumbers } of answer.parents) this.announced(peerId, pieceNumbers)
    }
    // A later digest of a piece replaces an earlier one: the scheduler sends one again only after it dropped its record.
    for (const { number, digest } of answer.digests) {
      this.digests.set(number, digest)
      const holders = this.awaitingDigest.get(number)
      if (holders === undefined) continue
      this.awaitingDigest.delete(number)
      for (const parent of holders) if (choice.parent(parent.peerId) === parent) choice.addPieces(parent, [number])
    }
  }

  /** Parent `peerId` holds these pieces, by its own word or the scheduler's; ignored once the child dropped it. */
  announced(peerId: PeerId, numbers: readonly number[]): void {
    const parent = this.components.choice.parent(peerId)
    if (parent !== undefined) this.addPieces(parent, numbers)
  }

  private addPieces(parent: ChoiceParent<About>, numbers: readonly number[]): void {
    const checkable: number[] = []
    for (const number of numbers) {
      if (this.digests.has(number)) {
        checkable.push(number)
        continue
      }
      const holders = this.awaitingDigest.get(number)
      if (holders === undefined) this.awaitingDigest.set(number, [parent])
      else if (!holders.includes(parent)) holders.push(parent)
    }
    this.components.choice.addPieces(parent, checkable)
  }
}
