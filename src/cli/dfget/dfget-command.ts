import { createWriteStream } from 'node:fs'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Command, Option } from 'commander'
import { parseBytes, parseDurationMs } from '../../common/units.js'
import { VERSION } from '../../common/version.js'
import { LocalApiClient, type StreamAnswer } from '../../daemon/api/local-api-client.js'
import { decodeResult, LOCAL_API } from '../../daemon/api/local-api.js'
import type { DownloadRequestBody } from '../../daemon/download/download-request.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { formatDigest, parseDigest } from '../../protocol/digest.js'
import { validateFixedPieceLength } from '../../protocol/piece.js'
import { parseUrl } from '../../protocol/task-id.js'
import { fail } from '../exit.js'
import { defaultEndpoint, describeStarted, ensureDaemon } from './ensure-daemon.js'
import { OutputFile } from '../../storage/output-file.js'
import { createProgress, type Progress } from './progress.js'

interface DfgetFlags {
  output: string
  endpoint: string
  digest?: string
  header: string[]
  tag?: string
  application?: string
  filteredQueryParam: string[]
  priority?: string
  pieceLength?: string
  timeout: string
  disableBackToSource?: boolean
  overwrite?: boolean
  progress: boolean
}

const SCHEMES = new Set(['http:', 'https:'])

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new DamselflyError('INVALID_ARGUMENT', `header must look like "Name: value", got ${JSON.stringify(line)}`)
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return headers
}

function parsePriority(value: string): number {
  const priority = Number(value)
  if (!Number.isInteger(priority) || priority < 0 || priority > 6) throw new DamselflyError('INVALID_ARGUMENT', `priority must be 0..6, got ${JSON.stringify(value)}`)
  return priority
}

/** Turns flags into the local API's request; the daemon validates it again at its boundary. */
function requestBody(url: string, flags: DfgetFlags): DownloadRequestBody {
  const parsed = parseUrl(url)
  if (!SCHEMES.has(parsed.protocol)) throw new DamselflyError('UNSUPPORTED_SCHEME', `unsupported URL scheme ${JSON.stringify(parsed.protocol)} (supported: http, https)`)
  return {
    url,
    headers: parseHeaders(flags.header),
    filteredQueryParams: flags.filteredQueryParam,
    disableBackToSource: flags.disableBackToSource === true,
    ...(flags.tag === undefined ? {} : { tag: flags.tag }),
    ...(flags.application === undefined ? {} : { application: flags.application }),
    ...(flags.digest === undefined ? {} : { digest: formatDigest(parseDigest(flags.digest)) }),
    ...(flags.pieceLength === undefined ? {} : { pieceLength: validateFixedPieceLength(parseBytes(flags.pieceLength)) }),
    ...(flags.priority === undefined ? {} : { priority: parsePriority(flags.priority) }),
  }
}

/** Writes a streamed answer to the temporary file; valid only when the trailer says so. */
async function receive(answer: StreamAnswer, output: OutputFile, showProgress: boolean): Promise<void> {
  const progress = await createProgress(showProgress, answer.contentLengthBytes)
  let received = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length
      progress.update(received)
      callback(null, chunk)
    },
  })
  const file = createWriteStream(output.tempPath, { highWaterMark: 1024 * 1024 })
  let writeFailure: unknown
  file.on('error', (error) => {
    writeFailure = error
  })
  try {
    await pipeline(answer.body, counter, file)
  } catch (error) {
    if (writeFailure !== undefined) throw output.writeError(writeFailure)
    throw new DamselflyError('DAEMON_UNAVAILABLE', 'dfdaemon went away during the download', { cause: error })
  } finally {
    progress.stop()
  }
  const failure = decodeResult(answer.body.trailers[LOCAL_API.resultTrailer])
  if (failure !== undefined) throw failure
}

async function download(url: string, flags: DfgetFlags, signal: AbortSignal): Promise<void> {
  const body = requestBody(url, flags)
  const output = await OutputFile.prepare(flags.output, flags.overwrite === true)
  let progress: Progress | undefined
  try {
    const client = new LocalApiClient({ socketPath: flags.endpoint })
    const started = await ensureDaemon(client, flags.endpoint, signal)
    if (started !== undefined) process.stderr.write(`dfget: ${describeStarted(started)}\n`)
    // The daemon stores the content; dfget then links its file (no bytes copied) or copies it.
    const answer = await client.downloadPath(body, {
      signal,
      onStart: async (total) => {
        progress = await createProgress(flags.progress, total)
      },
      onProgress: (completed) => progress?.update(completed),
    })
    progress?.stop()
    if (answer.contentPath === null || !(await output.adopt(answer.contentPath))) {
      // The store is not readable from here (another user's daemon): let the daemon send the bytes.
      await receive(await client.downloadStream(body, signal), output, flags.progress)
    }
    await output.commit()
  } catch (error) {
    progress?.stop()
    await output.discard()
    throw error
  }
}

export function dfgetCommand(): Command {
  return new Command('dfget')
    .description('download a URL through the local dfdaemon (P2P when peers have it, else from the source)')
    .version(VERSION)
    .argument('<url>', 'what to download (http or https)')
    .requiredOption('-O, --output <path>', 'where to write the content')
    .option('-e, --endpoint <socket>', 'unix socket of the local dfdaemon; on the default one (DFDAEMON_DOWNLOAD_SERVER_SOCKET_PATH, else the path shown) dfget starts a daemon when none answers', defaultEndpoint(process.env))
    .option('--digest <digest>', 'expected digest of the content: sha256:<hex>, sha512:<hex> or crc32:<hex>')
    .option('-H, --header <header>', 'header sent to the source, "Name: value" (repeatable)', collect, [])
    .option('--tag <tag>', 'tag that makes a different task of the same URL')
    .option('--application <name>', 'application the download belongs to (part of the task id)')
    .option('--filtered-query-param <key>', 'query parameter ignored in the task id (repeatable)', collect, [])
    .option('-p, --priority <0-6>', 'scheduling priority, 0..6 (default 6)')
    .option('--piece-length <bytes>', 'fixed piece length, e.g. 4MiB (part of the task id)')
    .option('--timeout <duration>', 'give up after this long, e.g. 30s, 5m, 2h', '2h')
    .option('--disable-back-to-source', 'fail instead of downloading from the source')
    .option('--overwrite', 'replace the output file if it exists')
    .addOption(new Option('--no-progress', 'do not show a progress bar'))
    .action(async (url: string, flags: DfgetFlags) => {
      const controller = new AbortController()
      const onSignal = (signal: NodeJS.Signals): void => {
        controller.abort(new DamselflyError('CANCELLED', `interrupted by ${signal}`))
      }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        const timeoutMs = parseDurationMs(flags.timeout)
        const timeout = AbortSignal.timeout(timeoutMs)
        try {
          await download(url, flags, AbortSignal.any([controller.signal, timeout]))
        } catch (error) {
          // Whatever broke once the signal came (the socket, the stream) broke because of it.
          if (controller.signal.aborted) throw controller.signal.reason as DamselflyError
          if (timeout.aborted) throw new DamselflyError('TIMEOUT', `download did not finish within ${flags.timeout}`, { cause: error })
          throw error
        }
      } catch (error) {
        const failure = toDamselflyError(error)
        fail('dfget', failure.code.startsWith('SOURCE_') || failure.code === 'DIGEST_MISMATCH' ? new DamselflyError(failure.code, `download failed: ${failure.message}`) : failure)
      }
    })
}
