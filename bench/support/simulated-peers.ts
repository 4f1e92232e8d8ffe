import { createHash, randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { credentials as grpcCredentials, type ClientDuplexStream } from '@grpc/grpc-js'
import { systemClock } from '../../src/common/clock.js'
import { hostIdFor } from '../../src/daemon/scheduler-client/host-announcer.js'
import { PIECE_REPORT_BATCHING, ReportBatcher } from '../../src/daemon/scheduler-client/report-batcher.js'
import type { TaskId } from '../../src/protocol/ids.js'
import {
  SchedulerServiceClient,
  type AnnounceHostRequest,
  type AnnounceHostResponse,
  type AnnouncePeerRequest,
  type AnnouncePeerResponse,
  type CandidateParent,
  type Download,
  type Host,
  type Piece,
  type PieceFinished,
} from '../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../src/protocol/scheduler-protocol.js'
import { taskIdFor } from '../../src/protocol/task-id.js'
import { loadClusterPki } from '../../src/security/cluster-pki.js'
import { SCHEDULER_CHANNEL_OPTIONS, schedulerChannelCredentials } from '../../src/security/grpc-tls.js'
import { issueLocalIdentity } from '../../src/security/local-identity.js'

type PeerRequest = NonNullable<AnnouncePeerRequest['request']>
type PeerResponse = NonNullable<AnnouncePeerResponse['response']>

/** What the scheduler first told a peer: the scheduling decision whose latency is measured. */
export type FirstAnswer = PeerResponse['$case'] | 'none'

/**
 * One peer's AnnouncePeer stream as a simulated daemon sees it, whatever carries it: gRPC to a
 * scheduler process, or calls straight into a SchedulerCore in this process.
 */
export interface PeerStream {
  write(request: AnnouncePeerRequest): void
  /** The daemon's end of the stream: it has nothing more to say. */
  end(): void
  /** Gives up on the stream (a deadline passed). */
  cancel(): void
  onAnswer(listener: (response: AnnouncePeerResponse) => void): void
  /** Settles once the scheduler has ended the stream: resolves on its status, rejects on an error. */
  readonly closed: Promise<void>
}

/** One simulated daemon, as its peers see it: what it announced, and a way to open a peer's stream. */
export interface SimulatedHost {
  readonly info: Host
  openPeerStream(): PeerStream
}

/** A simulated daemon over gRPC: its own channel (one HTTP/2 connection) and its AnnounceHost stream. */
interface GrpcHost extends SimulatedHost {
  readonly client: SchedulerServiceClient
  readonly announce: ClientDuplexStream<AnnounceHostRequest, AnnounceHostResponse>
}

/** A task every simulated peer of it agrees on: one URL, its pieces and their digests. */
export interface SimulatedTask {
  readonly id: TaskId
  readonly url: string
  readonly contentLengthBytes: number
  readonly pieceLengthBytes: number
  readonly pieces: readonly Piece[]
}

export interface PeerResult {
  readonly answer: FirstAnswer
  /** From writing `register` to reading the scheduler's first answer. */
  readonly latencyMs: number
  /** Answers after the first: extra parents and pieces available from parents. */
  readonly laterAnswers: number
  /** Requests this peer sent, `register` included. */
  readonly requests: number
}

/** The client options a daemon's SchedulerPool uses, plus a channel of its own per host. */
const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  // grpc-js shares one connection among clients with the same target and options; real daemons
  // are separate processes with a connection each, so each simulated host gets its own.
  'grpc.use_local_subchannel_pool': 1,
} as const

const UPLOAD_PORT = 65002
const IDCS = 4
const LOCATIONS = 8

/**
 * What simulated host `index` announces: a distinct address, one of a few IDCs and locations, no
 * seed, room for 50 uploads. `hostId` is its certificate's when it has one.
 */
export function simulatedHostInfo(index: number, hostId?: string): Host {
  const { ip, hostname } = simulatedHostAddress(index)
  return {
    id: hostId ?? hostIdFor(hostname, ip, UPLOAD_PORT),
    ip,
    hostname,
    uploadPort: UPLOAD_PORT,
    idc: `idc-${index % IDCS}`,
    location: `region|zone-${index % LOCATIONS}|rack-${index}`,
    seed: false,
    disableShared: false,
    concurrentUploadLimit: 50,
    concurrentUploadCount: 0,
    uploadCapacityBytesPerSecond: 0,
    uploadTls: hostId !== undefined,
  }
}

function simulatedHostAddress(index: number): { ip: string; hostname: string } {
  return { ip: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`, hostname: `sim-host-${index}` }
}

/**
 * Announces `count` hosts, each with its own identity from the scheduler's CA and its own
 * channel (mutual TLS, as a daemon holds one), and keeps their streams open. Without a `pkiDir`
 * the hosts have no identity and talk plaintext, to a scheduler running --insecure.
 */
export async function announceHosts(address: string, count: number, pkiDir: string | undefined): Promise<SimulatedHost[]> {
  const pki = pkiDir === undefined ? undefined : await loadClusterPki(pkiDir)
  return Promise.all(Array.from({ length: count }, async (_, i): Promise<GrpcHost> => {
    const { ip, hostname } = simulatedHostAddress(i)
    const local = pki === undefined ? undefined : await issueLocalIdentity(pki.signer, { role: 'normal', hostname, ips: [ip] })
    const info = simulatedHostInfo(i, local?.identity.hostId)
    const credentials = local === undefined ? grpcCredentials.createInsecure() : schedulerChannelCredentials(local)
    const client = new SchedulerServiceClient(address, credentials, { ...SCHEDULER_CHANNEL_OPTIONS, ...CHANNEL_OPTIONS })
    const announce = client.announceHost()
    // A seed command never comes (no simulated host is a seed); a stream error ends the run elsewhere.
    announce.on('data', () => undefined)
    announce.on('error', () => undefined)
    announce.write({ host: info, report: undefined })
    return { info, client, announce, openPeerStream: () => grpcPeerStream(client.announcePeer()) }
  }))
}

function grpcPeerStream(call: ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse>): PeerStream {
  const closed = new Promise<void>((resolve, reject) => {
    call.on('error', (error: Error) => {
      reject(error)
    })
    call.on('status', () => {
      resolve()
    })
  })
  // Reported as a rejection to whoever awaits it; here only kept from being unhandled.
  closed.catch(() => undefined)
  return {
    write: (request) => call.write(request),
    end: () => call.end(),
    cancel: () => call.cancel(),
    onAnswer: (listener) => call.on('data', listener),
    closed,
  }
}

/** Ends the hosts' announce streams and closes their channels; hosts without any (in process) have nothing to close. */
export function closeHosts(hosts: readonly SimulatedHost[]): void {
  for (const host of hosts) {
    if (!('client' in host)) continue
    const grpc = host as GrpcHost
    grpc.announce.end()
    grpc.client.close()
  }
}

/** Task `index` of the run: `pieceCount` pieces of `pieceLengthBytes`, with made-up digests. */
export function simulatedTask(index: number, pieceCount: number, pieceLengthBytes: number): SimulatedTask {
  const url = `http://origin.bench.invalid/scheduler-load/task-${index}.bin`
  const pieces = Array.from({ length: pieceCount }, (_, number) => ({
    number,
    offset: number * pieceLengthBytes,
    length: pieceLengthBytes,
    digest: createHash('sha256').update(`${url}#${number}`).digest('hex'),
  }))
  return { id: taskIdFor({ url }), url, contentLengthBytes: pieceCount * pieceLengthBytes, pieceLengthBytes, pieces }
}

/** A parent offered to this peer that holds `number`, by what the scheduler said it holds. */
function parentHolding(parents: readonly CandidateParent[], number: number, turn: number): CandidateParent | undefined {
  const holding = parents.filter((parent) => parent.pieceNumbers.includes(number))
  return holding[turn % Math.max(1, holding.length)] ?? parents[turn % Math.max(1, parents.length)]
}

/**
 * One peer's whole AnnouncePeer stream, with the messages a daemon sends: `register`; then, when
 * told to fetch from the source, `back_to_source_started` and each piece as from the source;
 * when offered parents, each piece as from one of them; then `peer_finished` and the end of the
 * stream, as TaskDownload does. Pieces are reported as a daemon's PeerSession reports them
 * (`pieces_finished`, batched the same way); they are all finished at once here, so they go in
 * batches of the count limit, the last one flushed by `peer_finished`. No piece bytes move.
 */
export async function runPeer(host: SimulatedHost, task: SimulatedTask, timeoutMs: number): Promise<PeerResult> {
  const ids = { hostId: host.info.id, taskId: task.id, peerId: `${host.info.id.slice(0, 12)}-${randomUUID()}` }
  const stream = host.openPeerStream()
  let requests = 0
  const write = (request: PeerRequest): void => {
    requests++
    stream.write({ ...ids, request })
  }
  const reports = new ReportBatcher<PieceFinished>(
    { clock: systemClock, send: (pieces) => write({ $case: 'piecesFinished', value: { pieces } }) },
    PIECE_REPORT_BATCHING,
  )
  const send = (request: PeerRequest): void => {
    reports.flush()
    write(request)
  }
  let laterAnswers = 0
  let answered: ((response: PeerResponse) => void) | undefined
  const first = new Promise<PeerResponse>((resolve) => {
    answered = resolve
  })
  const closed = stream.closed.catch((error: unknown) => {
    throw new Error(`peer ${ids.peerId}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  })
  // Reported as a rejection from the awaits below; here only kept from being unhandled.
  closed.catch(() => undefined)
  stream.onAnswer((response) => {
    // The acknowledgement of the registration comes first; the decision is what is measured.
    if (response.response === undefined || response.response.$case === 'registered') return
    if (answered === undefined) laterAnswers++
    else {
      answered(response.response)
      answered = undefined
    }
  })
  const deadline = new AbortController()
  const timer = setTimeout(() => {
    deadline.abort()
    stream.cancel()
  }, timeoutMs)
  try {
    const startedMs = performance.now()
    send({ $case: 'register', value: { download: download(task), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } })
    const answer = await Promise.race([first, closed.then(() => undefined)])
    const latencyMs = performance.now() - startedMs
    if (answer === undefined) return { answer: 'none', latencyMs, laterAnswers, requests }
    switch (answer.$case) {
      case 'needBackToSource':
        send({ $case: 'backToSourceStarted', value: { contentLength: task.contentLengthBytes, contentLengthKnown: true, pieceLength: task.pieceLengthBytes } })
        for (const piece of task.pieces) reports.add({ piece, parentPeerId: '', costMs: 20, content: Buffer.alloc(0) })
        send({ $case: 'peerFinished', value: { contentLength: task.contentLengthBytes, pieceCount: task.pieces.length } })
        break
      case 'normalTask':
        for (const [turn, piece] of task.pieces.entries()) {
          const parent = parentHolding(answer.value.parents, piece.number, turn)
          reports.add({ piece, parentPeerId: parent?.peerId ?? '', costMs: 10, content: Buffer.alloc(0) })
        }
        send({ $case: 'peerFinished', value: { contentLength: task.contentLengthBytes, pieceCount: task.pieces.length } })
        break
      default:
        break
    }
    reports.flush()
    stream.end()
    await closed
    return { answer: answer.$case, latencyMs, laterAnswers, requests }
  } catch (error) {
    if (deadline.signal.aborted) throw new Error(`peer ${ids.peerId} of task ${task.id}: no end within ${timeoutMs} ms`, { cause: error })
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/** What a dfget of the task's URL with default flags asks for. */
function download(task: SimulatedTask): Download {
  return { url: task.url, headers: {}, tag: '', application: '', filteredQueryParams: [], pieceLength: 0, priority: 0, digest: '', disableBackToSource: false }
}
