/**
 * The "swarm-sim" sections of docs/benchmarks.md: how to run the simulator, what exactly it
 * models and leaves out, and the run's tables. Method sentences describe the code; sentences
 * about results are computed from the run's own figures.
 */
import { formatBytes } from '../../src/common/units.js'
import { DEFAULT_SCHEDULER_SETTINGS, type SchedulerSettings } from '../../src/scheduler/config.js'
import { daemonConfigWith, type DaemonSettings } from './daemon-settings.js'
import { runReport, summaryTable, swarmFigures, ratio, type RunOutcome } from './report.js'
import { CHART_FILE, DEFAULTS, RUN_LINE } from './run-options.js'
import { SCENARIO_DESCRIPTIONS, SCENARIO_NAMES } from './scenario-catalog.js'
import { validationSubject, validationTable, VALIDATION_TOLERANCE, type TestbedFigures, type ValidationRow } from './validation.js'

export interface DocContext {
  /** The flags the run was given, as typed. */
  readonly args: readonly string[]
  readonly measuredAt: Date
  readonly machine: string
  readonly elapsedMs: number
  /** The scheduler settings the run changed (`--scheduler`). */
  readonly schedulerSettings: Partial<SchedulerSettings>
  /** The daemon settings the run changed (`--daemon`). */
  readonly daemonSettings: DaemonSettings
}

function preamble(context: DocContext): string[] {
  return [
    `Run it: \`${RUN_LINE}\` (default matrix: N = ${DEFAULTS.hosts} × ${DEFAULTS.sizes}, every scenario, both swarms; ` +
      '`--hosts`, `--sizes`, `--scenarios`, `--swarms`, `--also scenario:N:size`, `--seed`; `--scheduler key=value` and `--daemon path=value` change settings; `--validate` for the comparison with the testbed; ' +
      '`--jobs n` runs n simulations at once, each in a process of its own, with the same results; `--no-docs` leaves this file alone). Nothing to build: it runs the TypeScript sources.',
    '',
    `Measured ${context.measuredAt.toISOString()} on ${context.machine}; the run took ${Math.round(context.elapsedMs / 60_000)} minutes of wall time.`,
    '',
    `Command: \`${[RUN_LINE, ...context.args].join(' ')}\``,
    '',
  ]
}

/** What the simulator is, in bullets: the model and each simplification, with the values the code uses. */
export function howBullets(changed: Partial<SchedulerSettings>, daemonChanged: DaemonSettings): string[] {
  const daemon = daemonConfigWith(daemonChanged)
  const scheduler = { ...DEFAULT_SCHEDULER_SETTINGS, ...changed }
  const which = Object.keys(changed).length === 0 ? 'its default settings' : `its default settings but for ${JSON.stringify(changed)}`
  const daemonWhich = Object.keys(daemonChanged).length === 0 ? 'the daemon\'s default config' : `the daemon's default config but for ${JSON.stringify(daemonChanged)}`
  return [
    'How:',
    '',
    '- Engine (bench/swarm-sim/engine.ts): discrete events on simulated milliseconds, in (time, insertion) order, so a run is a function of `--seed` alone; ' +
      'the real scheduler\'s promises settle before simulated time moves on.',
    '- Network (network.ts): each host has an uplink and a downlink; the core never limits. Every transfer is one flow, and flows share links max-min fairly ' +
      '(progressive filling), recomputed at most once per quantum (a sixteenth of the time the smallest whole piece takes on the median host\'s downlink, a task shorter than one piece aside: flows start ' +
      'at most that late). A transfer starts after the path\'s one-way latency (0.5 ms per host link, so 1 ms host to host); a control message takes that latency ' +
      'and no bandwidth. TCP is not simulated: a flow gets its fair share at once (no slow start, no losses). Queues: in the testbed\'s scenario each link ' +
      'has tc tbf\'s FIFO, which TCP keeps full (100 ms) while the link is saturated, so a message or a piece\'s first byte waits 100 ms in a saturated ' +
      'uplink and again in a saturated downlink; the other scenarios have no such queue (hosts whose qdisc serves thin flows first, as Linux\'s fq_codel ' +
      'does). A seed peer beside the origin shares the origin\'s links and gets the origin\'s bytes off-link.',
    '- Lower bound (lower-bound.ts): `max(S/u_origin, max over hosts of (arrival + S/d), N·S/(u_origin + Σu))` for the run\'s own links, S the whole ' +
      'content, N the hosts that stay, Σu every uplink that may send (the seed peer\'s too unless it sits beside the origin). "p99 host / own bound" is the ' +
      '99th percentile over the staying hosts of each one\'s time over `max(S/u_origin, arrival + S/d_host)`.',
    `- Scenarios (scenario.ts), one seed peer each, pieces by Damselfly's rule (${formatBytes(256 * 1024 ** 2)}: 1 MiB pieces; 3 GiB: 8 MiB): ` +
      SCENARIO_NAMES.map((name) => `${name}: ${SCENARIO_DESCRIPTIONS[name]}`).join('; ') + '.',
    `- Damselfly (damselfly.ts, damselfly/): the real \`SchedulerCore\` with ${which} (candidateParentLimit ` +
      `${scheduler.candidateParentLimit}, filterParentLimit ${scheduler.filterParentLimit}, retryInterval ${scheduler.retryInterval} ms, ` +
      `backToSourceCount ${scheduler.backToSourceCount}, seedWaitTimeout ${scheduler.seedWaitTimeout} ms) on a host of its own, on the simulated clock, ` +
      'without identities (no capabilities: the daemons\' TLS and signatures cost nothing here). Each host runs a simulated dfdaemon with ' +
      `${daemonWhich}: it announces its host (upload limit ${daemon.upload.concurrentLimit}, current uploads, its uplink's rate as its upload capacity) every ${daemon.scheduler.announceInterval} ms, ` +
      'registers a peer per task through the real PeerSession (its messages and its report batching: 5 ms or 32 pieces), follows the decision as ' +
      'peer-phase.ts does, and downloads with the daemon\'s own PieceChoice (src/daemon/download/piece-choice.ts: rarest first with random ties, ' +
      `${daemon.download.concurrentPieceCount} pieces in flight, least loaded then fastest parent, any parent but a seed asked for at most its even share of those slots, ` +
      'one piece at a time from a seed (three when it is the only parent), busy and deferred rests, the endgame, a parent dropped after two failures, a reschedule after 5 s without progress). A piece is a ' +
      'request (a message to the parent) and one transfer back; the parent\'s upload server gets to each request at a uniformly random moment within ' +
      '1 ms of its arrival (a request\'s time in a Node process; answering the instant it arrives ran the swarm in lockstep). A child watches each parent\'s ' +
      'pieces as the daemon does (one request; the upload server sends the pieces held, then at the end of each instant the pieces added in it, each a ' +
      'message) and asks for a piece once it holds the scheduler\'s digest, which goes to every running peer of the task when the scheduler learns it. ' +
      'Upload servers answer busy beyond ' +
      `${daemon.upload.concurrentLimit} uploads; a seed peer's runs the real PieceSpread (${daemon.seedPeer.taskUploadLimit} pieces of a task at once, ` +
      'each piece out once before any goes twice, and no piece twice while another task it fetches has one not yet out). Seed peers start on the scheduler\'s seed_task command and fetch from the origin as the source phase ' +
      `does: a HEAD (one round trip), then runs of consecutive pieces cut by the daemon's own rule, up to ${daemon.download.concurrentPieceCount} at once and ${daemon.source.concurrentLimit} for all of the host's tasks together (SourceSlots), each one request and one flow, a piece ` +
      'reported as its last byte arrives. Pieces carry no bytes; each has one digest (a hash of task and number), which the scheduler checks as usual. ' +
      'A host that leaves ends its streams, its transfers and its connections at once and sends LeaveHost. Not modelled: CPU and disk time (hashing, ' +
      'writing, the scheduler\'s own work: every other message is handled the moment it arrives), HTTP and TLS handshakes.',
    '- BitTorrent-like baseline (bittorrent.ts, its header lists the rules): tracker with random peer lists of 50, rarest first after 4 random pieces, ' +
      'endgame, 4 tit-for-tat unchoke slots re-evaluated every 10 s plus an optimistic unchoke every 30 s, at most 2 requests per connection, the seed ' +
      'holding the file from the start, finished hosts seeding to the end; whole pieces as single transfers.',
    '- Figures: median and p99 (nearest rank) over the hosts that stay; "last host" only when every staying host finished. Egress and uploads are ' +
      'payload bytes over the content size; fairness is Jain\'s index of the downloading hosts\' uploads (1: all equal). Scheduler decisions are the ' +
      'scheduler\'s schedule runs of any outcome (parents, back-to-source, retry), from its own metrics, per simulated second. Wall time and events are the ' +
      'cost of simulating the run on this machine. Where the hosts\' downlinks differ, a second table gives each class of downlink on its own ' +
      '(its median and p99 host, and those over each host\'s own bound).',
    '',
  ]
}

/** The targets, with the figure of this run that answers each, when the run has it. */
function targets(outcomes: readonly RunOutcome[]): string[] {
  const find = (scenario: string, hosts: number, sizeBytes: number): RunOutcome | undefined =>
    outcomes.find((outcome) => outcome.spec.scenario === scenario && outcome.spec.hosts === hosts && outcome.spec.sizeBytes === sizeBytes)
  const figures = (outcome: RunOutcome | undefined, swarm: string): ReturnType<typeof swarmFigures> | undefined => {
    const run = outcome?.runs.find((each) => each.swarm === swarm)
    return outcome === undefined || run === undefined ? undefined : swarmFigures(outcome.scenario, run)
  }
  const threeGiB = 3 * 1024 ** 3
  const rows: string[] = []
  for (const [hosts, target] of [[1_000, 1.3], [10_000, 1.5]] as const) {
    const f = figures(find('equal-links', hosts, threeGiB), 'damselfly')
    if (f?.lastMs !== undefined) rows.push(`| equal links, N = ${hosts.toLocaleString('en-US')}, 3 GiB: last host / lower bound | <= ${target}x | ${ratio(f.lastMs / f.boundMs)} |`)
  }
  const heterogeneous = figures(find('heterogeneous-links', 1_000, threeGiB), 'damselfly') ?? figures(find('heterogeneous-links', 1_000, 256 * 1024 ** 2), 'damselfly')
  if (heterogeneous?.ownBoundRatio.p99 !== undefined) rows.push(`| heterogeneous links, N = 1,000: p99 host / its own lower bound | <= 1.5x | ${ratio(heterogeneous.ownBoundRatio.p99)} |`)
  const versus = outcomes.flatMap((outcome) => {
    const ours = figures(outcome, 'damselfly')?.lastMs
    const theirs = figures(outcome, 'bittorrent')?.lastMs
    return ours === undefined || theirs === undefined ? [] : [ours / theirs]
  })
  if (versus.length > 0) rows.push(`| Damselfly / BitTorrent baseline, last host, same links | <= 0.8x | ${ratio(Math.min(...versus))} to ${ratio(Math.max(...versus))} over ${versus.length} runs |`)
  return rows.length === 0 ? [] : ['Targets of the issue:', '', '| measure | target | this run |', '|---|---:|---:|', ...rows, '']
}

export function docSection(outcomes: readonly RunOutcome[], context: DocContext): string {
  const swarms = [...new Set(outcomes.flatMap((outcome) => outcome.runs.map((run) => run.swarm)))]
  return [
    ...preamble(context),
    ...howBullets(context.schedulerSettings, context.daemonSettings),
    `![last host over the lower bound against N, Damselfly and the BitTorrent-like baseline](${CHART_FILE})`,
    '',
    ...targets(outcomes),
    summaryTable(outcomes, swarms),
    '',
    ...outcomes.flatMap((outcome) => [runReport(outcome), '']),
  ].join('\n')
}

export function validationSection(rows: readonly ValidationRow[], figures: TestbedFigures, context: DocContext): string {
  const passed = rows.filter(({ measured, run, scenario }) => {
    const f = swarmFigures(scenario, run)
    return f.lastMs !== undefined && f.medianMs !== undefined &&
      Math.abs(f.lastMs / measured.lastHostMs - 1) <= VALIDATION_TOLERANCE && Math.abs(f.medianMs / measured.medianHostMs - 1) <= VALIDATION_TOLERANCE
  }).length
  return [
    ...preamble(context),
    `The testbed's own scenario (bench/swarm-sim/scenario.ts \`testbedLike\`: ${validationSubject(figures)}): the seed peer beside the origin on its ` +
      'link, every link at the tc rate both ways, 0.05 ms per veth hop, payload at 1448/1514 of the rate (tc counts whole frames). ' +
      figures.provenance.notes,
    '',
    ...howBullets(context.schedulerSettings, context.daemonSettings),
    validationTable(rows),
    '',
    `${passed} of ${rows.length} runs came within ${Math.round(VALIDATION_TOLERANCE * 100)}% of the testbed on both the last and the median host.`,
    '',
  ].join('\n')
}
