import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Dag } from './dag.js'

const TEST = { timeout: 5_000 }

function chain(...vertices: string[]): Dag<string> {
  const dag = new Dag<string>()
  for (const vertex of vertices) dag.addVertex(vertex)
  for (let i = 1; i < vertices.length; i++) assert.equal(dag.addEdge(vertices[i - 1]!, vertices[i]!), true)
  return dag
}

describe('Dag', TEST, () => {
  const refused: ReadonlyArray<{ name: string; edge: readonly [string, string] }> = [
    { name: 'a self-edge', edge: ['b', 'b'] },
    { name: 'a direct back edge', edge: ['b', 'a'] },
    { name: 'an edge closing a longer cycle', edge: ['c', 'a'] },
    { name: 'an edge from a missing vertex', edge: ['x', 'a'] },
    { name: 'an edge to a missing vertex', edge: ['a', 'x'] },
  ]
  for (const { name, edge } of refused) {
    it(`refuses ${name} and stays unchanged`, TEST, () => {
      const dag = chain('a', 'b', 'c')
      assert.equal(dag.addEdge(...edge), false)
      assert.deepEqual(dag.childrenOf('c'), [])
      assert.deepEqual(dag.parentsOf('a'), [])
      assert.equal(dag.reaches('c', 'a'), false)
    })
  }

  it('accepts edges that keep it acyclic, including a shortcut', TEST, () => {
    const dag = chain('a', 'b', 'c')
    assert.equal(dag.addEdge('a', 'c'), true)
    assert.deepEqual(dag.parentsOf('c').sort(), ['a', 'b'])
  })

  it('reaches follows paths of any length, only forwards', TEST, () => {
    const dag = chain('a', 'b', 'c', 'd')
    assert.equal(dag.reaches('a', 'd'), true)
    assert.equal(dag.reaches('b', 'd'), true)
    assert.equal(dag.reaches('d', 'a'), false)
    assert.equal(dag.reaches('a', 'a'), true)
    assert.equal(dag.reaches('x', 'x'), false)
  })

  it('removeVertex drops its edges both ways, and a cycle through it becomes possible', TEST, () => {
    const dag = chain('a', 'b', 'c')
    dag.removeVertex('b')
    assert.equal(dag.has('b'), false)
    assert.deepEqual(dag.childrenOf('a'), [])
    assert.deepEqual(dag.parentsOf('c'), [])
    assert.equal(dag.addEdge('c', 'a'), true)
    dag.removeVertex('b')
    assert.equal(dag.size, 2)
  })

  it('deleteInEdges and deleteOutEdges cut one side only', TEST, () => {
    const dag = chain('a', 'b', 'c')
    dag.deleteInEdges('b')
    assert.deepEqual(dag.parentsOf('b'), [])
    assert.deepEqual(dag.childrenOf('b'), ['c'])
    dag.deleteOutEdges('b')
    assert.deepEqual(dag.parentsOf('c'), [])
  })
})
