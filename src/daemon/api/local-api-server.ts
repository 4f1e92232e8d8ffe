import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdir, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Registry } from 'prom-client'
import { closeServer, listen, readBody, sendError, sendJson } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import { serveOperatorEndpoints } from '../../common/metrics.js'
import type { Startable } from '../../common/startable.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { isTaskId } from '../../protocol/ids.js'
import type { ContentStore, TaskSummary } from '../../storage/content-store.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { parseDownloadRequest } from '../download/download-request.js'
import type { TaskManager } from '../download/task-manager.js'
import { LOCAL_API, encodeResult, errorType } from './local-api.js'

const MAX_REQUEST_BYTES = 1024 * 1024

/**
 * The daemon's local API: HTTP/1.1 on a unix socket, for dfget and dfcache. A download answers
 * with the content in order while it downloads, and a trailer with the outcome; see
 * docs/local-api.md.
 */
export class LocalApiServer implements Startable {
  private readonly server: Server

  constructor(
    private readonly components: { tasks: TaskManager; store: ContentStore; metrics: DaemonMetrics; registry: Registry; logger: Logger },
    private readonly init: { socketPath: string },
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
    const { metrics } = this.components
    let body: unknown
    try {
      body = JSON.parse((await readBody(req, MAX_REQUEST_BYTES)).toString('utf8'))
    } catch (error) {
      throw error instanceof DamselflyError ? error : new DamselflyError('INVALID_ARGUMENT', 'request body is not JSON')
    }
    const request = parseDownloadRequest(body)
    const wantsLocalCopy = new URL(req.url ?? '/', 'http://localhost').searchParams.get('localCopy') === 'true'
    const handle = this.components.tasks.download(request)
    const closed = new AbortController()
    res.on('close', () => {
      closed.abort()
    })
    const headers = { [LOCAL_API.taskIdHeader]: handle.taskId }
    let descriptor
    try {
      descriptor = await handle.descriptor
    } catch (error) {
      const failure = toDamselflyError(error)
      metrics.downloadTasks.inc({ outcome: 'failed' })
      metrics.downloadTaskFailures.inc({ code: failure.code })
      sendError(res, failure, { ...headers, [LOCAL_API.errorTypeHeader]: errorType(failure) })
      return
    }
    const stored = this.components.store.get(handle.taskId)
    if (wantsLocalCopy && stored?.complete && stored.contentPath !== undefined) {
      try {
        await handle.done
      } catch (error) {
        const failure = toDamselflyError(error)
        sendError(res, failure, { ...headers, [LOCAL_API.errorTypeHeader]: errorType(failure) })
        return
      }
      metrics.downloadTasks.inc({ outcome: 'cached' })
      sendJson(res, 200, { taskId: handle.taskId, contentPath: stored.contentPath, contentLength: descriptor.contentLengthBytes })
      return
    }
    res.writeHead(200, {
      ...headers,
      'content-type': 'application/octet-stream',
      ...(descriptor.contentLengthBytes === undefined ? {} : { [LOCAL_API.contentLengthHeader]: String(descriptor.contentLengthBytes) }),
      trailer: LOCAL_API.resultTrailer,
    })
    try {
      await pipeline(handle.read(0, undefined, closed.signal), res, { end: false })
      await handle.done
      metrics.downloadTasks.inc({ outcome: stored?.complete ? 'cached' : 'completed' })
      res.addTrailers({ [LOCAL_API.resultTrailer]: encodeResult(undefined) })
    } catch (error) {
      if (closed.signal.aborted) return
      // A reader fails with the download's own error; wait for it so the trailer names the cause.
      const failure = toDamselflyError(await handle.done.then(() => error, (cause: unknown) => cause))
      metrics.downloadTasks.inc({ outcome: 'failed' })
      metrics.downloadTaskFailures.inc({ code: failure.code })
      res.addTrailers({ [LOCAL_API.resultTrailer]: encodeResult(failure) })
    }
    res.end()
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
