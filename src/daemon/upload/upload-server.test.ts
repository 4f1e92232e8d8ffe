import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { systemClock } from '../../common/clock.js'
import { createLogger, silentLogger, type Logger } from '../../common/logger.js'
import { TokenBucket } from '../../common/token-bucket.js'
import { PieceListReader } from '../../protocol/piece-list.js'
import { NEVER_ABORTED, testContent, testDescriptor, writeTestPiece } from '../../storage/content-store.contract.js'
import type { StoredTask } from '../../storage/content-store.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { DaemonMetrics } from '../daemon-metrics.js'
import { PieceClient, type PieceAnswer } from '../download/piece-client.js'
import { OPEN_ACCESS, type PieceAccess } from './piece-access.js'
import { UploadServer } from './upload-server.js'

const TEST = { timeout: 10_000 }
/** testDescriptor's content: 4,500 bytes in pieces of 1,000. */
const PIECES = 5

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let tries = 0; !condition(); tries++) {
    if (tries > 200) assert.fail(`never: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function uploadServer(store: MemoryContentStore, metrics: DaemonMetrics, options: { maxPieceWatches?: number; access?: PieceAccess; logger?: Logger } = {}): UploadServer {
  const { maxPieceWatches, access = OPEN_ACCESS, logger = silentLogger() } = options
  return new UploadServer(
    { store, limiter: new TokenBucket({ clock: systemClock }, { rateBytesPerSecond: 0 }), access, metrics, logger },
    { host: '127.0.0.1', port: 0, tls: undefined, disableShared: false, concurrentLimit: 4, seedUploadsPerTask: undefined, ...(maxPieceWatches === undefined ? {} : { maxPieceWatches }) },
  )
}

/** Opens a watch of `taskId` on `server`; `listed` grows as the server lists pieces. */
function watch(server: UploadServer, client: PieceClient, taskId: string, signal: AbortSignal = NEVER_ABORTED): { listed: number[]; answer: Promise<PieceAnswer> } {
  const [host = '', port = ''] = server.address.split(':')
  const listed: number[] = []
  const reader = new PieceListReader(PIECES)
  const path = `/pieces/${taskId.slice(0, 3)}/${taskId}?peerId=child`
  const answer = client.get({ host, port: Number(port), tls: false }, { path, headers: {}, bodyStatus: 200 }, (chunk) => {
    listed.push(...reader.read(chunk))
    return undefined
  }, signal)
  return { listed, answer }
}

/** A started server with a store, taking one watch at most, and a client of it. */
async function oneWatchServer(): Promise<{ store: MemoryContentStore; server: UploadServer; client: PieceClient }> {
  const store = new MemoryContentStore({ logger: silentLogger() })
  await store.open()
  const server = uploadServer(store, new DaemonMetrics(new Registry()), { maxPieceWatches: 1 })
  await server.start()
  return { store, server, client: new PieceClient({ tls: undefined, connectionsPerParent: 4, idleTimeoutMs: 8_000, keepAliveMs: 1_000 }) }
}

describe('UploadServer: a child watching which pieces this host holds', TEST, () => {
  const store = new MemoryContentStore({ logger: silentLogger() })
  const metrics = new DaemonMetrics(new Registry())
  const server = uploadServer(store, metrics)
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

  it('lists the pieces it holds, then each one it records, and ends once it holds them all', TEST, async () => {
    const task = await store.create(testDescriptor('watched'))
    await writeTestPiece(task, content, 1)
    const { listed, answer } = watch(server, client, task.descriptor.taskId)
    await until(() => listed.length === 1, 'the piece held when the watch came')
    assert.deepEqual(listed, [1])
    await writeTestPiece(task, content, 3)
    await until(() => listed.length === 2, 'a piece recorded later')
    for (const number of [4, 0, 2]) await writeTestPiece(task, content, number)
    assert.equal((await answer).status, 200)
    assert.deepEqual(listed, [1, 3, 4, 0, 2], 'each piece once, in the order recorded')
    assert.equal((await metrics.pieceWatches.get()).values[0]?.value, 1)
  })

  it('lists a complete task at once, and answers 404 for a task it does not hold', TEST, async () => {
    const task = await store.create(testDescriptor('complete'))
    for (let number = 0; number < PIECES; number++) await writeTestPiece(task, content, number)
    await task.finish()
    const whole = watch(server, client, task.descriptor.taskId)
    assert.equal((await whole.answer).status, 200)
    assert.deepEqual(whole.listed, [0, 1, 2, 3, 4])
    const unknown = watch(server, client, 'f'.repeat(64))
    assert.equal((await unknown.answer).status, 404)
    assert.deepEqual(unknown.listed, [])
  })
})

describe('UploadServer: stopping with children watching, and too many of them', TEST, () => {
  it('refuses a list past its limit, and ends the lists it streams at once when it stops instead of waiting out the close\'s grace', TEST, async () => {
    const { store, server, client } = await oneWatchServer()
    const task = await store.create(testDescriptor('unfinished'))
    const { answer } = watch(server, client, task.descriptor.taskId)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const refused = await watch(server, client, task.descriptor.taskId).answer
    assert.equal(refused.status, 503, 'one list at most on this server')
    assert.match(refused.body.toString(), /TOO_MANY_UPLOADS/)
    const startedMs = Date.now()
    await server.stop()
    assert.ok(Date.now() - startedMs < 2_000, `stopping took ${Date.now() - startedMs} ms`)
    await assert.rejects(answer, /closed the connection/)
    client.close()
    await store.close()
  })

  it('frees the place of a child that hangs up its list, for the next child', TEST, async () => {
    const { store, server, client } = await oneWatchServer()
    const task = await store.create(testDescriptor('hung-up'))
    try {
      const hangUp = new AbortController()
      const first = watch(server, client, task.descriptor.taskId, hangUp.signal).answer
      await new Promise((resolve) => setTimeout(resolve, 100))
      hangUp.abort(new Error('the child left'))
      await assert.rejects(first, /the child left/)
      // Nothing is recorded meanwhile: only the hang-up can give the place back.
      let next: ReturnType<typeof watch> | undefined
      for (let tries = 0; next === undefined; tries++) {
        if (tries > 30) assert.fail('the hung-up list kept its place')
        const candidate = watch(server, client, task.descriptor.taskId)
        const early = await Promise.race([candidate.answer, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))])
        if (early === undefined) next = candidate
        else assert.equal(early.status, 503)
      }
      for (let number = 0; number < PIECES; number++) await writeTestPiece(task, testContent(4500), number)
      assert.equal((await next.answer).status, 200)
    } finally {
      client.close()
      await server.stop()
      await store.close()
    }
  })
})

describe('UploadServer: a child whose access lapses while it watches', TEST, () => {
  it('is told no piece recorded after its capability expired or its host was revoked', TEST, async () => {
    const store = new MemoryContentStore({ logger: silentLogger() })
    await store.open()
    let allowed = true
    const server = uploadServer(store, new DaemonMetrics(new Registry()), { access: { check: () => ({ holds: () => allowed }) } })
    await server.start()
    const client = new PieceClient({ tls: undefined, connectionsPerParent: 4, idleTimeoutMs: 8_000, keepAliveMs: 1_000 })
    const content = testContent(4500)
    const task = await store.create(testDescriptor('lapsing'))
    await writeTestPiece(task, content, 0)
    const { listed, answer } = watch(server, client, task.descriptor.taskId)
    try {
      await until(() => listed.length === 1, 'the piece held when the watch came')
      allowed = false
      await writeTestPiece(task, content, 1)
      const ended = await Promise.race([answer.then(() => 'answered', () => 'broken'), new Promise((resolve) => setTimeout(resolve, 2_000, 'still open'))])
      assert.equal(ended, 'broken', 'the list stops at once rather than wait for more pieces')
      assert.deepEqual(listed, [0])
    } finally {
      client.close()
      await server.stop()
      await store.close()
    }
  })
})

describe('UploadServer: a piece that breaks off', TEST, () => {
  it('logs a child hanging up at debug, and a piece it cannot read at warn', TEST, async () => {
    const lines: Array<{ level: number; msg: string }> = []
    const logger = createLogger({ level: 'debug', name: 'test', destination: { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) } })
    const store = new MemoryContentStore({ logger: silentLogger() })
    await store.open()
    const server = uploadServer(store, new DaemonMetrics(new Registry()), { logger })
    await server.start()
    const client = new PieceClient({ tls: undefined, connectionsPerParent: 1, idleTimeoutMs: 8_000, keepAliveMs: 1_000 })
    const task = await store.create(testDescriptor('breaking'))
    await writeTestPiece(task, testContent(4500), 0)
    const { taskId } = task.descriptor
    const [host = '', port = ''] = server.address.split(':')
    // The store's read fails as the connection's write would: with a child that hung up (a write to a closed TLS
    // connection fails with EPIPE before the response learns it closed), or with this host's own storage failing.
    let failure: Error = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
    const get = store.get.bind(store)
    store.get = (id) => (id === taskId ? Object.assign(Object.create(task) as StoredTask, { sendRange: () => Promise.reject(failure) }) : get(id))
    const fetchPiece = (): Promise<string> => client
      .get({ host, port: Number(port), tls: false }, { path: `/download/${taskId.slice(0, 3)}/${taskId}?peerId=child`, headers: { range: 'bytes=0-999' } }, () => undefined, NEVER_ABORTED)
      .then(() => 'answered', () => 'broken')
    try {
      assert.equal(await fetchPiece(), 'broken')
      await until(() => lines.some((line) => line.msg === 'child hung up during an upload'), 'the hang-up logged')
      assert.deepEqual(lines.filter((line) => line.level >= 40), [], 'nothing at warn for a child that hung up')

      failure = new Error('the file ends at byte 0, before byte 999')
      assert.equal(await fetchPiece(), 'broken')
      await until(() => lines.some((line) => line.level === 40 && line.msg === 'upload interrupted'), 'the read failure logged at warn')
    } finally {
      client.close()
      await server.stop()
      await store.close()
    }
  })
})
