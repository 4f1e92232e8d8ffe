/**
 * Where a traced Damselfly run's time went, piece by piece (bench/swarm-sim/trace.ts): how long
 * after it first landed anywhere each piece reached the hosts of each class of downlink, over how
 * many hops, and what each hop spent waiting for the child's request, on the request, and in the
 * transfer. Every figure is a nearest-rank percentile over the run's own events.
 */
import type { PieceLanded } from './damselfly/piece-trace.js'
import { byDownlink, linkRate, percentile } from './report.js'
import type { Scenario } from './scenario.js'

/** One piece on one host, with where it sits in the tree that spread the piece. */
interface Landing {
  readonly event: PieceLanded
  /** Parent transfers between the origin and this host (0: fetched from the origin). */
  readonly depth: number
  /** When the parent that sent it had landed it; undefined for the origin's. */
  readonly parentHeldMs: number | undefined
  /** When the piece first landed on any host. */
  readonly firstLandedMs: number
}

/** Every landing, with its depth, its parent's time and its piece's first, from events in the order they happened. */
export function landings(events: readonly PieceLanded[]): Landing[] {
  const byPieceAndHost = new Map<string, Landing>()
  const firstLandedMs = new Map<string, number>()
  const result: Landing[] = []
  for (const event of events) {
    const piece = `${event.taskId}#${event.number}`
    const parent = event.source.kind === 'parent' ? byPieceAndHost.get(`${piece}@${event.source.parentHost}`) : undefined
    const first = firstLandedMs.get(piece) ?? event.atMs
    firstLandedMs.set(piece, first)
    const landing: Landing = { event, depth: parent === undefined ? 0 : parent.depth + 1, parentHeldMs: parent?.event.atMs, firstLandedMs: first }
    byPieceAndHost.set(`${piece}@${event.host}`, landing)
    result.push(landing)
  }
  return result
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(1)} ms`
}

function spread(values: number[], format: (value: number | undefined) => string = ms): string {
  values.sort((a, b) => a - b)
  return `median ${format(percentile(values, 0.5))}, p90 ${format(percentile(values, 0.9))}, max ${format(values.at(-1))}`
}

/** What the hops into these landings spent: the wait for the child's request, the request, the transfer. */
function hopLines(landed: readonly Landing[]): string[] {
  const hops = landed.flatMap(({ event, parentHeldMs }) =>
    event.source.kind === 'parent' && parentHeldMs !== undefined ? [{ heldMs: parentHeldMs, source: event.source, landedMs: event.atMs }] : [])
  return [
    `- per hop, from the parent holding the piece to the child's request: ${spread(hops.map(({ heldMs, source }) => source.requestedMs - heldMs))}`,
    `- per hop, from the request to the parent sending: ${spread(hops.map(({ source }) => source.sendingMs - source.requestedMs))}`,
    `- per hop, the transfer: ${spread(hops.map(({ source, landedMs }) => landedMs - source.sendingMs))}`,
  ]
}

/** Tenths of the run shown by {@link downlinkBusy}. */
const BUSY_PERIODS = 10

/**
 * How full a class of hosts' downlinks ran, period by period up to `untilMs`: the bytes their
 * transfers carried in each (a transfer's bytes spread evenly over its time) over what the links
 * could have carried. A share well under 100% while pieces were still to come is time those
 * hosts cannot make up when the content arrives no faster than their links.
 */
export function downlinkBusy(landed: readonly Landing[], linkBytesPerMs: number, untilMs: number): number[] {
  const periodMs = untilMs / BUSY_PERIODS
  const carried = new Array<number>(BUSY_PERIODS).fill(0)
  const hosts = new Set<number>()
  for (const { event } of landed) {
    hosts.add(event.host)
    if (event.source.kind !== 'parent') continue
    const startMs = event.source.sendingMs
    const bytesPerMs = event.bytes / Math.max(event.atMs - startMs, Number.EPSILON)
    for (let period = Math.floor(startMs / periodMs); period < BUSY_PERIODS && period * periodMs < event.atMs; period++) {
      const overlapMs = Math.min(event.atMs, (period + 1) * periodMs) - Math.max(startMs, period * periodMs)
      carried[period]! += bytesPerMs * Math.max(0, overlapMs)
    }
  }
  return carried.map((bytes) => (hosts.size === 0 ? 0 : bytes / (hosts.size * linkBytesPerMs * periodMs)))
}

/** The report: the seeds' fetch, then per class of downlink the lag, depth and hops; and one piece's spread when asked. */
export function traceReport(scenario: Scenario, events: readonly PieceLanded[], options: { readonly piece?: number | undefined } = {}): string {
  const all = landings(events)
  const lines: string[] = []
  const fromOrigin = all.filter(({ event }) => event.source.kind === 'origin').map(({ event }) => event.atMs)
  lines.push(`Pieces from the origin: ${fromOrigin.length}, first at ${ms(Math.min(...fromOrigin))}, last at ${ms(Math.max(...fromOrigin))}.`)

  const firstHops = all.filter(({ depth }) => depth === 1)
  lines.push('')
  lines.push(`Hops from the hosts that fetched the origin (a fresh piece's first copy), ${firstHops.length}:`)
  lines.push(...hopLines(firstHops))

  const downloaders = scenario.hosts.filter((host) => !host.seed)
  for (const [downBytesPerMs, hosts] of byDownlink(downloaders, (host) => host.links.downBytesPerMs)) {
    const members = new Set(hosts.map((host) => host.id))
    const mine = all.filter(({ event }) => members.has(event.host))
    const finishMs = new Map<number, number>()
    for (const { event } of mine) finishMs.set(event.host, Math.max(finishMs.get(event.host) ?? 0, event.atMs))
    const lag = mine.map(({ event, firstLandedMs }) => event.atMs - firstLandedMs)
    lines.push('')
    lines.push(`${linkRate(downBytesPerMs)} downlinks, ${members.size} hosts:`)
    lines.push(`- last piece landed: ${spread([...finishMs.values()])}`)
    lines.push(`- a piece's lag after it first landed anywhere: ${spread(lag)}`)
    lines.push(`- its depth (parent transfers from the origin): ${spread(mine.map(({ depth }) => depth), (value) => (value === undefined ? '-' : String(value)))}`)
    const lastMs = Math.max(...finishMs.values())
    const busy = downlinkBusy(mine, downBytesPerMs, lastMs).map((share) => `${Math.round(share * 100)}%`)
    lines.push(`- downlinks busy, by tenths of the time to the class's last piece (${ms(lastMs / BUSY_PERIODS)} each): ${busy.join(' ')}`)
    lines.push(...hopLines(mine))
  }

  if (options.piece !== undefined) {
    const taskId = events[0]?.taskId
    const spreadOf = all.filter(({ event }) => event.taskId === taskId && event.number === options.piece)
    lines.push('')
    lines.push(`Piece ${options.piece} of the first task, host by host as it landed:`)
    for (const { event, depth, parentHeldMs } of spreadOf) {
      const down = linkRate(scenario.hosts.find((host) => host.id === event.host)?.links.downBytesPerMs ?? 0)
      const source = event.source
      const how = source.kind === 'origin'
        ? 'from the origin'
        : `from host ${source.parentHost} (held it at ${ms(parentHeldMs)}), asked at ${ms(source.requestedMs)}, sent from ${ms(source.sendingMs)}`
      lines.push(`- ${ms(event.atMs)}: host ${event.host} (${down}, depth ${depth}) ${how}`)
    }
  }
  return lines.join('\n')
}
