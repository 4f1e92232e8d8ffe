/**
 * The "testbed" section of docs/benchmarks.md: how to run it, how each figure is measured, and the
 * run's tables. Method sentences describe the code; every sentence about results is computed from
 * the run's own figures, and left out when the run has none to base it on.
 */
import { formatBytes, parseBytes } from '../../src/common/units.js'
import { pieceLengthFor } from '../../src/protocol/piece.js'
import { rateBytesPerSecond } from './link-rate.js'
import { representativeOf, runReport, type RunOutcome } from './report.js'
import { CPU_BOUND_BUSY_SHARE, cpuLoad, IDLE_BUSY_SHARE, LINK_SATURATED_SHARE, originLinkBusyShare, pace, percent } from './round-figures.js'
import { CHART_FILE, DEFAULTS, RUN_LINE } from './run-options.js'
import { BITTORRENT_PIECE_LENGTH_BYTES } from './scenarios/bittorrent.js'
import { TBF_BURST, TBF_LATENCY } from './testbed.js'

/** What the section says about the run besides its outcomes. */
export interface DocContext {
  /** The flags the run was given, as typed. */
  readonly args: readonly string[]
  readonly measuredAt: Date
  /** The machine, in one line. */
  readonly machine: string
  readonly cores: number
  /** The whole run, testbeds and payloads included. */
  readonly elapsedMs: number
  readonly hostRate: string
  readonly originRate: string
}

function rateText(rate: string): string {
  return `${rate} (${(rateBytesPerSecond(rate) / 1e6).toFixed(1)} MB/s)`
}

function runName(outcome: RunOutcome): string {
  return `N=${outcome.spec.hosts} × ${formatBytes(outcome.spec.sizeBytes)}`
}

/** What the run's fetches did to the machine's CPU, in as many sentences as the figures support. */
export function loadSummary(outcomes: readonly RunOutcome[], init: { cores: number }): string[] {
  const rounds = outcomes.flatMap((outcome) =>
    outcome.scenarios.flatMap((scenario) => {
      const round = representativeOf(outcome, scenario.name)
      const busy = round?.machineBusyShare
      if (round === undefined || busy === undefined) return []
      const own = round.scenarioBusyShare
      return [{ name: `${scenario.name} at ${runName(outcome)}`, busy, pace: pace(busy, originLinkBusyShare(round, outcome.spec)), uncharged: own === undefined ? undefined : busy - own }]
    }),
  )
  if (rounds.length === 0) return ['The machine\'s CPU load was not measured (no /proc/stat), so nothing here says whether a time was CPU-bound.']
  const busiest = rounds.reduce((most, round) => (round.busy > most.busy ? round : most))
  const named = (list: typeof rounds): string => list.map((round) => `${round.name}: ${percent(round.busy)}`).join(', ')
  const cpuBound = rounds.filter((round) => round.pace === 'cpu-bound')
  const busyButLinkBound = rounds.filter((round) => round.pace === 'origin-link' && cpuLoad(round.busy) === 'cpu-bound')
  const verdict: string[] = []
  if (cpuBound.length > 0) {
    verdict.push(
      `${cpuBound.length} of ${rounds.length} rounds had the machine at least ${percent(CPU_BOUND_BUSY_SHARE)} busy during the fetches with the origin's link not saturated (${named(cpuBound)}): ` +
        `their times are CPU-bound and say as much about the ${init.cores} cores as about the links.`,
    )
  }
  if (busyButLinkBound.length > 0) {
    verdict.push(
      `${busyButLinkBound.length} of ${rounds.length} rounds had the machine at least ${percent(CPU_BOUND_BUSY_SHARE)} busy (${named(busyButLinkBound)}) ` +
        `but the origin's link at least ${percent(LINK_SATURATED_SHARE)} busy sending, so the link set their pace.`,
    )
  }
  if (verdict.length === 0) {
    verdict.push(
      rounds.every((round) => cpuLoad(round.busy) === 'idle')
        ? `Every round left the cores mostly idle during the fetches (below ${percent(IDLE_BUSY_SHARE)} busy; the busiest, ${busiest.name}, ${percent(busiest.busy)}).`
        : `No round had the machine ${percent(CPU_BOUND_BUSY_SHARE)} busy during the fetches; the busiest was ${busiest.name} at ${percent(busiest.busy)}, which does not rule out one process saturating a single core.`,
    )
  }
  const uncharged = rounds.flatMap((round) => (round.uncharged === undefined ? [] : [round.uncharged]))
  const mostUncharged = uncharged.length === 0 ? undefined : Math.max(...uncharged)
  return [
    ...verdict,
    ...(mostUncharged === undefined
      ? []
      : [
          `Up to ${percent(Math.max(0, mostUncharged))} of the cores were busy during a round's fetches with work not charged to its processes`,
          '(packet forwarding in the kernel, the bench itself, or other work on the machine).',
        ]),
  ]
}

/** Header overhead on the wire, from curl's rounds (link bytes over HTTP body bytes); empty without them. */
export function frameOverheadSentence(outcomes: readonly RunOutcome[]): string[] {
  const ratios = outcomes.flatMap((outcome) => {
    const curl = representativeOf(outcome, 'curl')
    return curl === undefined || curl.originBodyBytes <= 0 ? [] : [curl.originLinkBytes / curl.originBodyBytes]
  })
  if (ratios.length === 0) return []
  const low = Math.min(...ratios).toFixed(3)
  const high = Math.max(...ratios).toFixed(3)
  return [`In this run, curl's origin link carried ${low === high ? `${low}x` : `${low}x to ${high}x`} its HTTP body bytes, the price of the headers.`]
}

/** The most a host sent while downloading from curl (ACKs only); empty without curl rounds. */
export function ackShareSentence(outcomes: readonly RunOutcome[]): string[] {
  const shares = outcomes.flatMap((outcome) => {
    const curl = representativeOf(outcome, 'curl')
    return curl === undefined ? [] : curl.hostUploadBytes.map((bytes) => bytes / outcome.spec.sizeBytes)
  })
  return shares.length === 0 ? [] : [`In this run's curl rounds, where a host sends nothing but the ACKs of its own download, the most any host sent was ${Math.max(...shares).toFixed(3)}x the file.`]
}

function pieceLengths(outcomes: readonly RunOutcome[]): string {
  const sizes = [...new Set(outcomes.map((outcome) => outcome.spec.sizeBytes))].sort((a, b) => a - b)
  return sizes.map((sizeBytes) => `${formatBytes(sizeBytes)}: ${formatBytes(pieceLengthFor(sizeBytes))}`).join(', ')
}

/** Sentences to append to a line that ends a sentence: a space before them, nothing when there are none. */
function after(sentences: readonly string[]): string {
  return sentences.length === 0 ? '' : ` ${sentences.join(' ')}`
}

function minutes(ms: number): string {
  return ms < 120_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 60_000).toFixed(0)} minutes`
}

export function docSection(outcomes: readonly RunOutcome[], context: DocContext): string {
  return [
    `Run it as root: \`npm run bench:testbed\` (builds, then the full default matrix: N = ${DEFAULTS.hosts.split(',').join(', ')} × ${DEFAULTS.size.split(',').map((size) => formatBytes(parseBytes(size))).join(' and ')} at`,
    `${DEFAULTS.hostRate} on every link). Pick a part with`,
    `\`${RUN_LINE} --hosts 4,8,16 --size 64MiB --host-rate 100mbit --origin-rate 100mbit [--scenarios curl,bittorrent,damselfly] [--repeat K] [--no-docs | --doc FILE]\`.`,
    '',
    `Measured ${context.measuredAt.toISOString()} on ${context.machine}; the run took ${minutes(context.elapsedMs)}.`,
    loadSummary(outcomes, context).join(' '),
    '',
    `Command: \`${[RUN_LINE, ...context.args].join(' ')}\``,
    '',
    'How:',
    '',
    '- Testbed (bench/testbed/testbed.ts): a hub namespace with a bridge, an origin namespace (10.77.0.2) and one namespace',
    `  per host (10.77.0.11 up), joined by veth pairs. Every link is shaped with \`tc tbf\` (burst ${TBF_BURST}, latency ${TBF_LATENCY}) in`,
    `  both directions: the namespace side's egress is its upload, the hub side's its download. Host links run at ${rateText(context.hostRate)},`,
    `  the origin's at ${rateText(context.originRate)}. tc counts whole frames, headers included, while the lower bound divides the`,
    `  payload by the nominal rate.${after(frameOverheadSentence(outcomes))} The testbed is rebuilt for each N; the scenarios run one after another on it.`,
    '- Two clocks per round. "From running and announced": every process of the scenario is already up and has announced',
    '  itself (Damselfly: the scheduler listens, every daemon answers /healthy and the scheduler has logged every host\'s',
    '  announcement; BitTorrent: opentracker lists the seeder and every host\'s aria2c answers on its JSON-RPC port); the clock',
    '  starts when every host is asked for the file at once, and a host\'s time is when it holds the whole file. "Including',
    '  start-up": from the start of the scenario\'s first process (Damselfly\'s scheduler; opentracker, the seeder and the hosts\'',
    '  aria2c at once) until the last host is done: the first clock plus the start-up, which the notes give. curl starts nothing',
    '  beforehand, so both of its clocks start with the curls. Made before either clock, as at deployment: the torrent',
    '  (mktorrent hashes the whole file), Damselfly\'s cluster CA and its daemons\' identities. "Median host" is from running.',
    '- "Host upload" is the tc byte counter of each host\'s eth0 egress over the round, headers and ACKs included; under 0.1x',
    `  counts as "not uploading".${after(ackShareSentence(outcomes))}`,
    '- "Origin egress" is the same counter on the origin namespace\'s eth0, for every scenario: what left the origin host,',
    '  headers included. That is the HTTP origin\'s replies for curl, the seeder\'s uploads and the tracker\'s replies for',
    '  BitTorrent, and the seed daemon\'s uploads and the scheduler\'s replies for Damselfly, whose seed fetches from the HTTP',
    '  origin inside that namespace, off the shaped link. The notes give the HTTP origin\'s own count of body bytes sent.',
    '- "CPU-s per GiB" is the user + system CPU time of every process the scenario started (daemons and scheduler, aria2c and',
    '  opentracker, curl, and whatever they forked) plus the HTTP origin, all of which join one cgroup (cgroup v2 `cpu.stat`,',
    '  else v1 `cpuacct`), divided by the GiB delivered to all hosts together (N × size): "from running" over the fetches,',
    '  "incl. start-up" over the whole round. The bench\'s own work (starting processes, readiness polls, reading counters,',
    '  checking digests) stays outside the cgroup. "Machine busy" is the share of all cores anything used during the fetches',
    '  (/proc/stat); in brackets, the share the scenario\'s processes and the origin used.',
    '- curl: `curl -o` on every host at once, from a small Node HTTP server in the origin namespace (static-server.ts).',
    `- BitTorrent: \`mktorrent\` with ${formatBytes(BITTORRENT_PIECE_LENGTH_BYTES)} pieces, opentracker (whitelist holding the info hash) and an aria2c`,
    '  seeder in the origin namespace, and on every host an aria2c started in RPC mode (`--enable-rpc`; aria2c has no other',
    '  way to run before it is given a download), without DHT, local discovery or peer exchange. The clock starts as',
    '  `curl` sends every host `aria2.addTorrent` at once. Leechers keep seeding until the last host is done (`--seed-time=0`',
    '  would make each leave the swarm the moment it finishes); each host\'s finish time is stamped by aria2\'s',
    '  on-bt-download-complete hook, which runs before seeding starts.',
    '- Damselfly: the scheduler, a seed daemon and the HTTP origin all live in the origin namespace. Every daemon starts',
    '  fresh, with empty storage. The clock starts as the bench asks every host\'s dfdaemon for the URL at once through its',
    '  local API on its unix socket (`POST /v1/tasks/download`, the request dfget sends; dfget then hard-links the stored',
    '  file, and its own Node start-up is in neither clock); a host is done when its daemon reports the stored file whole.',
    `  Damselfly computes its piece length from the size (${pieceLengths(outcomes)}). The notes give the seed daemon's own upload counter.`,
    '- Every host\'s file is checked against the sha256 of the payload ("sha256 ok").',
    '',
    `![time of the last host against N, per scenario, with the lower bound](${CHART_FILE})`,
    '',
    ...outcomes.flatMap((outcome) => [runReport(outcome, context), '']),
  ].join('\n')
}
