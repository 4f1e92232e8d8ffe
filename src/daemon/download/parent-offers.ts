import type { Logger } from '../../common/logger.js'
import type { PeerId } from '../../protocol/ids.js'
import type { ParentOffer, SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import type { ChoiceParent, PieceChoice } from './piece-choice.js'

/** The scheduler's answers that offer parents or pieces. */
export type OfferAnswer = Extract<SchedulerAnswer, { kind: 'parents' | 'pieces-available' }>

/**
 * What the scheduler offers a child, applied to its PieceChoice: parents (none the child
 * blocklisted), the pieces each holds, and each piece's digest, the only digest the piece is
 * checked against. A piece is asked of a parent only once its digest is known. The daemon's
 * parent download and the swarm simulator's both take offers through this one class.
 */
export class ParentOffers<About> {
  private readonly digests = new Map<number, string>()

  constructor(
    private readonly components: { readonly choice: PieceChoice<About>; readonly logger?: Logger | undefined },
    private readonly init: {
      readonly blocklist: ReadonlySet<PeerId>
      /** What the download needs to reach a parent it was offered. */
      readonly about: (offer: ParentOffer) => About
    },
  ) {}

  /** The scheduler's digest of piece `number`, if it sent one. */
  digest(number: number): string | undefined {
    return this.digests.get(number)
  }

  apply(answer: OfferAnswer): void {
    // A later digest of a piece replaces an earlier one: the scheduler sends one again only after it dropped its record.
    for (const { number, digest } of answer.digests) this.digests.set(number, digest)
    const { choice } = this.components
    if (answer.kind === 'parents') {
      for (const offer of answer.parents) {
        if (this.init.blocklist.has(offer.peerId)) continue
        this.addPieces(choice.addParent(offer.peerId, { seed: offer.seed, about: this.init.about(offer) }), offer.pieceNumbers)
      }
      return
    }
    for (const { peerId, pieceNumbers } of answer.parents) {
      const parent = choice.parent(peerId)
      if (parent !== undefined) this.addPieces(parent, pieceNumbers)
    }
  }

  private addPieces(parent: ChoiceParent<About>, numbers: readonly number[]): void {
    const checkable = numbers.filter((number) => this.digests.has(number))
    this.components.choice.addPieces(parent, checkable)
    const unchecked = numbers.length - checkable.length
    if (unchecked > 0) this.components.logger?.warn({ parent: parent.peerId, pieces: unchecked }, 'the scheduler named pieces without their digests; not fetching them')
  }
}
