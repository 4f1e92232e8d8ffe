import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { systemClock } from '../../common/clock.js'
import { silentLogger } from '../../common/logger.js'
import { TokenBucket } from '../../common/token-bucket.js'
import { decodePieceBitfield } from '../../protocol/piece-bitfield.js'
import { NEVER_ABORTED, testContent, testDescriptor, writeTestPiece } from '../../storage/content-store.contract.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { DaemonMetrics } from '../daemon-metrics.js'
import { PieceClient, type PieceAnswer } from '../download/piece-client.js'
import { OPEN_ACCESS } from './piece-access.js'
import { UploadServer } from './upload-server.js'

const TEST = { timeout: 10_000 }
/** testDescriptor's content: 4,500 bytes in pieces of 1,000. */
const PIECES = 5

describe('UploadServer: a child watching which pieces this host holds', TEST, () => {
  const store = new MemoryContentStore({ logger: silentLogger() })
  const metrics = new DaemonMetrics(new Registry())
  const server = new UploadServer(
    { store, limiter: new TokenBucket({ clock: systemClock }, { rateBytesPerSecond: 0 }), access: OPEN_ACCESS, metrics, logger: silentLogger() },
    { host: '127.0.0.1', port: 0, tls: undefined, disableShared: false, concurrentLimit: 4, seedUploadsPerTask: undefined },
  )
  const client = new PieceClient({ tls: undefined, connectionsPerParent: 4, idleTimeoutMs: 8_000, keepAliveMs: 1_000 })
  const content = testContent(4500)

  before(async () => {
    await store.open()
    await server.start()
  })
  after(async () => {
    client.close()
    await server.stop()
    await store.close()
  })

  function watch(taskId: string, known: string | number): Promise<PieceAnswer> {
    const [host = '', port = ''] = server.address.split(':')
    const path = `/pieces/${taskId.slice(0, 3)}/${taskId}?peerId=child&known=${known}`
    return client.get({ host, port: Number(port), tls: false }, { path, headers: {} }, () => Promise.reject(new Error('no piece bytes here')), NEVER_ABORTED)
  }

  it('answers at once when it holds pieces the child does not know of, and otherwise once it records one', TEST, async () => {
    const task = await store.create(testDescriptor('watched'))
    await writeTestPiece(task, content, 1)
    const first = await watch(task.descriptor.taskId, 0)
    assert.equal(first.status, 200)
    assert.deepEqual(decodePieceBitfield(first.body, PIECES), [1])

    let answered = false
    const next = watch(task.descriptor.taskId, 1).then((answer) => {
      answered = true
      return answer
    })
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(answered, false, 'it waits for news')
    await writeTestPiece(task, content, 3)
    await writeTestPiece(task, content, 4)
    const later = await next
    assert.equal(later.status, 200)
    assert.deepEqual(decodePieceBitfield(later.body, PIECES), [1, 3, 4])
    assert.equal((await metrics.pieceWatchAnswers.get()).values[0]?.value, 2)
  })

  it('answers at once for a complete task, and refuses a malformed count or an unknown task', TEST, async () => {
    const task = await store.create(testDescriptor('complete'))
    for (let number = 0; number < PIECES; number++) await writeTestPiece(task, content, number)
    await task.finish()
    const whole = await watch(task.descriptor.taskId, PIECES)
    assert.deepEqual(decodePieceBitfield(whole.body, PIECES), [0, 1, 2, 3, 4])
    const malformed = await watch(task.descriptor.taskId, '-1')
    assert.equal(malformed.status, 400)
    assert.equal((JSON.parse(malformed.body.toString()) as { error: { message: string } }).error.message, 'known must be a count of pieces, not "-1"')
    const unknown = await watch('f'.repeat(64), 0)
    assert.equal(unknown.status, 404)
  })
})
