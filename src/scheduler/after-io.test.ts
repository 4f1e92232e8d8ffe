import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AfterIo } from './after-io.js'

describe('AfterIo', () => {
  it('resolves every waiter of a turn with one deferral, and the next turn\'s with another', async () => {
    const deferred: Array<() => void> = []
    const afterIo = new AfterIo({ defer: (run) => deferred.push(run) })
    const done: string[] = []
    const first = [afterIo.wait().then(() => done.push('a')), afterIo.wait().then(() => done.push('b'))]
    assert.equal(deferred.length, 1)
    await Promise.resolve()
    assert.equal(done.length, 0, 'nothing passes before the deferral runs')
    deferred.shift()?.()
    await Promise.all(first)
    assert.deepEqual(done, ['a', 'b'])
    const second = afterIo.wait().then(() => done.push('c'))
    assert.equal(deferred.length, 1, 'a later wait defers again')
    deferred.shift()?.()
    await second
    assert.deepEqual(done, ['a', 'b', 'c'])
  })
})
