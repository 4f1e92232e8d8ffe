import type { Socket } from 'node:net'
import { buildConnector } from 'undici'

/**
 * An undici connector (for `new Agent({ connect })`) whose sockets announce their end only once
 * undici's HTTP/1 parser has taken every byte before it and is not paused.
 *
 * undici 7's parser asserts that it is not paused when its socket ends (nodejs/undici#5360, fixed
 * only in undici 8, which needs Node 22). A reader that holds a body back (a rate limit, a slow
 * client of the mirror) pauses the parser; when the server closes the connection after the body
 * (`Connection: close`, HTTP/1.0, python's http.server), the socket's `'end'` can come while the
 * parser is paused, and it throws an AssertionError no caller can catch: the process dies.
 *
 * A socket schedules `'end'` from whichever `read()` finds its buffer empty after the FIN. Three
 * reads could do it while the parser pauses: Node's own `read(0)` when the FIN arrives (left out
 * here); undici's `read()` taking the last bytes (asked for by size here, which hands over the
 * same bytes without scheduling `'end'`); and undici's `read()` as it resumes, which finds nothing
 * and then feeds its parser an empty buffer. That empty feed still calls the body's handler while a
 * body runs to the close, and a reader whose buffer is full pauses the parser again in the same
 * turn. So an empty read after the FIN schedules `'end'` only a tick later, and only if the parser
 * has not paused since: it hands back its unparsed bytes with `unshift()` (none, often) each time
 * it pauses, and reads again only once it runs.
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
  let parserPauses = 0
  let parserPausesAtLastRead = 0
  let endCheckPending = false
  const push = socket.push.bind(socket)
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null) finReceived = true
    return push(chunk, encoding)
  }
  const unshift = socket.unshift.bind(socket)
  socket.unshift = (chunk: unknown, encoding?: BufferEncoding): void => {
    parserPauses += 1
    unshift(chunk, encoding)
  }
  const read = socket.read.bind(socket)
  const endUnlessParserPaused = (): void => {
    endCheckPending = false
    if (parserPauses === parserPausesAtLastRead) read()
  }
  socket.read = (size?: number): unknown => {
    if (socket.readableLength > 0) return read(size ?? Math.min(socket.readableLength, socket.readableHighWaterMark))
    if (!finReceived) return read(size)
    if (size === undefined) {
      parserPausesAtLastRead = parserPauses
      if (!endCheckPending) {
        endCheckPending = true
        process.nextTick(endUnlessParserPaused)
      }
    }
    return null
  }
}
