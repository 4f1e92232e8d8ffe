import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TaskId } from '../../../src/protocol/ids.js'
import { EventLoop } from '../engine.js'
import { Network } from '../network.js'
import { HeldPieces, UploadServer, type PieceRequest, type UploadAnswer } from './upload-server.js'

const TASK = 'a'.repeat(64) as TaskId
const PARENT = 0
const CHILD = 1
const TEST = { timeout: 5_000 }

function setup(init: { concurrentLimit?: number; seedUploadsPerTask?: number }): { loop: EventLoop; held: HeldPieces; server: UploadServer } {
  const loop = new EventLoop()
  const network = new Network(loop, { recomputeQuantumMs: 0 })
  network.addHost(PARENT, { upBytesPerMs: 10, downBytesPerMs: 10, latencyMs: 1 })
  network.addHost(CHILD, { upBytesPerMs: 10, downBytesPerMs: 10, latencyMs: 1 })
  const held = new HeldPieces(4)
  const server = new UploadServer(
    { loop, network, held: (taskId) => (taskId === TASK ? held : undefined), random: () => 0 },
    { host: PARENT, concurrentLimit: init.concurrentLimit ?? 50, seedUploadsPerTask: init.seedUploadsPerTask, processingMs: 1 },
  )
  return { loop, held, server }
}

/** A request for a piece of 100 bytes, and what became of it. */
function ask(server: UploadServer, number: number): { outcome: Array<UploadAnswer | 'sent' | 'broken'>; request: PieceRequest } {
  const outcome: Array<UploadAnswer | 'sent' | 'broken'> = []
  const request: PieceRequest = {
    taskId: TASK, number, bytes: 100, child: CHILD, closed: false,
    refused: (answer) => outcome.push(answer),
    sending: () => undefined,
    ended: (delivered) => outcome.push(delivered ? 'sent' : 'broken'),
  }
  server.request(request)
  return { outcome, request }
}

describe('UploadServer (simulated)', TEST, () => {
  it('sends a piece it holds and refuses one it does not', TEST, async () => {
    const { loop, held, server } = setup({})
    held.add(0)
    const sent = ask(server, 0)
    const missing = ask(server, 1)
    await loop.run()
    assert.deepEqual(sent.outcome, ['sent'])
    assert.deepEqual(missing.outcome, ['not-found'])
  })

  it('answers busy beyond its concurrent uploads, and counts them for the announce', TEST, async () => {
    const { loop, held, server } = setup({ concurrentLimit: 1 })
    held.add(0)
    held.add(1)
    const first = ask(server, 0)
    const second = ask(server, 1)
    let uploadsWhileSending = -1
    loop.at(5, () => (uploadsWhileSending = server.activeUploads))
    await loop.run()
    assert.deepEqual([first.outcome, second.outcome], [['sent'], ['busy']])
    assert.equal(uploadsWhileSending, 1)
    assert.equal(server.activeUploads, 0)
  })

  it('as a seed, defers a piece that went out while another has not, and holds a task to its limit', TEST, async () => {
    const { loop, held, server } = setup({ seedUploadsPerTask: 2 })
    for (const number of [0, 1, 2, 3]) held.add(number)
    const first = ask(server, 0)
    const again = ask(server, 0)
    const other = ask(server, 1)
    const third = ask(server, 2)
    await loop.run()
    assert.deepEqual([first.outcome, again.outcome, other.outcome, third.outcome], [['sent'], ['deferred'], ['sent'], ['busy']])
  })

  it('breaks the requests it has not answered when its host leaves', TEST, async () => {
    const { loop, held, server } = setup({})
    held.add(0)
    const pending = ask(server, 0)
    server.close()
    const late = ask(server, 0)
    await loop.run()
    assert.deepEqual([pending.outcome, late.outcome], [['failed'], ['failed']])
  })
})
