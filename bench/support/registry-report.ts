import { formatBytes } from '../../src/common/units.js'
import { warmMemoryNote } from './warm-memory.js'

/** Bytes the registry sent for both mirror pulls together, above this multiple of the image, are called out. */
const REGISTRY_OVERSEND_RATIO = 1.05
/** CPU used outside the bench's own processes during a pull, as a share of what the machine had, that is called out. */
const OTHER_LOAD_SHARE = 0.15
/** Below this much CPU, other work on the machine is not worth a note. */
const OTHER_LOAD_FLOOR_MS = 1_000

/** The image every pull copies. */
export interface ImageFacts {
  /** Random data per layer before gzip, in MiB, as asked for. */
  readonly layerSizesMiB: readonly number[]
  /** Each gzip layer as stored and served. */
  readonly layerBytes: readonly number[]
  /** Manifest, config and layers: what one full pull must fetch. */
  readonly totalBytes: number
}

/** One timed skopeo pull. */
export interface Pull {
  /** From spawning skopeo until it exited. */
  readonly wallMs: number
  /** CPU time of the scheduler, the seed and the daemons during the pull (skopeo excluded). */
  readonly clusterCpuMs: number | undefined
  /** CPU time of the registry process during the pull. */
  readonly registryCpuMs: number | undefined
  /** CPU time of skopeo, counted once it has exited. */
  readonly skopeoCpuMs: number | undefined
  /** CPU time of the bench process itself during the pull. */
  readonly benchCpuMs: number
  /** CPU time the whole machine spent busy during the pull, whoever used it. */
  readonly machineCpuMs: number | undefined
}

export interface Measured {
  readonly kind: 'measured'
  /** (a): skopeo straight from the registry. */
  readonly direct: Pull
  /** (b): skopeo through daemon A while no peer had the image. */
  readonly cold: Pull
  /** (c): skopeo through daemon B while A and the seed had it. */
  readonly warm: Pull
  /** Body bytes of the registry's GETs during (a). */
  readonly directRegistryBytes: number
  /** Body bytes of the registry's GETs from the start of (b) to the end of (c). */
  readonly mirrorRegistryBytes: number
  /** Bytes A, the seed and the registry sent B during (c), by their counters. */
  readonly warmFromA: number
  readonly warmFromSeed: number
  readonly warmFromRegistry: number
  /** Bytes A fetched from the registry itself (back to source) during (b). */
  readonly coldFromRegistry: number
  /** `costMs` of each daemon's download of the largest layer, from its `task done` log line. */
  readonly seedLargestTaskMs: number | undefined
  readonly aLargestTaskMs: number | undefined
  readonly bLargestTaskMs: number | undefined
}

export interface Round {
  readonly round: number
  /** The order of the three pulls, e.g. `a, b, c`. */
  readonly order: string
  readonly outcome: Measured | { readonly kind: 'failed'; readonly reason: string }
}

function measured(rounds: readonly Round[]): Measured[] {
  return rounds.flatMap((round) => (round.outcome.kind === 'measured' ? [round.outcome] : []))
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(2)} s`
}

function ratio(part: number, whole: number): string {
  return whole === 0 ? '-' : `${(part / whole).toFixed(2)}x`
}

function bytesCell(bytes: number, facts: ImageFacts): string {
  return `${formatBytes(bytes)} (${ratio(bytes, facts.totalBytes)})`
}

function imageLine(facts: ImageFacts): string {
  const layers = facts.layerBytes.map((bytes, i) => `${facts.layerSizesMiB[i]} MiB → ${formatBytes(bytes)}`).join(', ')
  return `Image: ${facts.layerBytes.length} gzip layers of random data (${layers}), ${formatBytes(facts.totalBytes)} with manifest and config.`
}

function timeRow(round: Round, facts: ImageFacts): string {
  const { outcome } = round
  if (outcome.kind !== 'measured') {
    return `| ${[String(round.round), round.order, `failed: ${outcome.reason.replaceAll('|', '\\|').replaceAll('\n', ' ').slice(0, 200)}`, ...Array<string>(7).fill('')].join(' | ')} |`
  }
  return `| ${[
    String(round.round),
    round.order,
    seconds(outcome.direct.wallMs),
    seconds(outcome.cold.wallMs),
    seconds(outcome.warm.wallMs),
    ratio(outcome.cold.wallMs, outcome.direct.wallMs),
    ratio(outcome.warm.wallMs, outcome.direct.wallMs),
    bytesCell(outcome.directRegistryBytes, facts),
    bytesCell(outcome.mirrorRegistryBytes, facts),
    `${formatBytes(outcome.warmFromA)} / ${formatBytes(outcome.warmFromSeed)} / ${formatBytes(outcome.warmFromRegistry)}`,
  ].join(' | ')} |`
}

function medianRow(rows: readonly Measured[], facts: ImageFacts): string[] {
  if (rows.length === 0) return []
  const direct = median(rows.map((row) => row.direct.wallMs))
  const cold = median(rows.map((row) => row.cold.wallMs))
  const warm = median(rows.map((row) => row.warm.wallMs))
  return [`| ${[
    '**median**',
    '',
    `**${seconds(direct)}**`,
    `**${seconds(cold)}**`,
    `**${seconds(warm)}**`,
    `**${ratio(cold, direct)}**`,
    `**${ratio(warm, direct)}**`,
    `**${bytesCell(median(rows.map((row) => row.directRegistryBytes)), facts)}**`,
    `**${bytesCell(median(rows.map((row) => row.mirrorRegistryBytes)), facts)}**`,
    '',
  ].join(' | ')} |`]
}

/** CPU the machine spent during a pull outside the cluster, the registry, skopeo and the bench: other people's work. */
function otherCpuMs(pull: Pull): number | undefined {
  const { machineCpuMs, clusterCpuMs, registryCpuMs, skopeoCpuMs } = pull
  if (machineCpuMs === undefined || clusterCpuMs === undefined || registryCpuMs === undefined || skopeoCpuMs === undefined) return undefined
  return Math.max(0, machineCpuMs - clusterCpuMs - registryCpuMs - skopeoCpuMs - pull.benchCpuMs)
}

function pullsOf(outcome: Measured): ReadonlyArray<readonly [string, Pull, string]> {
  return [
    ['(a) direct', outcome.direct, '-'],
    ['(b) via A, cold', outcome.cold, `seed ${seconds(outcome.seedLargestTaskMs)}, A ${seconds(outcome.aLargestTaskMs)}`],
    ['(c) via B, A warm', outcome.warm, `B ${seconds(outcome.bLargestTaskMs)}`],
  ]
}

function cpuRows(round: Round, cores: number): string[] {
  const { outcome } = round
  if (outcome.kind !== 'measured') return []
  return pullsOf(outcome).map(([name, pull, tasks]) => `| ${[
    String(round.round), name, seconds(pull.wallMs), seconds(pull.clusterCpuMs), seconds(pull.registryCpuMs), seconds(pull.skopeoCpuMs),
    seconds(otherCpuMs(pull)), seconds(pull.wallMs * cores), tasks,
  ].join(' | ')} |`)
}

/** The image line, the table of times and bytes, and the table of CPU per pull, as markdown. */
export function tables(rounds: readonly Round[], facts: ImageFacts, cores: number): string {
  return [
    imageLine(facts),
    '',
    '| round | order | (a) direct | (b) via A, cold | (c) via B, A warm | (b) / (a) | (c) / (a) | registry sent for (a) | registry sent for (b) + (c) | B got from A / seed / registry |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rounds.map((round) => timeRow(round, facts)),
    ...medianRow(measured(rounds), facts),
    '',
    'CPU during each pull: "cluster" is the scheduler, seed, A and B; "other" what the machine spent busy beyond the cluster, the registry, skopeo and the bench (other work on the machine); "available" the wall time times the cores. The last column is the `costMs` of each daemon\'s `task done` line for the largest layer; a peer-fed task logs it only when its scheduler session next wakes, which can be up to about 1 s after its last piece, so A\'s and B\'s can exceed the pull\'s wall time.',
    '',
    '| round | pull | wall | cluster CPU | registry CPU | skopeo CPU | other CPU | available | largest layer\'s task |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---|',
    ...rounds.flatMap((round) => cpuRows(round, cores)),
  ].join('\n')
}

/** Facts worth a reader's attention, derived from the rounds rather than written by hand. */
export function observations(rounds: readonly Round[], facts: ImageFacts, cores: number): string[] {
  const notes: string[] = []
  for (const { round, outcome } of rounds) {
    if (outcome.kind !== 'measured') {
      notes.push(`round ${round}: failed (${outcome.reason.split('\n')[0]?.slice(0, 200) ?? ''}).`)
      continue
    }
    const sent = outcome.mirrorRegistryBytes / facts.totalBytes
    if (sent > REGISTRY_OVERSEND_RATIO) notes.push(`round ${round}: for (b) and (c) together the registry sent ${sent.toFixed(2)}x the image (more than ${REGISTRY_OVERSEND_RATIO}x).`)
    if (outcome.coldFromRegistry > 0) notes.push(`round ${round}: in (b), A fetched ${formatBytes(outcome.coldFromRegistry)} from the registry itself rather than from the seed.`)
    if (outcome.warmFromRegistry > 0) notes.push(`round ${round}: in (c), B fetched ${formatBytes(outcome.warmFromRegistry)} from the registry although A and the seed held the image.`)
    if (outcome.warmFromA === 0) notes.push(`round ${round}: in (c), A served B nothing; B's peer bytes all came from the seed.`)
    for (const [name, pull] of pullsOf(outcome)) {
      const otherMs = otherCpuMs(pull)
      const availableMs = pull.wallMs * cores
      if (otherMs !== undefined && otherMs > OTHER_LOAD_FLOOR_MS && otherMs > OTHER_LOAD_SHARE * availableMs) {
        notes.push(`round ${round}, ${name}: other work on the machine used ${seconds(otherMs)} of the ${seconds(availableMs)} of CPU available.`)
      }
    }
  }
  return notes
}

/** Two sentences on what the medians say and what they cannot say. */
export function summary(rounds: readonly Round[], facts: ImageFacts, cores: number): string[] {
  const rows = measured(rounds)
  if (rows.length === 0) return ['No round completed, so there is nothing to conclude.']
  const direct = median(rows.map((row) => row.direct.wallMs))
  const cold = median(rows.map((row) => row.cold.wallMs))
  const warm = median(rows.map((row) => row.warm.wallMs))
  const sent = median(rows.map((row) => row.mirrorRegistryBytes)) / facts.totalBytes
  return [
    `At the medians, a pull through the mirror took ${ratio(cold, direct)} the direct pull when no peer had the image and ${ratio(warm, direct)} when`,
    `a peer did, while the registry sent ${sent.toFixed(2)}x the image for both mirror pulls together where two direct pulls cost 2x.`,
    `Everything ran over loopback on the same ${cores} cores, where the registry is never the bottleneck and each extra hop`,
    'costs CPU, so the times show the mirror\'s overhead and not the gain a remote or rate-limited registry would give.',
  ]
}

export function method(init: { layerSizesMiB: readonly number[]; rounds: number; pullTimeoutMs: number }, logQuietMs: number): string {
  return [
    `- Registry: \`docker-registry serve\` (distribution 2.8) on 127.0.0.1 with filesystem storage (test/support/registry.ts). The image (gen-oci-image.sh: tars of random files, \`gzip -1\`, layers of ${init.layerSizesMiB.join(', ')} MiB) is pushed once with skopeo.`,
    `- Each of the ${init.rounds} rounds starts a fresh cluster in fresh data dirs, all with default config but for the seed's \`seedPeer.sourcePolicy.allow: [127.0.0.1/32]\` (the registry is on loopback): \`damselfly scheduler\`, one \`dfdaemon --seed\` and daemons A and B, each \`--registry-mirror <registry> --scheduler <scheduler>\`, on 127.0.0.1. Timing starts once the scheduler has logged an announcement from each host.`,
    '- Every pull is `skopeo --insecure-policy copy --quiet --src-tls-verify=false --src-no-creds docker://<host>/bench/img:v1 oci:<dir>:v1`, with `<host>` the registry for (a), A\'s proxy for (b) and B\'s for (c); wall time from spawn to exit. (a) goes first in odd rounds and last in even ones; `sync` runs before each pull.',
    `- Memory: ${warmMemoryNote('of twice the image and 256 MiB, after the `sync`')}.`,
    '- Each pull\'s OCI layout is checked for the pushed manifest digest (skopeo itself checks every blob\'s digest) and deleted before the next pull.',
    `- Registry bytes are the body bytes of its successful GETs in its access log, counted once the log has been quiet for ${logQuietMs} ms after a pull; for (b) + (c) from the start of (b) to the end of (c), so a seed download that outlives (b) still counts. "B got from" is A's and the seed's \`upload_traffic_bytes_total\` during (c) and B's \`download_traffic_bytes_total{type="back_to_source"}\`.`,
    `- Each pull has a deadline of ${init.pullTimeoutMs / 1000} s. The registry serves from the page cache, as does every daemon.`,
  ].join('\n')
}
