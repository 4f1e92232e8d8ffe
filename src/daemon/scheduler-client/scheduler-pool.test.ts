import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { credentials } from '@grpc/grpc-js'
import { InstantClock } from '../../common/instant-clock.js'
import { rendezvousPick } from '../../common/rendezvous.js'
import { SchedulerPool } from './scheduler-pool.js'
import { StaticSchedulerDirectory } from './scheduler-directory.js'

const TEST = { timeout: 5_000 }
const A = 'a.test:8002'
const B = 'b.test:8002'
const TASK = 'c'.repeat(64)

/** A pool over A and B whose connections are up when `up` says so; no socket is ever opened. */
function pool(up: Set<string>): { pool: SchedulerPool; clock: InstantClock; asked: string[] } {
  const clock = new InstantClock()
  const asked: string[] = []
  const connected = (address: string): boolean => {
    asked.push(address)
    return up.has(address)
  }
  return {
    pool: new SchedulerPool({ clock, connected }, { directory: new StaticSchedulerDirectory([A, B]), credentials: credentials.createInsecure(), waits: { registerTimeoutMs: 1_000, scheduleTimeoutMs: 60_000 } }),
    clock,
    asked,
  }
}

describe('SchedulerPool', TEST, () => {
  const owner = rendezvousPick(TASK, [A, B], (address) => address)
  const other = owner === A ? B : A

  it('routes a task to its owner, and past one marked down to the other', TEST, () => {
    const { pool: p, asked } = pool(new Set())
    assert.equal(p.pick(TASK), owner)
    p.markDown(owner!)
    assert.equal(p.pick(TASK), other)
    assert.equal(p.pick(TASK, new Set([other])), undefined)
    assert.deepEqual(asked, [], 'a scheduler never marked down is used without asking for its connection')
  })

  it('after the cooldown, tries a scheduler marked down again only once its connection is up', TEST, () => {
    const up = new Set<string>()
    const { pool: p, clock } = pool(up)
    p.markDown(owner!)
    clock.advance(60_000)
    assert.equal(p.pick(TASK), other, 'a blackholed scheduler never gets its connection up: no download pays its timeout again')
    clock.advance(600_000)
    assert.equal(p.pick(TASK), other)
    up.add(owner!)
    assert.equal(p.pick(TASK), owner, 'back in use once it answers')
    up.delete(owner!)
    assert.equal(p.pick(TASK), owner, 'and no longer down: a connection lost later is the registration\'s to find')
  })

  it('uses a scheduler again at once when it answers', TEST, () => {
    const { pool: p } = pool(new Set())
    p.markDown(owner!)
    p.markUp(owner!)
    assert.equal(p.pick(TASK), owner)
  })
})
