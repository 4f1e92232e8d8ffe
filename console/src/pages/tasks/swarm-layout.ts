/** A point of the swarm graph, in SVG user units; the origin node is at (0, 0). */
export interface Point {
  readonly x: number
  readonly y: number
}

/** What the layout needs to know of a peer. */
export interface LayoutPeer {
  readonly id: string
  readonly type: 'seed' | 'normal'
}

/** What the layout needs to know of an edge: who fed whom. */
export interface LayoutEdge {
  readonly parent: string
  readonly child: string
}

/**
 * Where each peer is drawn. A peer keeps its slot for as long as it is in the snapshots, so
 * polling never moves a node; `radius` (the outermost ring used so far) only grows, so the
 * picture never rescales under the reader either.
 */
export interface SwarmLayout {
  /** Each peer's slot: a place on a ring, numbered from the innermost ring out. */
  readonly slots: ReadonlyMap<string, number>
  readonly positions: ReadonlyMap<string, Point>
  readonly radius: number
}

/** Seeds go on the inner ring, around the origin. */
const SEED_RING_RADIUS = 70
/** The first ring of normal peers, and the distance between rings. */
const FIRST_RING_RADIUS = 150
const RING_GAP = 70
/** The arc between two slots of a ring; a slot's nearest neighbour is at least half this away. */
const SLOT_SPACING = 40
const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5))

interface Ring {
  readonly radius: number
  /** The ring's first slot number. */
  readonly first: number
  readonly capacity: number
}

function ringRadius(index: number): number {
  return index === 0 ? SEED_RING_RADIUS : FIRST_RING_RADIUS + (index - 1) * RING_GAP
}

/** The rings, grown until they hold slot `slot`. A pure function of the slot: the same for every caller. */
function ringsUpTo(slot: number, rings: Ring[]): void {
  for (;;) {
    const last = rings[rings.length - 1]
    if (last !== undefined && last.first + last.capacity > slot) return
    const index = rings.length
    const radius = ringRadius(index)
    rings.push({ radius, first: last === undefined ? 0 : last.first + last.capacity, capacity: Math.max(1, Math.floor((2 * Math.PI * radius) / SLOT_SPACING)) })
  }
}

/**
 * The base-2 radical inverse of `index` in [0, 1): 0, 1/2, 1/4, 3/4, 1/8... Slot `j` of a ring
 * sits at that fraction of the turn, so however many slots are taken they spread around it.
 */
function radicalInverse(index: number): number {
  let result = 0
  let fraction = 0.5
  for (let rest = index; rest > 0; rest >>= 1) {
    if ((rest & 1) === 1) result += fraction
    fraction /= 2
  }
  return result
}

/** The position of a slot (rings are turned against each other so their first slots do not line up). */
export function slotPosition(slot: number, rings: Ring[] = []): Point {
  ringsUpTo(slot, rings)
  const ringIndex = rings.findIndex((ring) => slot < ring.first + ring.capacity)
  const ring = rings[ringIndex]
  if (ring === undefined) throw new Error(`no ring holds slot ${slot}`)
  const angle = 2 * Math.PI * radicalInverse(slot - ring.first) + ringIndex * GOLDEN_ANGLE - Math.PI / 2
  return { x: Math.round(ring.radius * Math.cos(angle) * 10) / 10, y: Math.round(ring.radius * Math.sin(angle) * 10) / 10 }
}

/** How far each peer is from the seeds along the edges (seeds 0; a peer no seed feeds: Infinity). */
function distancesFromSeeds(peers: readonly LayoutPeer[], edges: readonly LayoutEdge[]): Map<string, number> {
  const children = new Map<string, string[]>()
  for (const edge of edges) {
    const list = children.get(edge.parent)
    if (list === undefined) children.set(edge.parent, [edge.child])
    else list.push(edge.child)
  }
  const distance = new Map<string, number>()
  const queue: string[] = []
  for (const peer of peers) {
    if (peer.type === 'seed') {
      distance.set(peer.id, 0)
      queue.push(peer.id)
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head] as string
    const next = (distance.get(id) ?? 0) + 1
    for (const child of children.get(id) ?? []) {
      if (distance.has(child)) continue
      distance.set(child, next)
      queue.push(child)
    }
  }
  return distance
}

/**
 * Lays a snapshot's peers out on rings around the origin: seeds on the inner ring, the others
 * outward, the first ones nearest the seeds (by hops along the edges, then by id). Peers placed by
 * `previous` keep their slot; a new peer takes the first free one; a peer gone frees its slot.
 * Deterministic: the same snapshots in the same order give the same layout. O(peers + edges)
 * but for sorting the new peers.
 */
export function layoutSwarm(peers: readonly LayoutPeer[], edges: readonly LayoutEdge[], previous?: SwarmLayout): SwarmLayout {
  const rings: Ring[] = []
  ringsUpTo(0, rings)
  const seedRingCapacity = rings[0]?.capacity ?? 1
  const slots = new Map<string, number>()
  const taken = new Set<number>()
  const placing: LayoutPeer[] = []
  for (const peer of peers) {
    if (slots.has(peer.id)) continue
    const slot = previous?.slots.get(peer.id)
    if (slot === undefined) {
      placing.push(peer)
      continue
    }
    slots.set(peer.id, slot)
    taken.add(slot)
  }
  if (placing.length > 0) {
    const distance = distancesFromSeeds(peers, edges)
    placing.sort((a, b) => (a.type === b.type ? 0 : a.type === 'seed' ? -1 : 1)
      || (distance.get(a.id) ?? Infinity) - (distance.get(b.id) ?? Infinity)
      || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    // Seeds fill the inner ring first (then the next free slots outward); the others start outside it.
    let seedNext = 0
    let normalNext = seedRingCapacity
    for (const peer of placing) {
      if (slots.has(peer.id)) continue
      let slot = peer.type === 'seed' ? seedNext : normalNext
      while (taken.has(slot)) slot++
      if (peer.type === 'seed') seedNext = slot + 1
      else normalNext = slot + 1
      slots.set(peer.id, slot)
      taken.add(slot)
    }
  }
  const positions = new Map<string, Point>()
  let radius = previous?.radius ?? SEED_RING_RADIUS
  for (const [id, slot] of slots) {
    const point = slotPosition(slot, rings)
    positions.set(id, point)
    radius = Math.max(radius, Math.hypot(point.x, point.y))
  }
  return { slots, positions, radius: Math.ceil(radius) }
}
