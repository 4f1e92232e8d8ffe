import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { chmod, mkdir, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Registry } from 'prom-client'
import { closeServer, hangUpSignal, listen, readBody, sendError, sendJson, writeChunk } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import { serveOperatorEndpoints } from '../../common/metrics.js'
import type { Startable } from '../../common/startable.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { isTaskId } from '../../protocol/ids.js'
import type { ContentStore, TaskDescriptor, TaskSummary } from '../../storage/content-store.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { parseDownloadRequest } from '../download/download-request.js'
import type { TaskHandle, TaskManager } from '../download/task-manager.js'
import { LOCAL_API, encodeResult, errorType, type LocalApiEvent } from './local-api.js'

const MAX_REQUEST_BYTES = 1024 * 1024
const PROGRESS_INTERVAL_MS = 200

/**
 * The daemon's local API: HTTP/1.1 on a unix socket, for dfget and dfcache. A download answers
 * with the content in order while it downloads, and a trailer with the outcome; see
 * docs/local-api.md.
 */
export class LocalApiServer implements Startable {
  private readonly server: Server

  constructor(
    private readonly components: { tasks: TaskManager; store: ContentStore; metrics: DaemonMetrics; registry: Registry; logger: Logger },
    private readonly init: { socketPath: string; socketMode: number },
  ) {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => {
        this.components.logger.error({ err: error, url: req.url }, 'local api request failed')
        sendError(res, error)
      })
    })
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.init.socketPath), { recursive: true })
    // A socket file left by a crashed daemon would make listen fail with EADDRINUSE.
    await rm(this.init.socketPath, { force: true })
    await listen(this.server, { socketPath: this.init.socketPath })
    // Who may connect is who may download through this daemon and read what it caches.
    await chmod(this.init.socketPath, this.init.socketMode)
    this.components.logger.info({ socket: this.init.socketPath }, 'local api listening')
  }

  async stop(): Promise<void> {
    await closeServer(this.server)
    await rm(this.init.socketPath, { force: true })
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (serveOperatorEndpoints(req, res, this.components.registry)) return
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method === 'POST' && path === LOCAL_API.download) return this.download(req, res)
    if (req.method === 'GET' && path === LOCAL_API.tasks) {
      sendJson(res, 200, { tasks: this.components.store.list().map(taskView) })
      return
    }
    const match = /^\/v1\/tasks\/([^/]+)$/.exec(path)
    if (match?.[1] !== undefined) {
      const taskId = match[1]
      if (!isTaskId(taskId)) throw new DamselflyError('INVALID_ARGUMENT', `not a task id: ${JSON.stringify(taskId)}`)
      const summary = this.components.store.list().find((task) => task.descriptor.taskId === taskId)
      if (summary === undefined) throw new DamselflyError('TASK_NOT_FOUND', `no task ${taskId} on this host`)
      if (req.method === 'GET') {
        sendJson(res, 200, taskView(summary))
        return
      }
      if (req.method === 'DELETE') {
        const deleted = await this.components.store.delete(summary.descriptor.taskId)
        if (!deleted) throw new DamselflyError('INVALID_ARGUMENT', `task ${taskId} is in use; try again when its downloads end`)
        res.writeHead(204).end()
        return
      }
    }
    throw new DamselflyError('INVALID_ARGUMENT', `no such endpoint: ${req.method ?? ''} ${path}`)
  }

  private async download(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown
    try {
      body = JSON.parse((await readBody(req, MAX_REQUEST_BYTES)).toString('utf8'))
    } catch (error) {
      throw error instanceof DamselflyError ? error : new DamselflyError('INVALID_ARGUMENT', 'request body is not JSON')
    }
    const request = parseDownloadRequest(body)
    const delivery = new URL(req.url ?? '/', 'http://localhost').searchParams.get('delivery') === 'path' ? 'path' : 'stream'
    const handle = this.components.tasks.download(request)
    const closed = hangUpSignal(res)
    const headers = { [LOCAL_API.taskIdHeader]: handle.taskId }
    let descriptor: TaskDescriptor
    try {
      descriptor = await handle.descriptor
    } catch (error) {
      const failure = this.countFailure(error)
      sendError(res, failure, { ...headers, [LOCAL_API.errorTypeHeader]: errorType(failure) })
      return
    }
    const cached = this.components.store.get(handle.taskId)?.complete === true
    const lengthHeader = descriptor.contentLengthBytes === undefined ? {} : { [LOCAL_API.contentLengthHeader]: String(descriptor.contentLengthBytes) }
    if (delivery === 'path') {
      res.writeHead(200, { ...headers, ...lengthHeader, 'content-type': 'application/x-ndjson' })
      await this.deliverPath(handle, descriptor, res, cached)
      return
    }
    res.writeHead(200, { ...headers, ...lengthHeader, 'content-type': 'application/octet-stream', trailer: LOCAL_API.resultTrailer })
    try {
      await handle.send(0, undefined, (chunk) => writeChunk(res, chunk, closed), closed)
      await handle.done
      this.components.metrics.downloadTasks.inc({ outcome: cached ? 'cached' : 'completed' })
      res.addTrailers({ [LOCAL_API.resultTrailer]: encodeResult(undefined) })
    } catch (error) {
      if (closed.aborted) return
      // A reader fails with the download's own error; wait for it so the trailer names the cause.
      const failure = this.countFailure(await handle.done.then(() => error, (cause: unknown) => cause))
      res.addTrailers({ [LOCAL_API.resultTrailer]: encodeResult(failure) })
    }
    res.end()
  }

  /**
   * Progress events while the download runs, then the stored file's path for the client to link
   * or copy: the bytes never cross the socket. One JSON object per line (docs/local-api.md).
   */
  private async deliverPath(handle: TaskHandle, descriptor: TaskDescriptor, res: ServerResponse, cached: boolean): Promise<void> {
    const send = (event: LocalApiEvent): void => {
      res.write(`${JSON.stringify(event)}\n`)
    }
    const progress = (): void => {
      const task = this.components.store.get(handle.taskId)
      const pieceBytes = (task?.finishedPieceCount ?? 0) * descriptor.pieceLengthBytes
      send({ event: 'progress', completedBytes: Math.min(pieceBytes, descriptor.contentLengthBytes ?? pieceBytes) })
    }
    const timer = setInterval(progress, PROGRESS_INTERVAL_MS)
    try {
      const task = await handle.done
      progress()
      this.components.metrics.downloadTasks.inc({ outcome: cached ? 'cached' : 'completed' })
      if (cached) this.components.metrics.downloadTrafficBytes.inc({ type: 'local_peer' }, task.descriptor.contentLengthBytes ?? 0)
      send({ event: 'done', contentPath: task.contentPath ?? null, contentLength: task.descriptor.contentLengthBytes ?? 0 })
    } catch (error) {
      send({ event: 'error', error: this.countFailure(error).toJSON() })
    } finally {
      clearInterval(timer)
    }
    res.end()
  }

  private countFailure(error: unknown): DamselflyError {
    const failure = toDamselflyError(error)
    this.components.metrics.downloadTasks.inc({ outcome: 'failed' })
    this.components.metrics.downloadTaskFailures.inc({ code: failure.code })
    return failure
  }
}

function taskView(summary: TaskSummary): Record<string, unknown> {
  const { descriptor } = summary
  return {
    taskId: descriptor.taskId,
    url: descriptor.url,
    contentLength: descriptor.contentLengthBytes ?? null,
    pieceLength: descriptor.pieceLengthBytes,
    complete: summary.complete,
    finishedPieces: summary.finishedPieceCount,
    storedBytes: summary.storedBytes,
    lastAccess: new Date(summary.lastAccessMs).toISOString(),
    inUse: summary.inUse,
  }
}
