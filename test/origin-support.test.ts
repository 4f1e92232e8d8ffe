import assert from 'node:assert/strict'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MiB, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'

// The test origin the suites count bytes with: its counts must include what is still on its way.

describe('origin support: what the test origin sent', { timeout: 60_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content

  before(async () => {
    dir = await tempDir('origin-support')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 8 * MiB)
  })

  after(async () => {
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('settles its counts only once every response for the path has ended', { timeout: 30_000 }, async () => {
    const url = origin.serve('/slow-reader', content)
    // A client that reads the first bytes, then nothing for a while, as a busy peer does.
    let received = 0
    const done = new Promise<void>((resolve, reject) => {
      request(url, (res) => {
        res.once('data', (chunk: Buffer) => {
          received += chunk.length
          res.pause()
          setTimeout(() => res.resume(), 1_500)
        })
        res.on('data', (chunk: Buffer) => (received += chunk.length))
        res.on('end', resolve)
        res.on('error', reject)
      }).on('error', reject).end()
    })
    const settled = await origin.settledStatsOf('/slow-reader')
    await done
    assert.equal(settled.bodyBytesSent, content.length, 'the whole body, not what was sent when the client stalled')
    assert.deepEqual(settled.completedRanges, [[0, content.length - 1]])
  })
})
