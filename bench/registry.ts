/**
 * Image pulls through the registry mirror: skopeo pulls one gzip-layered image (a) straight from
 * a real docker-registry, (b) through daemon A while no peer has it, so the seed fetches from the
 * registry and A from the seed, and (c) through daemon B while A and the seed hold it. Reports the
 * times, their ratios to (a) and the bytes the registry sent.
 * Run: `node --import tsx bench/registry.ts [--layers 5,50,200] [--rounds 2]`.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { tempDir } from '../test/support/files.js'
import { generateImage, pushImage, type OciImage } from '../test/support/oci-image.js'
import { metricValue, waitFor } from '../test/support/processes.js'
import { startRegistry, type RegistryProcess } from '../test/support/registry.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { commaList, DEFAULT_DOC_PATH, positiveInteger, positiveSecondsAsMs } from './support/options.js'
import type { ChildProcesses } from './support/child-processes.js'
import { startLoopbackCluster, type ClusterDaemon as MirrorDaemon, type LoopbackCluster as MirrorCluster } from './support/loopback-cluster.js'
import { cpuTimeMs, machineBusyCpuMs } from './support/process-cpu.js'
import { method, observations, summary, tables, type ImageFacts, type Pull, type Round } from './support/registry-report.js'
import { BenchRun } from './support/bench-run.js'
import { warmMemory } from './support/warm-memory.js'

const SECTION = 'registry'
const RUN_LINE = 'node --import tsx bench/registry.ts [--layers 5,50,200] [--rounds 2]'
const REPO = 'bench/img'
const TAG = 'v1'
/** How long the registry's access log must stay unchanged before a phase's bytes are counted. */
const LOG_QUIET_MS = 500
const LOG_SETTLE_TIMEOUT_MS = 10_000
const PUSH_TIMEOUT_MS = 300_000
const TASKS_DONE_TIMEOUT_MS = 30_000
/** USER_HZ, the unit of CPU times in /proc; 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_SECOND = 100

const USAGE = `usage: ${RUN_LINE} [--timeout 180] [--no-docs]

  --layers   comma-separated sizes of the image's gzip layers, in whole MiB of random data (default 5,50,200)
  --rounds   how many times to measure (a), (b) and (c), each round on a fresh cluster (default 2)
  --timeout  deadline of each skopeo pull, in seconds (default 180)
  --no-docs  print the tables only; leave docs/benchmarks.md alone`

export interface BenchOptions {
  readonly layerSizesMiB: readonly number[]
  readonly rounds: number
  readonly pullTimeoutMs: number
  readonly updateDocs: boolean
}

function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      layers: { type: 'string', default: '5,50,200' },
      rounds: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '180' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const layerSizesMiB = commaList(values.layers).map(Number)
  if (layerSizesMiB.length === 0 || layerSizesMiB.some((size) => !Number.isSafeInteger(size) || size < 1)) {
    throw new Error(`--layers must be positive whole MiB, got ${values.layers}`)
  }
  const rounds = positiveInteger(values.rounds, '--rounds')
  return { layerSizesMiB, rounds, pullTimeoutMs: positiveSecondsAsMs(values.timeout, '--timeout'), updateDocs: !values['no-docs'] }
}

/** This bench's run: the shared cleanup, plus the registry it serves from. */
class RegistryRun extends BenchRun {
  registry: RegistryProcess | undefined
}

/** Body bytes of the successful GETs the registry has logged from request number `since` on. */
function sentSince(registry: RegistryProcess, since: number): number {
  return registry.requests().slice(since)
    .filter((request) => request.method === 'GET' && request.status >= 200 && request.status < 300)
    .reduce((total, request) => total + request.bodyBytes, 0)
}

/**
 * Waits until the registry's access log has stopped growing: it writes a request's line as its
 * handler returns, which can be a moment after the client read the last byte.
 */
async function settledRequestCount(registry: RegistryProcess): Promise<number> {
  let count = registry.requests().length
  let changedMs = performance.now()
  await waitFor(() => {
    const now = registry.requests().length
    if (now !== count) {
      count = now
      changedMs = performance.now()
    }
    return performance.now() - changedMs >= LOG_QUIET_MS
  }, 'the registry access log to settle', LOG_SETTLE_TIMEOUT_MS)
  return count
}

/**
 * CPU time of this process's children that have exited and been reaped, from /proc/self/stat
 * (cutime, cstime): the one way to see what a short-lived skopeo used. Undefined without /proc.
 */
async function reapedChildrenCpuMs(): Promise<number | undefined> {
  const text = await readFile('/proc/self/stat', 'utf8').catch(() => undefined)
  // Fields after the parenthesised command name; cutime and cstime are the 16th and 17th fields.
  const fields = text?.slice(text.lastIndexOf(')') + 2).split(' ')
  const cutime = Number(fields?.[13])
  const cstime = Number(fields?.[14])
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return undefined
  return ((cutime + cstime) * 1000) / CLOCK_TICKS_PER_SECOND
}

/** Flushes earlier writes, so their writeback does not land in the next timed pull. */
async function sync(children: ChildProcesses): Promise<void> {
  const exit = await children.run('sync', [], { timeoutMs: 120_000 })
  if (exit.code !== 0) throw new Error(`sync exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr}`)
}

function imageBytes(image: OciImage): number {
  return image.config.size + image.layers.reduce((total, layer) => total + layer.size, 0)
}

/** One timed `skopeo copy` from `host` into a fresh OCI layout, checked and then deleted. */
async function pull(run: RegistryRun, cluster: MirrorCluster, image: OciImage, host: string, output: string, timeoutMs: number): Promise<Pull> {
  await sync(run.children)
  // skopeo writes the image, and through a mirror the daemon too.
  await warmMemory(2 * imageBytes(image))
  const registryPid = run.registry?.child.pid
  const clusterBeforeMs = await cluster.cpuTimeMs()
  const registryBeforeMs = await cpuTimeMs(registryPid)
  const skopeoBeforeMs = await reapedChildrenCpuMs()
  const benchBefore = process.cpuUsage()
  const machineBeforeMs = await machineBusyCpuMs()
  const exit = await run.children.run('skopeo', [
    '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--src-no-creds',
    `docker://${host}/${REPO}:${TAG}`, `oci:${output}:${TAG}`,
  ], { timeoutMs })
  const machineAfterMs = await machineBusyCpuMs()
  const benchUsage = process.cpuUsage(benchBefore)
  const clusterAfterMs = await cluster.cpuTimeMs()
  const registryAfterMs = await cpuTimeMs(registryPid)
  const skopeoAfterMs = await reapedChildrenCpuMs()
  if (exit.signal === 'SIGKILL') throw new Error(`skopeo from ${host} ran past ${timeoutMs / 1000} s`)
  if (exit.code !== 0) throw new Error(`skopeo from ${host} exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr.slice(-1000)}`)
  const index = JSON.parse(await readFile(join(output, 'index.json'), 'utf8')) as { manifests?: Array<{ digest?: string }> }
  const digest = index.manifests?.[0]?.digest
  if (digest !== image.manifestDigest) throw new Error(`skopeo from ${host} wrote manifest ${digest}, expected ${image.manifestDigest}`)
  await rm(output, { recursive: true, force: true })
  return {
    wallMs: exit.elapsedMs,
    clusterCpuMs: difference(clusterBeforeMs, clusterAfterMs),
    registryCpuMs: difference(registryBeforeMs, registryAfterMs),
    skopeoCpuMs: difference(skopeoBeforeMs, skopeoAfterMs),
    benchCpuMs: (benchUsage.user + benchUsage.system) / 1000,
    machineCpuMs: difference(machineBeforeMs, machineAfterMs),
  }
}

async function trafficOf(daemon: MirrorDaemon): Promise<{ fromPeersBytes: number; fromSourceBytes: number; uploadedBytes: number }> {
  const sample = (type: string): string => `damselfly_dfdaemon_download_traffic_bytes_total{type="${type}"}`
  const [fromPeersBytes, fromSourceBytes, uploadedBytes] = await Promise.all([
    metricValue(daemon.metricsAddress, sample('remote_peer')),
    metricValue(daemon.metricsAddress, sample('back_to_source')),
    metricValue(daemon.metricsAddress, 'damselfly_dfdaemon_upload_traffic_bytes_total'),
  ])
  return { fromPeersBytes, fromSourceBytes, uploadedBytes }
}

async function tasksDone(daemon: MirrorDaemon): Promise<Array<{ contentLength?: number; costMs?: number }>> {
  const lines = (await readFile(daemon.logPath, 'utf8').catch(() => '')).split('\n').filter((line) => line.includes('"msg":"task done"'))
  return lines.map((line) => JSON.parse(line) as { contentLength?: number; costMs?: number })
}

/**
 * Waits until every daemon has logged `task done` for each blob. A daemon serves a blob as its
 * pieces land, so skopeo can finish before the task does; this keeps the tail out of the next pull.
 */
async function waitForTasks(daemons: readonly MirrorDaemon[], blobCount: number): Promise<void> {
  await waitFor(async () => (await Promise.all(daemons.map(tasksDone))).every((tasks) => tasks.length >= blobCount), 'every daemon to log its tasks done', TASKS_DONE_TIMEOUT_MS)
}

/** The `costMs` of the daemon's `task done` line with the largest `contentLength`: its download of the largest blob. */
async function largestTaskMs(daemon: MirrorDaemon): Promise<number | undefined> {
  const tasks = await tasksDone(daemon)
  const largest = tasks.reduce<(typeof tasks)[number] | undefined>((best, task) => ((task.contentLength ?? 0) > (best?.contentLength ?? -1) ? task : best), undefined)
  return largest?.costMs
}

async function measureRound(run: RegistryRun, image: OciImage, round: number, timeoutMs: number): Promise<Round> {
  const registry = run.registry!
  const dir = join(run.work!.path, `round-${round}`)
  try {
    const cluster = await startLoopbackCluster(run.children, dir, 2, { daemonArgs: ['--registry-mirror', registry.url] })
    const [a, b] = cluster.daemons as [MirrorDaemon, MirrorDaemon]
    const direct = async (): Promise<{ pull: Pull; registryBytes: number }> => {
      const since = await settledRequestCount(registry)
      const result = await pull(run, cluster, image, registry.host, join(dir, 'pull-direct'), timeoutMs)
      await settledRequestCount(registry)
      return { pull: result, registryBytes: sentSince(registry, since) }
    }
    // Alternating where (a) goes keeps a drift over the run from favouring one side; (b) must precede (c).
    const directFirst = round % 2 === 1
    const early = directFirst ? await direct() : undefined
    const since = await settledRequestCount(registry)
    const cold = await pull(run, cluster, image, a.proxyAddress, join(dir, 'pull-a'), timeoutMs)
    const seedAfterCold = await trafficOf(cluster.seed)
    const aAfterCold = await trafficOf(a)
    const warm = await pull(run, cluster, image, b.proxyAddress, join(dir, 'pull-b'), timeoutMs)
    await waitForTasks([cluster.seed, a, b], image.layers.length + 1)
    await settledRequestCount(registry)
    const mirrorRegistryBytes = sentSince(registry, since)
    const [seedAfter, aAfter, bAfter] = await Promise.all([trafficOf(cluster.seed), trafficOf(a), trafficOf(b)])
    const late = early ?? (await direct())
    return {
      round,
      order: directFirst ? 'a, b, c' : 'b, c, a',
      outcome: {
        kind: 'measured',
        direct: late.pull,
        cold,
        warm,
        directRegistryBytes: late.registryBytes,
        mirrorRegistryBytes,
        warmFromA: aAfter.uploadedBytes - aAfterCold.uploadedBytes,
        warmFromSeed: seedAfter.uploadedBytes - seedAfterCold.uploadedBytes,
        warmFromRegistry: bAfter.fromSourceBytes,
        coldFromRegistry: aAfterCold.fromSourceBytes,
        seedLargestTaskMs: await largestTaskMs(cluster.seed),
        aLargestTaskMs: await largestTaskMs(a),
        bLargestTaskMs: await largestTaskMs(b),
      },
    }
  } catch (error) {
    return { round, order: round % 2 === 1 ? 'a, b, c' : 'b, c, a', outcome: { kind: 'failed', reason: error instanceof Error ? error.message : String(error) } }
  } finally {
    await run.children.stopAll()
    if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
  }
}

function difference(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before
}

async function imageFacts(image: OciImage, layerSizesMiB: readonly number[]): Promise<ImageFacts> {
  const manifestBytes = (await stat(image.blobPath(image.manifestDigest))).size
  const layerBytes = image.layers.map((layer) => layer.size)
  return { layerSizesMiB, layerBytes, totalBytes: manifestBytes + image.config.size + layerBytes.reduce((total, size) => total + size, 0) }
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const command = `node --import tsx bench/registry.ts --layers ${options.layerSizesMiB.join(',')} --rounds ${options.rounds}`
  const run = new RegistryRun()
  run.releaseOnSignals()
  const startedMs = performance.now()
  try {
    run.work = await tempDir('bench-registry')
    run.registry = run.hold(await startRegistry(join(run.work.path, 'registry')), (registry) => registry.stop())
    console.error(`generating an image with gzip layers of ${options.layerSizesMiB.join(', ')} MiB in ${run.work.path}`)
    const layoutDir = join(run.work.path, 'image')
    const image = await generateImage(layoutDir, TAG, options.layerSizesMiB)
    await pushImage(layoutDir, TAG, run.registry.host, REPO, undefined, { timeoutMs: PUSH_TIMEOUT_MS })
    const facts = await imageFacts(image, options.layerSizesMiB)
    await rm(layoutDir, { recursive: true, force: true })
    const rounds: Round[] = []
    for (let round = 1; round <= options.rounds; round++) {
      console.error(`round ${round}: starting a scheduler, a seed and daemons a and b`)
      const result = await measureRound(run, image, round, options.pullTimeoutMs)
      if (result.outcome.kind === 'failed') console.error(`round ${round} failed: ${result.outcome.reason}`)
      rounds.push(result)
    }
    const result = tables(rounds, facts, availableParallelism())
    const notes = observations(rounds, facts, availableParallelism())
    console.log(result)
    if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`)
    console.error(`the bench took ${((performance.now() - startedMs) / 1000).toFixed(1)} s`)
    if (options.updateDocs) {
      const body = [
        ...sectionPreamble({ runLine: RUN_LINE, command }),
        result,
        '',
        ...(notes.length > 0 ? ['Worth noting in this run:', '', ...notes.map((note) => `- ${note}`), ''] : []),
        ...summary(rounds, facts, availableParallelism()),
        '',
        'How:',
        '',
        method(options, LOG_QUIET_MS),
      ].join('\n')
      await publishSection(DEFAULT_DOC_PATH, SECTION, body)
    }
    return rounds.every((round) => round.outcome.kind === 'measured') ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
