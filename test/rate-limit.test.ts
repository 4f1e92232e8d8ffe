import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { disjoint, MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Behaviour, type Content } from './support/origin-server.js'
import { dfget, socketGet, startDaemon, type DaemonProcess } from './support/processes.js'

const RATE_BYTES_PER_SECOND = 16 * MiB

describe('rate limits against an origin that closes the connection after each body', { timeout: 180_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content
  const daemons: Record<string, DaemonProcess> = {}

  before(async () => {
    dir = await tempDir('rate-limit')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 8 * MiB)
    daemons['download.rateLimit'] = await startDaemon(join(dir.path, 'download-limited'), { env: { DFDAEMON_DOWNLOAD_RATE_LIMIT: String(RATE_BYTES_PER_SECOND) } })
    daemons['source.rateLimit'] = await startDaemon(join(dir.path, 'source-limited'), { env: { DFDAEMON_SOURCE_RATE_LIMIT: String(RATE_BYTES_PER_SECOND) } })
  })

  after(async () => {
    for (const daemon of Object.values(daemons)) await daemon.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  const origins: Record<string, Behaviour> = {
    'in ranged pieces': { closeConnection: true },
    'in one stream, ranges ignored as python\'s http.server does': { closeConnection: true, ignoreRanges: true },
  }
  for (const key of ['download.rateLimit', 'source.rateLimit']) {
    for (const [how, behaviour] of Object.entries(origins)) {
      it(`downloads intact under ${key} ${how}, and the daemon lives on`, { timeout: 60_000 }, async () => {
        const daemon = daemons[key]!
        const path = `/${key}/${how.split(' ').slice(0, 3).join('-')}`
        const url = origin.serve(path, content, behaviour)
        const output = join(dir.path, `${key}-${Object.keys(origins).indexOf(how)}.bin`)
        const startedMs = Date.now()
        const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 30_000 })
        const elapsedMs = Date.now() - startedMs
        assert.equal(result.code, 0, result.stderr)
        assert.equal(await sha256File(output), content.sha256)
        const served = origin.statsOf(path).completedRanges
        assert.ok(disjoint(served), 'no byte was served twice')
        assert.equal(served.reduce((sum, [first, last]) => sum + last - first + 1, 0), content.length, 'the origin sent each byte once')
        // 8 MiB at 16 MiB/s is half a second; the bucket's burst lets a little through at once.
        assert.ok(elapsedMs >= 350, `8 MiB took ${elapsedMs} ms under a 16 MiB/s limit`)
        assert.equal(daemon.child.exitCode, null, 'the daemon is still running')
        assert.equal((await socketGet(daemon.socketPath, '/healthy')).status, 200)
      })
    }
  }
})
