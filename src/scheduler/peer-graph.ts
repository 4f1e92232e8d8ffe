/** A vertex's edges; a side's Set exists only while it has an edge, since an empty Set costs about 150 bytes. */
interface Vertex<V> {
  parents: Set<V> | undefined
  children: Set<V> | undefined
}

const NONE: ReadonlySet<never> = new Set()

/**
 * Who may download from whom among one task's peers: an edge runs from a parent to a child, and a
 * parent's new pieces are announced along its out-edges. Unlike Dragonfly's DAG, two peers may be
 * each other's parents, so peers that started together trade pieces both ways as in a swarm.
 * Cycles cannot deadlock: a child only asks a parent for pieces the parent has announced, and a
 * child that makes no progress asks for a reschedule.
 */
export class PeerGraph<V> {
  private readonly vertices = new Map<V, Vertex<V>>()

  /** `childrenChanged` hears of every edge added (+1) or dropped (-1), by its parent. */
  constructor(private readonly observer: { readonly childrenChanged?: (parent: V, delta: 1 | -1) => void } = {}) {}

  get size(): number {
    return this.vertices.size
  }

  has(vertex: V): boolean {
    return this.vertices.has(vertex)
  }

  /** Adds a vertex; adding one that exists is a no-op. */
  addVertex(vertex: V): void {
    if (!this.vertices.has(vertex)) this.vertices.set(vertex, { parents: undefined, children: undefined })
  }

  /** Removes a vertex and every edge touching it; safe to repeat. */
  removeVertex(vertex: V): void {
    const entry = this.vertices.get(vertex)
    if (entry === undefined) return
    for (const parent of entry.parents ?? NONE) {
      this.unlink(this.vertices.get(parent), 'children', vertex)
      this.observer.childrenChanged?.(parent, -1)
    }
    for (const child of entry.children ?? NONE) {
      this.unlink(this.vertices.get(child), 'parents', vertex)
      this.observer.childrenChanged?.(vertex, -1)
    }
    this.vertices.delete(vertex)
  }

  /**
   * Adds the edge parent → child. Returns false, changing nothing, when either vertex is missing,
   * when parent and child are the same, or when the edge exists already.
   */
  addEdge(parent: V, child: V): boolean {
    const from = this.vertices.get(parent)
    const to = this.vertices.get(child)
    if (from === undefined || to === undefined || parent === child || from.children?.has(child) === true) return false
    from.children ??= new Set()
    from.children.add(child)
    to.parents ??= new Set()
    to.parents.add(parent)
    this.observer.childrenChanged?.(parent, 1)
    return true
  }

  hasEdge(parent: V, child: V): boolean {
    return this.vertices.get(parent)?.children?.has(child) ?? false
  }

  deleteEdge(parent: V, child: V): void {
    if (!this.hasEdge(parent, child)) return
    this.unlink(this.vertices.get(parent), 'children', child)
    this.unlink(this.vertices.get(child), 'parents', parent)
    this.observer.childrenChanged?.(parent, -1)
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
    return [...(this.vertices.get(vertex)?.parents ?? NONE)]
  }

  parentCount(vertex: V): number {
    return this.vertices.get(vertex)?.parents?.size ?? 0
  }

  childrenOf(vertex: V): V[] {
    return [...(this.vertices.get(vertex)?.children ?? NONE)]
  }

  /** Removes `other` from one side of `entry`, dropping that side's Set once it is empty. */
  private unlink(entry: Vertex<V> | undefined, side: 'parents' | 'children', other: V): void {
    const edges = entry?.[side]
    if (entry === undefined || edges === undefined) return
    edges.delete(other)
    if (edges.size === 0) entry[side] = undefined
  }
}
