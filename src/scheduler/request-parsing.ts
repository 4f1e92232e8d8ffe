import { DamselflyError } from '../protocol/damselfly-error.js'
import { isTaskId, type HostId, type PeerId, type TaskId } from '../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { isFinalSourceStatus } from '../protocol/source-status.js'
import { taskIdFor, type TaskIdInput } from '../protocol/task-id.js'
import type {
  AnnounceHostRequest,
  AnnouncePeerRequest,
  Download,
  PeerFailed,
  Piece,
  PiecesFinished,
  RegisterPeer,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostInfo, HostLoad } from './host.js'
import type { PieceRecord } from './task.js'

// Decoded protobuf is well-typed but not trusted: this is where its values are checked, once.

const MAX_ID_LENGTH = 512
const SHA256_HEX = /^[0-9a-f]{64}$/
const MAX_PRIORITY = 6
/**
 * The highest piece number a peer may name: 2^24 - 1, room for 1 TiB in the smallest fixed
 * pieces (64 KiB) or 1 PiB in the largest computed ones. Peers keep piece numbers as bitsets
 * (piece-set.ts), whose size follows the highest number held.
 */
export const MAX_PIECE_NUMBER = 2 ** 24 - 1
/** Pieces one `pieces_finished` may carry: a daemon sends a few dozen at most; this bounds one message's work. */
export const MAX_PIECES_PER_REPORT = 1024

function invalid(message: string): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', message)
}

function id(value: string, what: string): string {
  if (value === '' || value.length > MAX_ID_LENGTH) throw invalid(`${what} must be 1 to ${MAX_ID_LENGTH} characters`)
  return value
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${what} must be a non-negative integer, got ${value}`)
  return value
}

export function parseHostAnnounce(request: AnnounceHostRequest): { info: HostInfo; load: HostLoad } {
  const host = request.host
  if (host === undefined) throw invalid('announce host: host is missing')
  if (host.ip === '') throw invalid(`announce host ${host.id}: ip is missing`)
  const port = host.uploadPort
  if (!Number.isInteger(port) || port < 0 || port > 65535 || (port === 0 && !host.disableShared)) {
    throw invalid(`announce host ${host.id}: upload_port must be 1..65535 unless sharing is disabled, got ${port}`)
  }
  return {
    info: {
      id: id(host.id, 'host id') as HostId,
      ip: host.ip,
      hostname: host.hostname,
      uploadPort: host.uploadPort,
      idc: host.idc,
      location: host.location,
      seed: host.seed,
      disableShared: host.disableShared,
      uploadTls: host.uploadTls,
      // Only shown to operators (the manager's host list): cut, not refused.
      version: (host.version ?? '').slice(0, 64),
      os: (host.os ?? '').slice(0, 64),
    },
    load: {
      concurrentUploadLimit: count(host.concurrentUploadLimit, 'concurrent_upload_limit'),
      concurrentUploadCount: count(host.concurrentUploadCount, 'concurrent_upload_count'),
      uploadCapacityBytesPerSecond: count(host.uploadCapacityBytesPerSecond, 'upload_capacity_bytes_per_second'),
    },
  }
}

export interface PeerAddress {
  readonly hostId: HostId
  readonly taskId: TaskId
  readonly peerId: PeerId
}

export function parsePeerAddress(request: AnnouncePeerRequest): PeerAddress {
  if (!isTaskId(request.taskId)) throw invalid(`task_id must be 64 lowercase hex characters, got ${JSON.stringify(request.taskId.slice(0, 80))}`)
  return { hostId: id(request.hostId, 'host_id') as HostId, taskId: request.taskId, peerId: id(request.peerId, 'peer_id') as PeerId }
}

export function parsePiece(piece: Piece | undefined, what: string): PieceRecord {
  if (piece === undefined) throw invalid(`${what}: piece is missing`)
  if (!SHA256_HEX.test(piece.digest)) throw invalid(`${what}: piece ${piece.number} digest must be 64 lowercase hex characters`)
  if (piece.number > MAX_PIECE_NUMBER) throw invalid(`${what}: piece number must be at most ${MAX_PIECE_NUMBER}, got ${piece.number}`)
  return {
    number: count(piece.number, `${what}: piece number`),
    offset: count(piece.offset, `${what}: piece offset`),
    length: count(piece.length, `${what}: piece length`),
    digest: piece.digest,
  }
}

/** One piece a peer stored, as `pieces_finished` reports it. */
export interface FinishedPiece {
  readonly piece: PieceRecord
  /** The parent it came from; undefined for the source. */
  readonly parentPeerId: PeerId | undefined
  readonly costMs: number
  /** The bytes of a tiny task fetched from the source; empty otherwise. */
  readonly content: Uint8Array
}

/** Checks a whole report before any of it is applied: one bad piece refuses the report. */
export function parsePiecesFinished(report: PiecesFinished): FinishedPiece[] {
  if (report.pieces.length === 0) throw invalid('pieces_finished: no piece')
  if (report.pieces.length > MAX_PIECES_PER_REPORT) throw invalid(`pieces_finished: at most ${MAX_PIECES_PER_REPORT} pieces, got ${report.pieces.length}`)
  return report.pieces.map((finished) => ({
    piece: parsePiece(finished.piece, 'pieces_finished'),
    parentPeerId: finished.parentPeerId === '' ? undefined : (id(finished.parentPeerId, 'pieces_finished: parent_peer_id') as PeerId),
    costMs: count(finished.costMs, 'pieces_finished: cost_ms'),
    content: finished.content,
  }))
}

export interface Registration {
  readonly download: Download
  readonly pieces: readonly PieceRecord[]
}

/**
 * Checks a download, as a peer registers it or a manager's job names it, and returns its task id.
 * `what` starts every message (`register`, `run downloads: downloads[2]`). `taskIdOf` is
 * {@link taskIdFor} or a memo of it.
 */
export function parseDownload(download: Download | undefined, what: string, taskIdOf: (input: TaskIdInput) => TaskId = taskIdFor): { download: Download; taskId: TaskId } {
  if (download === undefined) throw invalid(`${what}: download is missing`)
  if (download.url === '') throw invalid(`${what}: download url is missing`)
  if (!Number.isInteger(download.priority) || download.priority < 0 || download.priority > MAX_PRIORITY) {
    throw invalid(`${what}: priority must be 0..${MAX_PRIORITY}, got ${download.priority}`)
  }
  count(download.pieceLength, `${what}: piece_length`)
  let taskId: TaskId
  try {
    taskId = taskIdOf({
      url: download.url,
      tag: download.tag,
      application: download.application,
      pieceLengthBytes: download.pieceLength > 0 ? download.pieceLength : undefined,
      filteredQueryParams: download.filteredQueryParams,
    })
  } catch (error) {
    if (error instanceof DamselflyError) throw new DamselflyError(error.code, `${what}: ${error.message}`, { cause: error })
    throw error
  }
  return { download, taskId }
}

/**
 * Checks a registration, including that `taskId` is the id of what the download names: a peer
 * cannot register under one task while asking a seed to fetch another URL into it. `taskIdOf`
 * is {@link taskIdFor} or a memo of it.
 */
export function parseRegistration(register: RegisterPeer, taskId: TaskId, taskIdOf: (input: TaskIdInput) => TaskId = taskIdFor): Registration {
  // Negated, so that a revision that is no number at all (NaN) is refused too.
  if (!(register.protocolRevision >= SCHEDULER_PROTOCOL_REVISION)) {
    throw invalid(`register: the daemon speaks revision ${register.protocolRevision} of the scheduler protocol, older than this scheduler's ${SCHEDULER_PROTOCOL_REVISION}; upgrade it`)
  }
  const { download, taskId: named } = parseDownload(register.download, 'register', taskIdOf)
  if (named !== taskId) throw invalid(`register: task_id ${taskId} is not the id of the download it names (${named})`)
  if (register.contentLengthKnown) count(register.contentLength, 'register: content_length')
  return { download, pieces: register.pieces.map((piece) => parsePiece(piece, 'register')) }
}

/**
 * The origin's final answer to a request, as a seed peer that fetched it reports it: a status a
 * retry cannot change (isFinalSourceStatus), or content that fails the request's digest.
 */
export interface SourceVerdict {
  readonly code: 'SOURCE_STATUS' | 'DIGEST_MISMATCH'
  /** The origin's HTTP status for SOURCE_STATUS; 0 otherwise. */
  readonly sourceStatus: number
  /** The reporter's message, cut short; for logs only. */
  readonly reason: string
}

const MAX_REASON_LENGTH = 500

/** The origin's final answer in a failure report, or undefined when the failure is anything else (a peer elsewhere may do better). */
export function sourceVerdictOf(failed: PeerFailed): SourceVerdict | undefined {
  const reason = failed.reason.slice(0, MAX_REASON_LENGTH)
  if (failed.code === 'DIGEST_MISMATCH') return { code: 'DIGEST_MISMATCH', sourceStatus: 0, reason }
  if (failed.code === 'SOURCE_STATUS' && isFinalSourceStatus(failed.sourceStatus)) return { code: 'SOURCE_STATUS', sourceStatus: failed.sourceStatus, reason }
  return undefined
}

/**
 * Whether two peers asked the origin the same thing: the same URL (query included), the same
 * headers (names in any case) and the same expected digest. Only then is one's answer the other's.
 */
export function sameSourceRequest(a: Download, b: Download): boolean {
  if (a.url !== b.url || a.digest !== b.digest) return false
  const headers = (download: Download): string => JSON.stringify(
    Object.entries(download.headers)
      .map(([name, value]): [string, string] => [name.toLowerCase(), value])
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
  )
  return headers(a) === headers(b)
}

/** Whether two downloads ask for exactly the same, field by field (headers as sent, in any order). */
export function sameDownload(a: Download, b: Download): boolean {
  if (a === b) return true
  if (a.url !== b.url || a.tag !== b.tag || a.application !== b.application || a.digest !== b.digest) return false
  if (a.pieceLength !== b.pieceLength || a.priority !== b.priority || a.disableBackToSource !== b.disableBackToSource) return false
  if (a.filteredQueryParams.length !== b.filteredQueryParams.length || a.filteredQueryParams.some((param, i) => param !== b.filteredQueryParams[i])) return false
  const names = Object.keys(a.headers)
  return names.length === Object.keys(b.headers).length && names.every((name) => Object.hasOwn(b.headers, name) && a.headers[name] === b.headers[name])
}
