import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { ClientDuplexStream } from '@grpc/grpc-js'
import {
  SchedulerServiceClient, type AnnounceHostRequest, type AnnounceHostResponse, type AnnouncePeerRequest, type AnnouncePeerResponse, type Download,
} from '../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { pieceLengthFor, pieceRange } from '../../src/protocol/piece.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../src/protocol/scheduler-protocol.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, taskIdFor } from '../../src/protocol/task-id.js'
import { loadClusterPki } from '../../src/security/cluster-pki.js'
import { SCHEDULER_CHANNEL_OPTIONS, schedulerChannelCredentials } from '../../src/security/grpc-tls.js'
import type { Role } from '../../src/security/identity.js'
import { issueLocalIdentity, type LocalIdentity } from '../../src/security/local-identity.js'

/**
 * A host of the cluster gone bad, speaking the real protocol with a real identity: it claims
 * tasks with digests of bytes of its own, serves those bytes over TLS to anyone, and, when it
 * holds a seed identity, answers seed tasks with them instead of the origin's.
 */
export class RogueHost {
  private requestCount = 0
  private readonly streams: Array<{ end(): void }> = []

  private constructor(
    private readonly local: LocalIdentity,
    private readonly client: SchedulerServiceClient,
    private readonly server: Server,
    private readonly forged: (url: string) => Buffer,
  ) {}

  /** Joins the cluster of `scheduler` as a `role` host whose content for any URL is `forged(url)`. */
  static async start(scheduler: { address: string; pkiDir: string }, role: Role, forged: (url: string) => Buffer): Promise<RogueHost> {
    const pki = await loadClusterPki(scheduler.pkiDir)
    const local = await issueLocalIdentity(pki.signer, { role, hostname: `rogue-${role}`, ips: ['127.0.0.1'] })
    let current: Buffer = Buffer.alloc(0)
    const server = createServer({ key: local.keyPem, cert: local.certPem }, (req, res) => {
      rogue.requestCount++
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
      const start = Number(range?.[1] ?? 0)
      const end = Number(range?.[2] ?? current.length - 1)
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${current.length}` })
      res.end(current.subarray(start, end + 1))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const client = new SchedulerServiceClient(scheduler.address, schedulerChannelCredentials(local), SCHEDULER_CHANNEL_OPTIONS)
    const rogue: RogueHost = new RogueHost(local, client, server, (url) => (current = forged(url)))
    const host: ClientDuplexStream<AnnounceHostRequest, AnnounceHostResponse> = client.announceHost()
    rogue.streams.push(host)
    host.on('error', () => undefined)
    host.on('data', (response: AnnounceHostResponse) => {
      if (response.command?.$case === 'seedTask') rogue.claim(response.command.value, true)
    })
    host.write({
      host: {
        id: local.identity.hostId, ip: '127.0.0.1', hostname: `rogue-${role}`, uploadPort: (server.address() as AddressInfo).port, idc: '', location: '',
        seed: role === 'seed', disableShared: false, concurrentUploadLimit: 50, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: true,
      },
      report: undefined,
    })
    return rogue
  }

  /** Piece requests this host was sent. */
  get requests(): number {
    return this.requestCount
  }

  /**
   * Registers a peer claiming every piece of `download`'s task with forged digests: as a resumed
   * download, or (`fromSource`) reporting them as fetched from the source.
   */
  claim(download: Download, fromSource = false): void {
    const forged = this.forged(download.url)
    const taskId = taskIdFor({ url: download.url, tag: download.tag, application: download.application, filteredQueryParams: download.filteredQueryParams })
    const pieceLength = pieceLengthFor(forged.length)
    const pieces = Array.from({ length: Math.ceil(forged.length / pieceLength) }, (_, number) => {
      const { offset, length } = pieceRange(number, forged.length, pieceLength)
      return { number, offset, length, digest: createHash('sha256').update(forged.subarray(offset, offset + length)).digest('hex') }
    })
    const peer: ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse> = this.client.announcePeer()
    this.streams.push(peer)
    peer.on('error', () => undefined)
    peer.on('data', () => undefined)
    const ids = { hostId: this.local.identity.hostId, taskId, peerId: `rogue-${taskId.slice(0, 8)}` }
    peer.write({ ...ids, request: { $case: 'register', value: { download, pieces: fromSource ? [] : pieces, contentLength: forged.length, contentLengthKnown: true, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    if (!fromSource) return
    peer.write({ ...ids, request: { $case: 'backToSourceStarted', value: { contentLength: forged.length, contentLengthKnown: true, pieceLength } } })
    peer.write({ ...ids, request: { $case: 'piecesFinished', value: { pieces: pieces.map((piece) => ({ piece, parentPeerId: '', costMs: 1, content: Buffer.alloc(0) })) } } })
    peer.write({ ...ids, request: { $case: 'peerFinished', value: { contentLength: forged.length, pieceCount: pieces.length } } })
  }

  /** A download as a daemon would send it for `url`. */
  static download(url: string): Download {
    return { url, headers: {}, tag: '', application: '', filteredQueryParams: [...DEFAULT_FILTERED_QUERY_PARAMS], pieceLength: 0, priority: 0, digest: '', disableBackToSource: false }
  }

  async stop(): Promise<void> {
    for (const stream of this.streams) stream.end()
    this.client.close()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
