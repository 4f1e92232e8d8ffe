import type { Socket } from 'node:net'
import { buildConnector } from 'undici'

/**
 * An undici connector (for `new Agent({ connect })`) whose sockets announce their end only once
 * undici's HTTP/1 parser has taken every byte before it and asks for more.
 *
 * undici 7's parser asserts that it is not paused when its socket ends (nodejs/undici#5360, fixed
 * only in undici 8, which needs Node 22). A reader that holds a body back (a rate limit, a slow
 * client of the mirror) pauses the parser; when the server closes the connection after the body
 * (`Connection: close`, HTTP/1.0, python's http.server), the socket's `'end'` can come while the
 * parser is paused on the last bytes, and it throws an AssertionError no caller can catch: the
 * process dies. A socket schedules `'end'` from whichever `read()` finds its buffer empty after the
 * FIN: Node's own `read(0)` when the FIN arrives, or undici's `read()` taking the last bytes. Here
 * the first is left out and the second asks for what is buffered by size, which hands over the same
 * bytes without scheduling `'end'`; `'end'` then waits for undici's next `read()`, which it makes
 * only while its parser runs.
 *
 * Safe to wrap any connector, including one that checks addresses. Each socket is changed once,
 * when it connects.
 */
export function endSafeConnector(connect: buildConnector.BuildOptions | buildConnector.connector): buildConnector.connector {
  const inner = typeof connect === 'function' ? connect : buildConnector(connect)
  return (options, callback) => {
    inner(options, (...args) => {
      if (args[0] === null) endOnlyWhenParserReads(args[1])
      callback(...args)
    })
  }
}

function endOnlyWhenParserReads(socket: Socket): void {
  let finReceived = false
  const push = socket.push.bind(socket)
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null) finReceived = true
    return push(chunk, encoding)
  }
  const read = socket.read.bind(socket)
  socket.read = (size?: number): unknown => {
    if (socket.readableLength === 0) return size === 0 && finReceived ? null : read(size)
    if (size !== undefined) return read(size)
    return read(Math.min(socket.readableLength, socket.readableHighWaterMark))
  }
}
