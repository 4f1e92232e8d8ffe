import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import type { Dispatcher } from 'undici'
import { contentRange, parseRangeHeader } from '../../common/http-range.js'
import { closeServer, hangUpSignal, listen, sendError, writeChunk } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import type { Startable } from '../../common/startable.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { ociBlobDigest } from '../../protocol/task-id.js'
import type { TaskDescriptor } from '../../storage/content-store.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { parseDownloadRequest, type DownloadRequest } from '../download/download-request.js'
import type { TaskManager } from '../download/task-manager.js'
import type { LeafCertificates } from './certificate-authority.js'
import { forward } from './forward.js'
import type { ProxyRefusal } from './proxy-refusal.js'
import { checkRegistryPath } from './registry-path.js'
import { RegistryUpstreams, type Upstream } from './registry-upstream.js'

/** Hosts whose HTTPS the proxy terminates with leaf certificates from the operator's CA, so their blobs go P2P. */
export interface HttpsInterception {
  readonly hosts: readonly RegExp[]
  readonly certificates: LeafCertificates
}

export interface ProxyInit {
  readonly host: string
  readonly port: number
  /** HTTP requests served at once (blobs, forwarded requests, requests inside intercepted HTTPS); beyond it PROXY_BUSY. */
  readonly maxConcurrency: number
  readonly defaultRegistry: string
  readonly allowedRegistries: readonly string[]
  /** Whether clients on this host's loopback may name any registry (see {@link RegistryUpstreams}). */
  readonly anyRegistryFromLoopback: boolean
  /** Requests whose path matches one of these go through P2P (Dragonfly's proxy rules). */
  readonly rules: readonly RegExp[]
  readonly interception?: HttpsInterception | undefined
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/**
 * The registry mirror on the proxy port: blob GETs go through P2P, everything else (manifests,
 * pings, tokens, HEADs, pushes) straight to the registry with the client's headers, and the
 * registry's answers come back unchanged. When the P2P path cannot serve a blob before sending
 * anything, the request is forwarded, so the client sees the registry's own answer.
 */
export class ProxyServer implements Startable {
  private readonly server: Server
  private readonly upstreams: RegistryUpstreams
  private boundAddress = ''
  private activeRequests = 0
  /** The origin each intercepted TLS connection was opened for (CONNECT host:port). */
  private readonly intercepted = new WeakMap<object, string>()

  constructor(
    private readonly components: { tasks: TaskManager; dispatcher: Dispatcher; metrics: DaemonMetrics; logger: Logger },
    private readonly init: ProxyInit,
  ) {
    this.upstreams = new RegistryUpstreams({
      defaultRegistry: init.defaultRegistry,
      allowedRegistries: init.allowedRegistries,
      anyRegistryFromLoopback: init.anyRegistryFromLoopback,
    })
    this.server = createServer({ keepAlive: true }, (req, res) => {
      if (this.activeRequests >= this.init.maxConcurrency) {
        this.components.metrics.proxyRequests.inc({ kind: 'busy' })
        // Requests finish in seconds here: a client need not wait long before it asks again.
        sendError(res, new DamselflyError('PROXY_BUSY', `the registry mirror is serving ${this.activeRequests} requests, as many as proxy.maxConcurrency allows`), { 'retry-after': '1' })
        return
      }
      this.activeRequests++
      res.once('close', () => {
        this.activeRequests--
      })
      this.route(req, res).catch((error: unknown) => {
        const failure = toDamselflyError(error)
        if (failure.code === 'INTERNAL') this.components.logger.error({ err: error, url: req.url }, 'proxy request failed')
        sendError(res, failure, { 'x-dragonfly-error-type': failure.code.startsWith('SOURCE_') ? 'backend' : 'proxy' })
      })
    })
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.connect(req, socket, head)
    })
  }

  get address(): string {
    return this.boundAddress
  }

  async start(): Promise<void> {
    this.boundAddress = await listen(this.server, { host: this.init.host, port: this.init.port })
    this.components.logger.info({ address: this.boundAddress, registry: this.init.defaultRegistry }, 'proxy listening')
  }

  stop(): Promise<void> {
    return closeServer(this.server)
  }

  /**
   * CONNECT: hosts on the interception list get their TLS terminated here (a leaf certificate
   * from the operator's CA) and their requests served like mirror requests; other allowed
   * registries get a plain tunnel; anything else is refused: never an open proxy.
   */
  private connect(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = /^([^:/\s]+|\[[0-9a-f:.]+\]):(\d{1,5})$/i.exec(req.url ?? '')
    const hostname = target?.[1]?.replace(/^\[|\]$/g, '')
    const port = Number(target?.[2])
    socket.on('error', () => socket.destroy())
    if (hostname === undefined || !(port > 0 && port < 65536)) {
      this.refused(req, { refused: 'bad-connect-target', error: new DamselflyError('INVALID_ARGUMENT', 'CONNECT needs a host:port target') })
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n')
      return
    }
    const origin = `https://${req.url ?? ''}`
    const interception = this.init.interception
    if (interception?.hosts.some((host) => host.test(hostname))) {
      this.components.metrics.proxyRequests.inc({ kind: 'intercepted' })
      // Clients connecting to an IP send no SNI, so the CONNECT target names the certificate.
      interception.certificates.contextFor(hostname).then((secureContext) => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        if (head.length > 0) socket.unshift(head)
        const tlsSocket = new TLSSocket(socket, {
          isServer: true,
          secureContext,
          SNICallback: (servername, done) => {
            interception.certificates.contextFor(servername).then((context) => done(null, context), (error: unknown) => done(error as Error))
          },
        })
        tlsSocket.on('error', () => tlsSocket.destroy())
        this.intercepted.set(tlsSocket, origin)
        this.server.emit('connection', tlsSocket)
      }, (error: unknown) => {
        this.components.logger.error({ err: error, host: hostname }, 'cannot issue a certificate for an intercepted host')
        socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n')
      })
      return
    }
    if (!this.upstreams.allows(req.url ?? '', req.socket.remoteAddress)) {
      this.refused(req, { refused: 'connect-not-allowed', error: new DamselflyError('UPSTREAM_NOT_ALLOWED', `${req.url ?? ''} is neither intercepted nor in proxy.registryMirror.allowedRegistries`) })
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n')
      return
    }
    this.components.metrics.proxyRequests.inc({ kind: 'tunnel' })
    const upstream = connect(port, hostname, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => {
      if (!socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n')
    })
    socket.on('close', () => upstream.destroy())
  }

  /**
   * Logs and counts a refused request, so that an operator learns why a runtime went around the
   * mirror (containerd, refused, silently pulls from the registry itself). Returns the error to send.
   */
  private refused(req: IncomingMessage, refusal: ProxyRefusal): DamselflyError {
    this.components.metrics.proxyRefusals.inc({ reason: refusal.refused })
    this.components.logger.warn(
      { reason: refusal.refused, client: req.socket.remoteAddress, method: req.method, path: (req.url ?? '').split('?')[0]?.slice(0, 200), why: refusal.error.message },
      'proxy request refused',
    )
    return refusal.error
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const badPath = checkRegistryPath(req.url ?? '/')
    if (badPath !== undefined) throw this.refused(req, badPath)
    const interceptedOrigin = this.intercepted.get(req.socket)
    const upstream = interceptedOrigin === undefined ? this.upstreams.resolve(req) : { origin: interceptedOrigin, pathAndQuery: req.url ?? '/' }
    if ('refused' in upstream) throw this.refused(req, upstream)
    const closed = hangUpSignal(res)
    const viaP2P = req.method === 'GET' && (this.init.rules.some((rule) => rule.test(path)) || header(req, 'x-dragonfly-use-p2p') === 'true')
    if (viaP2P && (await this.serveThroughPeers(req, res, upstream, closed))) return
    this.components.metrics.proxyRequests.inc({ kind: 'direct' })
    await forward(req, res, upstream, this.components.dispatcher, closed)
  }

  /** Serves a blob from P2P; false when the request should go straight to the registry instead. */
  private async serveThroughPeers(req: IncomingMessage, res: ServerResponse, upstream: Upstream, signal: AbortSignal): Promise<boolean> {
    const url = `${upstream.origin}${upstream.pathAndQuery}`
    const digest = ociBlobDigest(new URL(url))
    const authorization = header(req, 'authorization')
    // The download asks the registry first whether it accepts this client (blob-access.ts); when it
    // does not, the request is forwarded, so the client gets the registry's own answer and challenge.
    const handle = this.components.tasks.download(this.downloadRequest(req, url, digest, authorization))
    // The download has not touched the store yet, so this still tells a cache hit.
    const cached = this.components.tasks.isComplete(handle.taskId)
    let descriptor: TaskDescriptor
    try {
      descriptor = await handle.descriptor
    } catch (error) {
      const failure = toDamselflyError(error)
      if (failure.code.startsWith('SOURCE_')) return false
      throw failure
    }
    this.components.metrics.proxyRequests.inc({ kind: 'p2p' })
    const length = descriptor.contentLengthBytes
    const range = length === undefined ? undefined : parseRangeHeader(header(req, 'range'), length)
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${length ?? 0}` }).end()
      return true
    }
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'x-dragonfly-task-id': handle.taskId,
      ...(digest === undefined ? {} : { 'docker-content-digest': digest }),
    }
    if (length !== undefined) headers['content-length'] = range === undefined ? length : range.end - range.start + 1
    if (range !== undefined && length !== undefined) headers['content-range'] = contentRange(range, length)
    res.writeHead(range === undefined ? 200 : 206, headers)
    try {
      await handle.send(range?.start ?? 0, range?.end, (chunk) => writeChunk(res, chunk, signal), signal)
      // The whole blob's digest is known only at the end; a mismatch cuts the response short.
      if (range === undefined) await handle.done
      res.end()
      if (cached) this.components.metrics.downloadTrafficBytes.inc({ type: 'local_peer' }, Number(headers['content-length'] ?? 0))
    } catch (error) {
      if (!signal.aborted) this.components.logger.warn({ err: error, taskId: handle.taskId }, 'proxy response broke off')
      res.destroy()
    }
    return true
  }

  private downloadRequest(req: IncomingMessage, url: string, digest: string | undefined, authorization: string | undefined): DownloadRequest {
    const pieceLength = header(req, 'x-dragonfly-piece-length')
    const priority = header(req, 'x-dragonfly-priority')
    return parseDownloadRequest({
      url,
      headers: authorization === undefined ? {} : { authorization },
      tag: header(req, 'x-dragonfly-tag'),
      application: header(req, 'x-dragonfly-application'),
      filteredQueryParams: (header(req, 'x-dragonfly-filtered-query-params') ?? '').split(',').map((key) => key.trim()).filter((key) => key !== ''),
      ...(pieceLength === undefined ? {} : { pieceLength: Number(pieceLength) }),
      ...(priority === undefined ? {} : { priority: Number(priority) }),
      ...(digest === undefined ? {} : { digest }),
    })
  }
}
