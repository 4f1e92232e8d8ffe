import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { BoundedMap } from './bounded-map.js'

describe('BoundedMap', { timeout: 5_000 }, () => {
  it('forgets the least recently used entry past its capacity', () => {
    const map = new BoundedMap<string, number>(2)
    assert.equal(map.set('a', 1), 1)
    map.set('b', 2)
    // Reading a makes b the least recently used.
    assert.equal(map.get('a'), 1)
    map.set('c', 3)
    assert.equal(map.get('b'), undefined)
    assert.equal(map.get('a'), 1)
    assert.equal(map.get('c'), 3)
  })

  it('replaces a key without growing, and deletes', () => {
    const map = new BoundedMap<string, number>(2)
    map.set('a', 1)
    map.set('b', 2)
    map.set('a', 10)
    assert.equal(map.get('b'), 2)
    assert.equal(map.get('a'), 10)
    map.delete('a')
    assert.equal(map.get('a'), undefined)
  })
})
