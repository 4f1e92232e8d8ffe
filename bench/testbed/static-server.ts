/**
 * A tiny static HTTP origin for the testbed: serves the files of `--dir` with HEAD and single
 * Range support, and answers `GET /_stats` with the body bytes it has sent so far.
 * Run: `node --import tsx bench/testbed/static-server.ts --dir D --ip 10.77.0.2 --port 8080`.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { dir: { type: 'string' }, ip: { type: 'string' }, port: { type: 'string' } } })
if (values.dir === undefined || values.ip === undefined || values.port === undefined) {
  console.error('usage: static-server.ts --dir D --ip IP --port PORT')
  process.exit(2)
}
const dir = values.dir
let bodyBytesSent = 0
let gets = 0

function parseRange(header: string | undefined, length: number): readonly [number, number] | undefined | 'invalid' {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return 'invalid'
  const [, startText = '', endText = ''] = match
  if (startText === '') {
    const suffix = Number(endText)
    return suffix === 0 ? 'invalid' : [Math.max(0, length - suffix), length - 1]
  }
  const start = Number(startText)
  const end = endText === '' ? length - 1 : Math.min(Number(endText), length - 1)
  return start > end || start >= length ? 'invalid' : [start, end]
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://origin').pathname
  if (path === '/_stats') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ bodyBytesSent, gets }))
    return
  }
  const file = join(dir, basename(path))
  const info = await stat(file).catch(() => undefined)
  if (info === undefined || !info.isFile()) {
    res.statusCode = 404
    res.end('not found\n')
    return
  }
  const range = parseRange(req.headers.range, info.size)
  if (range === 'invalid') {
    res.statusCode = 416
    res.setHeader('content-range', `bytes */${info.size}`)
    res.end()
    return
  }
  const [start, end] = range ?? [0, info.size - 1]
  res.statusCode = range === undefined ? 200 : 206
  res.setHeader('accept-ranges', 'bytes')
  res.setHeader('content-length', String(end - start + 1))
  if (range !== undefined) res.setHeader('content-range', `bytes ${start}-${end}/${info.size}`)
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  gets += 1
  const stream = createReadStream(file, { start, end })
  stream.on('data', (chunk) => (bodyBytesSent += chunk.length))
  stream.on('error', (error) => res.destroy(error))
  stream.pipe(res)
}

const server = createServer({ keepAlive: true }, (req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(JSON.stringify({ msg: 'request failed', err: String(error) }))
    res.destroy()
  })
})
// The bound port, so `--port 0` callers can find it.
server.listen(Number(values.port), values.ip, () => console.log(JSON.stringify({ msg: 'origin listening', ip: values.ip, port: (server.address() as AddressInfo).port })))
process.once('SIGTERM', () => process.exit(0))
