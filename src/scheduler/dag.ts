interface Vertex<V> {
  readonly parents: Set<V>
  readonly children: Set<V>
}

/**
 * A directed acyclic graph of one task's peers: an edge runs from a parent to a child that may
 * download from it. Every mutation keeps the graph acyclic; a refused edge leaves it unchanged.
 */
export class Dag<V> {
  private readonly vertices = new Map<V, Vertex<V>>()

  get size(): number {
    return this.vertices.size
  }

  has(vertex: V): boolean {
    return this.vertices.has(vertex)
  }

  /** Adds a vertex; adding one that exists is a no-op. */
  addVertex(vertex: V): void {
    if (!this.vertices.has(vertex)) this.vertices.set(vertex, { parents: new Set(), children: new Set() })
  }

  /** Removes a vertex and every edge touching it; safe to repeat. */
  removeVertex(vertex: V): void {
    const entry = this.vertices.get(vertex)
    if (entry === undefined) return
    for (const parent of entry.parents) this.vertices.get(parent)?.children.delete(vertex)
    for (const child of entry.children) this.vertices.get(child)?.parents.delete(vertex)
    this.vertices.delete(vertex)
  }

  /**
   * Adds the edge parent → child. Returns false, changing nothing, when either vertex is missing,
   * when parent and child are the same, or when the edge would close a cycle.
   */
  addEdge(parent: V, child: V): boolean {
    const from = this.vertices.get(parent)
    const to = this.vertices.get(child)
    if (from === undefined || to === undefined || parent === child) return false
    if (this.reaches(child, parent)) return false
    from.children.add(child)
    to.parents.add(parent)
    return true
  }

  deleteEdge(parent: V, child: V): void {
    this.vertices.get(parent)?.children.delete(child)
    this.vertices.get(child)?.parents.delete(parent)
  }

  /** Drops every edge into `vertex`: it has no parents any more. */
  deleteInEdges(vertex: V): void {
    for (const parent of this.parentsOf(vertex)) this.deleteEdge(parent, vertex)
  }

  /** Drops every edge out of `vertex`: it is nobody's parent any more. */
  deleteOutEdges(vertex: V): void {
    for (const child of this.childrenOf(vertex)) this.deleteEdge(vertex, child)
  }

  parentsOf(vertex: V): V[] {
    return [...(this.vertices.get(vertex)?.parents ?? [])]
  }

  childrenOf(vertex: V): V[] {
    return [...(this.vertices.get(vertex)?.children ?? [])]
  }

  /** True when a path of one or more edges leads from `from` to `to`, or when they are the same vertex. */
  reaches(from: V, to: V): boolean {
    if (from === to) return this.vertices.has(from)
    const seen = new Set<V>([from])
    const queue: V[] = [from]
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const child of this.vertices.get(next)?.children ?? []) {
        if (child === to) return true
        if (!seen.has(child)) {
          seen.add(child)
          queue.push(child)
        }
      }
    }
    return false
  }
}
