import { isIP } from 'node:net'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { AnnouncePeerResponse, CandidateParent, PieceDigest as WirePieceDigest, TaskInfo } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId } from '../../protocol/ids.js'
import { TINY_TASK_MAX_BYTES } from '../../protocol/piece.js'

// Decoded protobuf is well-typed but not trusted: a scheduler's answers are checked here, once,
// and the download works with these types only.

/** The scheduler's digest of a piece: lowercase hex sha256, the only digest the piece is checked against. */
export interface PieceDigest {
  readonly number: number
  readonly digest: string
}

/** A parent the scheduler offers: where its upload server is, and which pieces it holds. */
export interface ParentOffer {
  readonly peerId: PeerId
  readonly hostId: HostId
  /** An IP address literal (IPv4 or IPv6) or a DNS name, as the parent announced it. */
  readonly ip: string
  readonly uploadPort: number
  readonly seed: boolean
  /** Its upload server speaks TLS; otherwise requests to it are signed. */
  readonly uploadTls: boolean
  readonly pieceNumbers: readonly number[]
}

/** The lengths the scheduler knows for the task. */
export interface TaskLengths {
  readonly contentLengthBytes: number
  readonly pieceLengthBytes: number
}

/** What one parent finished since the scheduler last said. */
export interface ParentPieces {
  readonly peerId: PeerId
  readonly pieceNumbers: readonly number[]
}

/** A scheduler's answer on a peer's stream, checked; see proto/damselfly/scheduler/v1/scheduler.proto. */
export type SchedulerAnswer =
  | { readonly kind: 'registered'; readonly protocolRevision: number }
  | { readonly kind: 'empty-task' }
  | { readonly kind: 'tiny-task'; readonly content: Buffer }
  | {
    readonly kind: 'parents'
    /** Undefined when the scheduler does not know them yet: the download then asks the source. */
    readonly task: TaskLengths | undefined
    readonly parents: readonly ParentOffer[]
    /** What the parents want to see; undefined from a scheduler without identities. */
    readonly capability: string | undefined
    readonly digests: readonly PieceDigest[]
  }
  | { readonly kind: 'pieces-available'; readonly parents: readonly ParentPieces[]; readonly digests: readonly PieceDigest[] }
  | { readonly kind: 'back-to-source'; readonly reason: string }
  | { readonly kind: 'schedule-failed'; readonly reason: string }
  /** The origin's final answer to a seed that asked it the same; relayed-source-failure.ts reads it. */
  | { readonly kind: 'source-failed'; readonly code: string; readonly sourceStatus: number; readonly reason: string }

const MAX_ID_LENGTH = 512
const MAX_TEXT_LENGTH = 1000
const SHA256_HEX = /^[0-9a-f]{64}$/
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

function malformed(message: string): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', `the scheduler sent a malformed answer: ${message}`)
}

function id(value: string, what: string): string {
  if (value === '' || value.length > MAX_ID_LENGTH) throw malformed(`${what} must be 1 to ${MAX_ID_LENGTH} characters`)
  return value
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw malformed(`${what} must be a non-negative integer, got ${value}`)
  return value
}

/** A reason or message from the scheduler, for logs and errors: cut short. */
function text(value: string): string {
  return value.slice(0, MAX_TEXT_LENGTH)
}

function pieceNumbers(numbers: readonly number[], what: string): number[] {
  return numbers.map((number) => count(number, what))
}

function digests(list: readonly WirePieceDigest[]): PieceDigest[] {
  return list.map(({ number, digest }) => {
    if (!SHA256_HEX.test(digest)) throw malformed(`the digest of piece ${number} must be 64 lowercase hex characters`)
    return { number: count(number, 'a digest\'s piece number'), digest }
  })
}

function parent(candidate: CandidateParent): ParentOffer {
  const peerId = id(candidate.peerId, 'a parent\'s peer id') as PeerId
  // The address goes into the URL pieces are fetched from: nothing but an address or a name.
  if (isIP(candidate.ip) === 0 && !DNS_NAME.test(candidate.ip)) {
    throw malformed(`parent ${peerId}'s address ${JSON.stringify(candidate.ip.slice(0, 80))} is neither an IP address nor a DNS name`)
  }
  if (!Number.isInteger(candidate.uploadPort) || candidate.uploadPort < 1 || candidate.uploadPort > 65535) {
    throw malformed(`parent ${peerId}'s upload port must be 1..65535, got ${candidate.uploadPort}`)
  }
  return {
    peerId,
    hostId: id(candidate.hostId, `parent ${peerId}'s host id`) as HostId,
    ip: candidate.ip,
    uploadPort: candidate.uploadPort,
    seed: candidate.seed,
    uploadTls: candidate.uploadTls,
    pieceNumbers: pieceNumbers(candidate.pieceNumbers, `parent ${peerId}'s piece numbers`),
  }
}

function taskLengths(info: TaskInfo | undefined): TaskLengths | undefined {
  if (info === undefined || info.pieceLength === 0) return undefined
  return { contentLengthBytes: count(info.contentLength, 'the content length'), pieceLengthBytes: count(info.pieceLength, 'the piece length') }
}

/**
 * The scheduler's answer, checked: ids, addresses, ports, digests, counts. Undefined for an
 * answer this daemon does not know (from a newer scheduler), which it ignores. Throws
 * INVALID_ARGUMENT for a malformed one: the session then stops listening to that scheduler.
 */
export function parseSchedulerAnswer(message: AnnouncePeerResponse): SchedulerAnswer | undefined {
  const response = message.response
  switch (response?.$case) {
    case undefined:
      return undefined
    case 'registered':
      return { kind: 'registered', protocolRevision: response.value.protocolRevision }
    case 'emptyTask':
      return { kind: 'empty-task' }
    case 'tinyTask': {
      const { content } = response.value
      if (content.length > TINY_TASK_MAX_BYTES) throw malformed(`a tiny task holds at most ${TINY_TASK_MAX_BYTES} bytes, got ${content.length}`)
      return { kind: 'tiny-task', content: Buffer.from(content) }
    }
    case 'normalTask': {
      const { task, parents, capability } = response.value
      return {
        kind: 'parents',
        task: taskLengths(task),
        parents: parents.map(parent),
        capability: capability === '' ? undefined : capability,
        digests: digests(response.value.digests),
      }
    }
    case 'piecesAvailable':
      return {
        kind: 'pieces-available',
        parents: response.value.parents.map((pieces) => {
          const peerId = id(pieces.peerId, 'a parent\'s peer id') as PeerId
          return { peerId, pieceNumbers: pieceNumbers(pieces.pieceNumbers, `parent ${peerId}'s piece numbers`) }
        }),
        digests: digests(response.value.digests),
      }
    case 'needBackToSource':
      return { kind: 'back-to-source', reason: text(response.value.reason) }
    case 'scheduleFailed':
      return { kind: 'schedule-failed', reason: text(response.value.reason) }
    case 'sourceFailed':
      return { kind: 'source-failed', code: text(response.value.code), sourceStatus: response.value.sourceStatus, reason: text(response.value.reason) }
  }
}
