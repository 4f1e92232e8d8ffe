import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { silentLogger } from '../common/logger.js'
import type { HostId } from '../protocol/ids.js'
import { Task, type PieceRecord } from './task.js'
import { OTHER_TASK_ID, Resources, seededRandom, TASK_ID } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }
const GOOD = '1'.repeat(64)
const BAD = '2'.repeat(64)
const VOUCHER = 'seed-host' as HostId

function piece(digest: string, number = 0): PieceRecord {
  return { number, offset: number * 4, length: 4, digest }
}

describe('Task.recordPiece: the first report of a host that may vouch is the authority', TEST, () => {
  const cases: ReadonlyArray<{ name: string; reports: ReadonlyArray<readonly [string, boolean]> /* [digest, vouched] */; outcomes: readonly string[]; authority: string | undefined }> = [
    { name: 'a source report is recorded', reports: [[GOOD, true]], outcomes: ['recorded'], authority: GOOD },
    { name: 'the same digest again matches', reports: [[GOOD, true], [GOOD, true], [GOOD, false]], outcomes: ['recorded', 'matches', 'matches'], authority: GOOD },
    { name: 'a later source report that differs is refused', reports: [[GOOD, true], [BAD, true]], outcomes: ['recorded', 'mismatch'], authority: GOOD },
    { name: 'a child report that differs is refused', reports: [[GOOD, true], [BAD, false]], outcomes: ['recorded', 'mismatch'], authority: GOOD },
    { name: 'a report nobody vouches for is unverified and records nothing', reports: [[BAD, false], [GOOD, true]], outcomes: ['unverified', 'recorded'], authority: GOOD },
  ]
  for (const { name, reports, outcomes, authority } of cases) {
    it(name, TEST, () => {
      const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
      assert.deepEqual(reports.map(([digest, fromSource]) => task.recordPiece(piece(digest), fromSource ? VOUCHER : undefined)), outcomes)
      assert.equal(task.piece(0)?.digest, authority)
    })
  }

  it('keeps pieces apart by number', TEST, () => {
    const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
    assert.equal(task.recordPiece(piece(GOOD, 0), VOUCHER), 'recorded')
    assert.equal(task.recordPiece(piece(BAD, 1), VOUCHER), 'recorded')
    assert.equal(task.piece(1)?.digest, BAD)
    assert.equal(task.piece(2), undefined)
  })

  it('knows its piece count once both lengths are known', TEST, () => {
    const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
    assert.equal(task.pieceCount, undefined)
    task.contentLengthBytes = 10
    assert.equal(task.pieceCount, undefined)
    task.pieceLengthBytes = 4
    assert.equal(task.pieceCount, 3)
  })
})

describe('Task.recordTinyContent: bytes kept only when they match the recorded piece', TEST, () => {
  const content = Buffer.from('tiny content of a tiny task')
  const digest = createHash('sha256').update(content).digest('hex')
  const cases: ReadonlyArray<{ name: string; recorded: PieceRecord | undefined; offered: Buffer; kept: boolean }> = [
    { name: 'matching bytes are kept', recorded: { number: 0, offset: 0, length: content.length, digest }, offered: content, kept: true },
    { name: 'bytes that differ are refused', recorded: { number: 0, offset: 0, length: content.length, digest }, offered: Buffer.from('tampered content of a tiny task'.slice(0, content.length)), kept: false },
    { name: 'nothing is kept before the piece is recorded', recorded: undefined, offered: content, kept: false },
    { name: 'more than 128 bytes are never kept', recorded: { number: 0, offset: 0, length: 200, digest }, offered: Buffer.alloc(200), kept: false },
  ]
  for (const c of cases) {
    it(c.name, TEST, () => {
      const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
      if (c.recorded !== undefined) task.recordPiece(c.recorded, VOUCHER)
      assert.equal(task.recordTinyContent(c.offered), c.kept)
      assert.equal(task.tinyContent !== undefined, c.kept)
    })
  }
})

describe('Task.dropAuthority: a whole-content digest failure distrusts the digests and who vouched for them', TEST, () => {
  it('forgets every digest, the length and what peers held, and names the vouchers', TEST, () => {
    const task = new Task(TASK_ID, { logger: silentLogger() }, 0)
    task.recordPiece(piece(GOOD, 0), VOUCHER)
    task.recordPiece(piece(BAD, 1), 'another-seed' as HostId)
    task.contentLengthBytes = 8
    task.seedRequestedMs = 5
    assert.deepEqual(task.dropAuthority().sort(), ['another-seed', 'seed-host'])
    assert.equal(task.piece(0), undefined)
    assert.equal(task.contentLengthBytes, undefined)
    assert.equal(task.seedRequestedMs, undefined, 'a trusted seed may be asked again')
    assert.ok(task.distrustedHosts.has(VOUCHER))
    assert.equal(task.recordPiece(piece(GOOD, 0), VOUCHER), 'recorded', 'recordPiece takes whoever the caller says may vouch; Peer.vouches leaves distrusted hosts out')
  })
})

describe('Task: what it keeps by its peers\' states', TEST, () => {
  /** What the task keeps, against a walk of all its peers. */
  function kept(task: Task): { backToSource: number[]; running: string[] } {
    const peers = [...task.peers.values()]
    return {
      backToSource: [task.backToSourcePeerCount, peers.filter((peer) => peer.state === 'back-to-source').length],
      running: [...task.runningPeers.all].map((peer) => peer.id).sort(),
    }
  }
  const running = (task: Task): string[] => [...task.peers.values()].filter((peer) => peer.state === 'running').map((peer) => peer.id).sort()

  it('follows every state change, registration and removal, and ignores peers of other tasks or gone', TEST, () => {
    const r = new Resources()
    const task = r.task()
    const random = seededRandom(9)
    const peers = Array.from({ length: 30 }, (_, i) => r.peer(`p${i}`, r.host(`h${i}`)))
    const other = r.peer('other', r.host('ho'), { task: r.task(OTHER_TASK_ID), state: 'back-to-source' })
    const states = ['pending', 'running', 'back-to-source', 'succeeded', 'failed'] as const
    for (let step = 0; step < 300; step++) {
      const peer = peers[Math.floor(random() * peers.length)]!
      if (random() < 0.1 && r.store.peers.has(peer.id)) r.store.removePeer(peer.id)
      else peer.state = states[Math.floor(random() * states.length)]!
      const { backToSource, running: keptRunning } = kept(task)
      assert.equal(backToSource[0], backToSource[1], `back-to-source count after step ${step}`)
      assert.deepEqual(keptRunning, running(task), `running peers after step ${step}`)
    }
    assert.equal(r.task(OTHER_TASK_ID).backToSourcePeerCount, 1)
    other.state = 'succeeded'
    assert.equal(r.task(OTHER_TASK_ID).backToSourcePeerCount, 0)
  })

  it('counts a seed peer by its host\'s role: present, pending before it registered, gone once it failed', TEST, () => {
    const r = new Resources()
    const task = r.task()
    assert.deepEqual([task.hasSeedPeer, task.hasSeedPeerOrPending], [false, true])
    r.peer('normal', r.host('hn'))
    const seed = r.peer('seed', r.host('hs', { seed: true }))
    assert.deepEqual([task.hasSeedPeer, task.hasSeedPeerOrPending], [true, true])
    seed.state = 'failed'
    assert.deepEqual([task.hasSeedPeer, task.hasSeedPeerOrPending], [false, false])
    r.store.removePeer(seed.id)
    assert.deepEqual([task.hasSeedPeer, task.hasSeedPeerOrPending], [false, false], 'a seed peer that left unfinished is remembered')
  })
})
