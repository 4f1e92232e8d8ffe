import type { Peer } from './peer.js'

/** Ranks candidate parents for a child. Higher is better; only the order matters. */
export interface Evaluator {
  /** `totalPieceCount` is undefined while the task's length is unknown. Pure: safe to repeat. */
  score(child: Peer, parent: Peer, totalPieceCount: number | undefined): number
}

export type EvaluatorWeights = Readonly<Record<'finishedPieces' | 'uploadSuccess' | 'freeUploadSlots' | 'hostType' | 'idc' | 'location', number>>

/** Dragonfly's older default weights; they sum to 1. */
export const DEFAULT_WEIGHTS: EvaluatorWeights = {
  finishedPieces: 0.2,
  uploadSuccess: 0.2,
  freeUploadSlots: 0.15,
  hostType: 0.15,
  idc: 0.15,
  location: 0.15,
}

const MAX_LOCATION_ELEMENTS = 5
const SEPARATOR_CODE = '|'.charCodeAt(0)

export function finishedPiecesScore(child: Peer, parent: Peer, totalPieceCount: number | undefined): number {
  if (totalPieceCount !== undefined && totalPieceCount > 0) return parent.finishedPieces.size / totalPieceCount
  // Without a total, how far the parent is ahead of the child stands in.
  return parent.finishedPieces.size - child.finishedPieces.size
}

export function uploadSuccessScore(parent: Peer): number {
  const attempts = parent.uploadSuccessCount + parent.uploadFailureCount
  return attempts === 0 ? 1 : parent.uploadSuccessCount / attempts
}

export function freeUploadSlotsScore(parent: Peer): number {
  const limit = parent.host.load.concurrentUploadLimit
  return limit > 0 ? parent.host.freeUploadSlots / limit : 0
}

/** A seed still downloading is the best parent of a fresh task; once done, ordinary peers are preferred. */
export function hostTypeScore(parent: Peer): number {
  if (!parent.host.seed) return 0.5
  return parent.state === 'running' || parent.state === 'back-to-source' ? 1 : 0
}

export function idcScore(child: Peer, parent: Peer): number {
  const idc = child.host.info.idc
  return idc !== '' && idc === parent.host.info.idc ? 1 : 0
}

/**
 * The share of leading `|`-separated elements two locations have in common, of at most five.
 * Compares in place: it runs for every candidate of every decision, where splitting both
 * locations cost two arrays and their strings each time.
 */
export function locationScore(child: Peer, parent: Peer): number {
  const a = child.host.info.location
  const b = parent.host.info.location
  if (a === '' || b === '') return 0
  if (a === b) return 1
  let common = 0
  let start = 0
  while (common < MAX_LOCATION_ELEMENTS) {
    let end = start
    while (end < a.length && end < b.length && a.charCodeAt(end) === b.charCodeAt(end) && a.charCodeAt(end) !== SEPARATOR_CODE) end++
    const aEnds = end === a.length || a.charCodeAt(end) === SEPARATOR_CODE
    const bEnds = end === b.length || b.charCodeAt(end) === SEPARATOR_CODE
    if (!aEnds || !bEnds) break
    common++
    if (end === a.length || end === b.length) break
    start = end + 1
  }
  return common / MAX_LOCATION_ELEMENTS
}

/** The default evaluator: a weighted sum of the six scores above. */
export class WeightedEvaluator implements Evaluator {
  constructor(private readonly weights: EvaluatorWeights = DEFAULT_WEIGHTS) {}

  score(child: Peer, parent: Peer, totalPieceCount: number | undefined): number {
    const w = this.weights
    return (
      w.finishedPieces * finishedPiecesScore(child, parent, totalPieceCount) +
      w.uploadSuccess * uploadSuccessScore(parent) +
      w.freeUploadSlots * freeUploadSlotsScore(parent) +
      w.hostType * hostTypeScore(parent) +
      w.idc * idcScore(child, parent) +
      w.location * locationScore(child, parent)
    )
  }
}
