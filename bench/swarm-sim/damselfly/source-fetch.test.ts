import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SourceSlots } from '../../../src/daemon/download/source-slots.js'
import type { PeerSession, PieceReport } from '../../../src/daemon/scheduler-client/peer-session.js'
import { EventLoop } from '../engine.js'
import { Network } from '../network.js'
import { RunProgress } from '../run-progress.js'
import { equalLinks } from '../scenario.js'
import { SourceFetch } from './source-fetch.js'
import { TaskCatalog } from './task-catalog.js'
import { HeldPieces } from './upload-server.js'

const ORIGIN = 0
/** The scenario's one downloading host (host 1 is its seed peer, unused here). */
const HOST = 2
const PIECE_BYTES = 1024 * 1024

describe('SourceFetch (simulated)', { timeout: 5_000 }, () => {
  it('asks the origin for a run and stores and reports each piece as its last byte arrives', { timeout: 5_000 }, async () => {
    // One host, 3 pieces of 1 MiB at 1 MiB per 100 ms, 1 ms of latency each way: one run, one flow.
    const scenario = equalLinks({ hosts: 1, sizeBytes: 3 * PIECE_BYTES, rateBitsPerSecond: 1, pieceLengthBytes: PIECE_BYTES })
    const loop = new EventLoop()
    const network = new Network(loop, { recomputeQuantumMs: 0 })
    const links = { upBytesPerMs: PIECE_BYTES / 100, downBytesPerMs: PIECE_BYTES / 100, latencyMs: 0.5 }
    network.addHost(ORIGIN, links)
    network.addHost(HOST, links)
    const catalog = new TaskCatalog(scenario.tasks, [])
    const task = catalog.tasks[0]
    assert.ok(task !== undefined)
    const reports: Array<{ number: number; atMs: number; costMs: number; parent: string | undefined }> = []
    const started: number[] = []
    const session = {
      backToSourceStarted: () => started.push(loop.nowMs),
      reportPiece: (report: PieceReport) => reports.push({ number: report.piece.number, atMs: loop.nowMs, costMs: report.costMs, parent: report.parentPeerId }),
    } as unknown as PeerSession
    const held = new HeldPieces(task.pieceCount)
    const progress = new RunProgress({ scenario, loop, network })
    let doneAtMs: number | undefined
    new SourceFetch(
      { loop, network, catalog, session, held, progress, sourceSlots: new SourceSlots({ limit: 8 }) },
      { host: HOST, origin: ORIGIN, task, concurrentPieceCount: 1, onDone: () => (doneAtMs = loop.nowMs) },
    ).run()
    await loop.run()
    // The HEAD: 1 ms there and back; the ranged GET: 1 ms there, 1 ms for its first byte, then 100 ms per piece.
    assert.deepEqual(started, [2])
    assert.deepEqual(reports.map(({ number, parent }) => [number, parent]), [[0, undefined], [1, undefined], [2, undefined]])
    for (const [index, report] of reports.entries()) assert.ok(Math.abs(report.atMs - (4 + 100 * (index + 1))) < 0.01, `piece ${index} landed at ${report.atMs}`)
    assert.deepEqual(reports.map(({ costMs }) => costMs), [102, 100, 100])
    assert.equal(doneAtMs, reports[2]?.atMs)
    assert.equal(held.complete, true)
    assert.equal(progress.result({ schedulerDecisions: 0 }).hosts.find((host) => host.host === HOST)?.fromOriginBytes, 3 * PIECE_BYTES)
  })
})
