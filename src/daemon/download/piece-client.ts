import { createSecureContext, type ConnectionOptions } from 'node:tls'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { PieceConnection, type ParentAddress, type PieceAnswer, type PieceRequest, type PieceSink } from './piece-connection.js'

export type { ParentAddress, PieceAnswer, PieceRequest, PieceSink } from './piece-connection.js'

export interface PieceClientInit {
  /** This host's client certificate and the cluster CA, for parents that serve over TLS; undefined with --insecure. */
  readonly tls: ConnectionOptions | undefined
  /** Connections to one parent at most; requests beyond wait for one to come free. */
  readonly connectionsPerParent: number
  /** A request whose parent sends nothing for this long fails. */
  readonly idleTimeoutMs: number
  /**
   * An idle connection is closed after this long; below the upload server's keep-alive timeout
   * (`UPLOAD_KEEP_ALIVE_TIMEOUT_MS`), so a parent rarely closes one under a request.
   */
  readonly keepAliveMs: number
}

export const PIECE_CLIENT_DEFAULTS = {
  connectionsPerParent: 16,
  idleTimeoutMs: 10_000,
  // Long enough to span the gaps between a slow download's pieces from one parent: with 4 s, a
  // child on a 20 Mbit/s link opened a connection, and paid a TLS handshake, for most pieces.
  keepAliveMs: 55_000,
} as const satisfies Omit<PieceClientInit, 'tls'>

interface Parent {
  readonly idle: PieceConnection[]
  readonly all: Set<PieceConnection>
  readonly waiting: Array<() => void>
  readonly idleTimers: Map<PieceConnection, NodeJS.Timeout>
}

/**
 * Fetches pieces from parents' upload servers over a few keep-alive connections per parent
 * ({@link PieceConnection}), so a piece costs one request on a connection already open. A request
 * that fails before any answer on a reused connection (the parent closed it while idle) is sent
 * once more on a fresh one, as HTTP clients do for idempotent requests.
 */
function secureOptions(tls: ConnectionOptions | undefined): ConnectionOptions | undefined {
  return tls === undefined ? undefined : { secureContext: createSecureContext(tls), ...(tls.checkServerIdentity === undefined ? {} : { checkServerIdentity: tls.checkServerIdentity }) }
}

export class PieceClient {
  private readonly parents = new Map<string, Parent>()
  private closed = false
  /** One secure context for every connection: building one parses the key and certificates, a cost per handshake otherwise. */
  private tls: ConnectionOptions | undefined

  constructor(private readonly init: PieceClientInit) {
    this.tls = secureOptions(init.tls)
  }

  /**
   * Connections from now on show this certificate (a renewed one); open connections keep the
   * one they were made with, which TLS checked at their handshake.
   */
  setTls(tls: ConnectionOptions): void {
    this.tls = secureOptions(tls)
  }

  /** GETs `request` from the parent; a 206's body goes to `sink`. See {@link PieceConnection.request} for failures. */
  async get(address: ParentAddress, request: PieceRequest, sink: PieceSink, signal: AbortSignal): Promise<PieceAnswer> {
    for (;;) {
      const connection = await this.acquire(address, signal)
      const reused = connection.usedCount > 0
      try {
        return await connection.request(request, sink, signal)
      } catch (error) {
        if (!(reused && connection.failedUnanswered && !signal.aborted)) throw error
      } finally {
        this.release(connection)
      }
    }
  }

  /** Closes every connection; requests under way fail. Safe to repeat. */
  close(): void {
    this.closed = true
    for (const parent of this.parents.values()) {
      for (const connection of parent.all) connection.close(new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping'))
      for (const wake of parent.waiting.splice(0)) wake()
    }
    this.parents.clear()
  }

  private parentOf(address: ParentAddress): Parent {
    const key = keyOf(address)
    let parent = this.parents.get(key)
    if (parent === undefined) {
      parent = { idle: [], all: new Set(), waiting: [], idleTimers: new Map() }
      this.parents.set(key, parent)
    }
    return parent
  }

  private async acquire(address: ParentAddress, signal: AbortSignal): Promise<PieceConnection> {
    for (;;) {
      if (this.closed) throw new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping')
      signal.throwIfAborted()
      const parent = this.parentOf(address)
      const idle = parent.idle.pop()
      if (idle !== undefined) {
        clearTimeout(parent.idleTimers.get(idle))
        parent.idleTimers.delete(idle)
        if (idle.open) return idle
        continue
      }
      if (parent.all.size < this.init.connectionsPerParent) {
        const connection = new PieceConnection(address, { tls: this.tls, idleTimeoutMs: this.init.idleTimeoutMs })
        parent.all.add(connection)
        connection.onClose = () => {
          parent.all.delete(connection)
          const at = parent.idle.indexOf(connection)
          if (at !== -1) parent.idle.splice(at, 1)
          clearTimeout(parent.idleTimers.get(connection))
          parent.idleTimers.delete(connection)
          parent.waiting.shift()?.()
          if (parent.all.size === 0 && parent.waiting.length === 0 && this.parents.get(keyOf(address)) === parent) this.parents.delete(keyOf(address))
        }
        return connection
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal.removeEventListener('abort', wake)
          const at = parent.waiting.indexOf(wake)
          if (at !== -1) parent.waiting.splice(at, 1)
          resolve()
        }
        parent.waiting.push(wake)
        signal.addEventListener('abort', wake, { once: true })
      })
    }
  }

  private release(connection: PieceConnection): void {
    const parent = this.parents.get(keyOf(connection.address))
    if (parent === undefined) return
    if (connection.open && !this.closed) {
      parent.idle.push(connection)
      const timer = setTimeout(() => {
        connection.close()
      }, this.init.keepAliveMs)
      timer.unref()
      parent.idleTimers.set(connection, timer)
    }
    parent.waiting.shift()?.()
  }
}

function keyOf(address: ParentAddress): string {
  return `${address.tls ? 'tls' : 'plain'} ${address.host} ${address.port}`
}
