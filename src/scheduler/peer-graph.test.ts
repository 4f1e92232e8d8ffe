import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PeerGraph } from './peer-graph.js'

const TEST = { timeout: 5_000 }

function chain(...vertices: string[]): PeerGraph<string> {
  const graph = new PeerGraph<string>()
  for (const vertex of vertices) graph.addVertex(vertex)
  for (let i = 1; i < vertices.length; i++) assert.equal(graph.addEdge(vertices[i - 1]!, vertices[i]!), true)
  return graph
}

describe('PeerGraph', TEST, () => {
  const refused: ReadonlyArray<{ name: string; edge: readonly [string, string] }> = [
    { name: 'a self-edge', edge: ['b', 'b'] },
    { name: 'an edge that exists', edge: ['a', 'b'] },
    { name: 'an edge from a missing vertex', edge: ['x', 'a'] },
    { name: 'an edge to a missing vertex', edge: ['a', 'x'] },
  ]
  for (const { name, edge } of refused) {
    it(`refuses ${name} and stays unchanged`, TEST, () => {
      const graph = chain('a', 'b', 'c')
      assert.equal(graph.addEdge(...edge), false)
      assert.deepEqual(graph.childrenOf('a'), ['b'])
      assert.deepEqual(graph.parentsOf('a'), [])
      assert.equal(graph.parentCount('b'), 1)
    })
  }

  it('lets two peers be each other\'s parents, and closes longer cycles too', TEST, () => {
    const graph = chain('a', 'b', 'c')
    assert.equal(graph.addEdge('b', 'a'), true)
    assert.equal(graph.addEdge('c', 'a'), true)
    assert.deepEqual(graph.parentsOf('a').sort(), ['b', 'c'])
    assert.equal(graph.hasEdge('a', 'b') && graph.hasEdge('b', 'a'), true)
  })

  it('removeVertex drops its edges both ways; safe to repeat', TEST, () => {
    const graph = chain('a', 'b', 'c')
    graph.removeVertex('b')
    assert.equal(graph.has('b'), false)
    assert.deepEqual(graph.childrenOf('a'), [])
    assert.deepEqual(graph.parentsOf('c'), [])
    graph.removeVertex('b')
    assert.equal(graph.size, 2)
  })

  it('deleteInEdges and deleteOutEdges cut one side only', TEST, () => {
    const graph = chain('a', 'b', 'c')
    graph.deleteInEdges('b')
    assert.deepEqual(graph.parentsOf('b'), [])
    assert.deepEqual(graph.childrenOf('b'), ['c'])
    graph.deleteOutEdges('b')
    assert.deepEqual(graph.parentsOf('c'), [])
  })

  it('tells its observer of every edge added or dropped, by parent, however it goes', TEST, () => {
    const children = new Map<string, number>()
    const graph = new PeerGraph<string>({ childrenChanged: (parent, delta) => children.set(parent, (children.get(parent) ?? 0) + delta) })
    for (const vertex of ['a', 'b', 'c', 'd']) graph.addVertex(vertex)
    for (const [parent, child] of [['a', 'b'], ['a', 'c'], ['a', 'd'], ['b', 'c'], ['c', 'a']] as const) graph.addEdge(parent, child)
    graph.addEdge('a', 'b') // exists: not counted again
    assert.deepEqual(Object.fromEntries(children), { a: 3, b: 1, c: 1 })
    graph.deleteEdge('a', 'd')
    graph.deleteEdge('a', 'd') // gone: not counted again
    graph.deleteInEdges('c')
    assert.deepEqual(Object.fromEntries(children), { a: 1, b: 0, c: 1 })
    graph.removeVertex('a')
    graph.deleteOutEdges('c')
    assert.deepEqual(Object.fromEntries(children), { a: 0, b: 0, c: 0 })
  })
})
