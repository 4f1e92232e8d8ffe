import { Transform, type Readable } from 'node:stream'
import { DamselflyError } from '../protocol/damselfly-error.js'

/**
 * Passes `source` through while counting its bytes, so a body that is shorter or longer than
 * `expectedBytes` fails with SOURCE_TRUNCATED whatever the HTTP client checked on its own.
 * Errors of `source` are passed through `mapError`; destroying the result destroys `source`.
 */
export function countedBody(
  source: Readable,
  init: {
    expectedBytes: number | undefined
    signal: AbortSignal
    /** Names the body in messages; carries no query string. */
    describe: string
    mapError: (error: unknown) => DamselflyError
  },
): Readable {
  const { expectedBytes, describe } = init
  let receivedBytes = 0
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      receivedBytes += chunk.length
      if (expectedBytes !== undefined && receivedBytes > expectedBytes) {
        callback(truncated(`${describe} sent more than the ${expectedBytes} bytes announced`))
        return
      }
      callback(null, chunk)
    },
    flush(callback) {
      if (expectedBytes !== undefined && receivedBytes !== expectedBytes) {
        callback(truncated(`${describe} ended after ${receivedBytes} of ${expectedBytes} bytes`))
        return
      }
      callback()
    },
  })

  const onAbort = (): void => {
    counted.destroy(new DamselflyError('CANCELLED', `${describe} was cancelled`, { cause: init.signal.reason }))
  }
  init.signal.addEventListener('abort', onAbort, { once: true })
  source.on('error', (error) => {
    const mapped = init.mapError(error)
    const ofBytes = `after ${receivedBytes} of ${expectedBytes ?? 'an unknown number of'} bytes`
    counted.destroy(mapped.code === 'SOURCE_TRUNCATED' ? new DamselflyError('SOURCE_TRUNCATED', `${describe} ended ${ofBytes} (${reasonOf(error)})`, { cause: error }) : mapped)
  })
  counted.once('close', () => {
    init.signal.removeEventListener('abort', onAbort)
    if (!source.destroyed) source.destroy()
  })
  if (init.signal.aborted) onAbort()
  else source.pipe(counted)
  return counted
}

function truncated(message: string): DamselflyError {
  return new DamselflyError('SOURCE_TRUNCATED', message)
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown'
}
