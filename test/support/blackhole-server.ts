import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP server on 127.0.0.1 port 0 that accepts every connection and never answers: `silent`
 * reads and drops what arrives, `stalled` stops reading at once, as a process that hangs does.
 * What a scheduler behind a blackholing firewall rule, or a stopped one, looks like to a client.
 * `refusing` resets every connection at once, as a host whose process is gone does, while the
 * port stays held: the address of a process a test killed can be taken by another test's server,
 * which a client then waits on instead of failing at once.
 */
export class BlackholeServer {
  private readonly sockets = new Set<Socket>()
  /** Connections accepted so far. */
  accepted = 0

  private constructor(private readonly server: Server) {}

  static async start(mode: 'silent' | 'stalled' | 'refusing'): Promise<BlackholeServer> {
    const server = createServer()
    const blackhole = new BlackholeServer(server)
    server.on('connection', (socket) => {
      blackhole.accepted++
      blackhole.sockets.add(socket)
      socket.on('close', () => blackhole.sockets.delete(socket))
      socket.on('error', () => undefined)
      if (mode === 'refusing') socket.resetAndDestroy()
      else if (mode === 'silent') socket.resume()
      else socket.pause()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return blackhole
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
