import { createServer } from 'node:net'

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for tools that cannot listen on port 0 and
 * report what they bound (opentracker, aria2c). Another process may take it in between; the tool
 * then fails to start and says so.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port === 0 ? reject(new Error('the kernel gave no port')) : resolvePort(port)))
    })
  })
}
