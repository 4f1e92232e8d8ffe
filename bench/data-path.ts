/**
 * The data path, side by side on 127.0.0.1 with every file on tmpfs: one download of one random
 * file by curl from the origin, by an aria2c leecher from an aria2c seeder, by dfget going back to
 * the origin, and by dfget from a warm seed with data-plane TLS on and off. Reports time,
 * throughput, the CPU-seconds per GiB and peak RSS of every process involved, the ratios against
 * aria2c and the data path's targets; then a memory run: a larger file from a warm seed to a child at
 * several fixed piece lengths and concurrencies, with each daemon's peak RSS.
 * Run: `npm run bench:data-path -- [--size 1GiB] [--memory-size 4GiB] [--rounds 2] [--no-docs]`.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { formatBytes } from '../src/common/units.js'
import { makeRandomFile } from '../test/support/origin-server.js'
import { requireCommand } from '../test/support/require-command.js'
import { BenchRun } from './support/bench-run.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { makeTorrent, type LoopbackTorrent } from './support/bittorrent-loopback.js'
import { runMemorySample, type MemorySample } from './support/data-path-memory.js'
import { commandLine, method, parseOptions, RUN_LINE, type DataPathOptions } from './support/data-path-options.js'
import { memoryBreakdownTable, memoryTable, observations, processTable, ratioTable, scenarioTable, targetTable } from './support/data-path-report.js'
import { runScenario, type DataPathContext, type ScenarioName, type ScenarioSample } from './support/data-path-scenarios.js'
import { cpuSecondsPerGiB, keyFigures, ratios, summarize, targetChecks, throughputMiBPerSecond } from './support/data-path-summary.js'
import { GNU_TIME } from './support/process-usage.js'
import { DEFAULT_DOC_PATH } from './support/options.js'

const SECTION = 'data-path'
/** statfs's f_type of tmpfs (TMPFS_MAGIC in linux/magic.h). */
const TMPFS_MAGIC = 0x01021994
/** Copies of a file a scenario holds at once at most: the origin's, the seed's and the child's. */
const COPIES_AT_ONCE = 3

/** A scenario round that failed: reported, and the bench exits non-zero. */
interface Failure {
  readonly what: string
  readonly reason: string
}

/** Throws unless the run's directory is on tmpfs with room for the run's files. */
async function checkWorkDir(options: DataPathOptions): Promise<void> {
  const info = await statfs(options.dir)
  if (info.type !== TMPFS_MAGIC) throw new Error(`${options.dir} is not a tmpfs mount (f_type 0x${info.type.toString(16)}): pass --dir a tmpfs directory, e.g. /dev/shm`)
  const neededBytes = COPIES_AT_ONCE * Math.max(options.size.bytes, options.memory?.size.bytes ?? 0)
  const availableBytes = info.bavail * info.bsize
  if (availableBytes < neededBytes) throw new Error(`${options.dir} has ${formatBytes(availableBytes)} free; the run needs about ${formatBytes(neededBytes)}`)
}

function requireTools(options: DataPathOptions): void {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: install Debian's time with \`bash scripts/install-test-deps.sh\` (as root)`)
  if (options.scenarios.includes('curl')) requireCommand('curl', 'curl')
  if (options.scenarios.includes('aria2')) {
    for (const [command, debianPackage] of [['aria2c', 'aria2'], ['mktorrent', 'mktorrent'], ['opentracker', 'opentracker']] as const) requireCommand(command, debianPackage)
  }
}

function describeSample(sample: ScenarioSample, sizeBytes: number): string {
  const perProcess = sample.usages.map((usage) => `${usage.role} ${cpuSecondsPerGiB(usage.cpuMs, sizeBytes).toFixed(2)} (${(usage.peakRssBytes / 1024 ** 2).toFixed(0)} MiB)`)
  return `${(sample.elapsedMs / 1000).toFixed(2)} s, ${throughputMiBPerSecond(sizeBytes, sample.elapsedMs).toFixed(0)} MiB/s; CPU-s/GiB (peak RSS): ${perProcess.join(', ')}`
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300)
}

async function runRounds(run: BenchRun, options: DataPathOptions, workDir: string, failures: Failure[]): Promise<ScenarioSample[]> {
  console.error(`writing ${formatBytes(options.size.bytes)} of random bytes in ${workDir}`)
  await mkdir(join(workDir, 'origin'))
  const content = await makeRandomFile(join(workDir, 'origin', 'content.bin'), options.size.bytes)
  let torrent: LoopbackTorrent | undefined
  if (options.scenarios.includes('aria2')) {
    console.error('making the .torrent (mktorrent hashes the file)')
    torrent = await makeTorrent(content.file, join(workDir, 'content.torrent'))
  }
  const context: DataPathContext = { children: run.children, workDir, content, torrent, downloadTimeoutMs: options.downloadTimeoutMs }
  const samples: ScenarioSample[] = []
  for (let round = 0; round < options.rounds; round++) {
    // Alternating the order keeps a drift over the run from favouring one scenario.
    const order: readonly ScenarioName[] = round % 2 === 0 ? options.scenarios : [...options.scenarios].reverse()
    for (const scenario of order) {
      console.error(`round ${round + 1}/${options.rounds}, ${scenario}: starting`)
      try {
        const sample = await runScenario(context, scenario, round)
        samples.push(sample)
        console.error(`round ${round + 1}/${options.rounds}, ${scenario}: ${describeSample(sample, options.size.bytes)}`)
      } catch (error) {
        failures.push({ what: `round ${round + 1}, ${scenario}`, reason: reasonOf(error) })
        console.error(`round ${round + 1}/${options.rounds}, ${scenario}: failed: ${reasonOf(error)}`)
      }
    }
  }
  await rm(join(workDir, 'origin'), { recursive: true, force: true })
  await rm(join(workDir, 'content.torrent'), { force: true })
  return samples
}

async function runMemory(run: BenchRun, options: DataPathOptions, workDir: string, failures: Failure[]): Promise<MemorySample[]> {
  const memory = options.memory
  if (memory === undefined) return []
  console.error(`memory run: writing ${formatBytes(memory.size.bytes)} of random bytes`)
  await mkdir(join(workDir, 'memory-origin'))
  const content = await makeRandomFile(join(workDir, 'memory-origin', 'content.bin'), memory.size.bytes)
  const samples: MemorySample[] = []
  for (const { bytes: pieceLengthBytes } of memory.pieceLengths) {
    for (const concurrentPieceCount of memory.concurrentPieceCounts) {
      const what = `memory run, ${formatBytes(pieceLengthBytes)} pieces, ${concurrentPieceCount} at once`
      console.error(`${what}: starting`)
      try {
        const sample = await runMemorySample({ children: run.children, workDir, content, downloadTimeoutMs: options.downloadTimeoutMs }, { pieceLengthBytes, concurrentPieceCount })
        samples.push(sample)
        const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`
        console.error(`${what}: ${(sample.elapsedMs / 1000).toFixed(2)} s; peak RSS: seed fetching ${mib(sample.seedSourcePeakRssBytes)}, seed serving ${mib(sample.seedServing.peakRssBytes)}, child ${mib(sample.child.peakRssBytes)} (V8 heap ${mib(sample.childDownload.peakHeapBytes)}, Buffers ${mib(sample.childDownload.peakExternalBytes)})`)
      } catch (error) {
        failures.push({ what, reason: reasonOf(error) })
        console.error(`${what}: failed: ${reasonOf(error)}`)
      }
    }
  }
  await rm(join(workDir, 'memory-origin'), { recursive: true, force: true })
  return samples
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  requireTools(options)
  await checkWorkDir(options)
  const run = new BenchRun()
  run.releaseOnSignals()
  const startedMs = performance.now()
  try {
    const workPath = await mkdtemp(join(options.dir, 'damselfly-bench-data-path-'))
    run.work = { path: workPath, remove: () => (process.env['DAMSELFLY_KEEP_TEST_DIRS'] === '1' ? Promise.resolve() : rm(workPath, { recursive: true, force: true })) }
    const failures: Failure[] = []
    const samples = await runRounds(run, options, workPath, failures)
    const memory = await runMemory(run, options, workPath, failures)
    const summaries = summarize(samples)
    const figures = keyFigures(summaries)
    const checks = targetChecks(figures, options.size.bytes, memory, options.memory?.size.bytes)
    const notes = [
      ...failures.map((failure) => `Failed: ${failure.what}: ${failure.reason.replaceAll('|', '\\|')}`),
      ...observations(summaries, checks, memory),
    ]
    const memoryPart = options.memory === undefined ? [] : [
      `Memory: a ${formatBytes(options.memory.size.bytes)} file, warm seed → child, TLS on, one run per piece length and concurrency.`,
      '',
      memoryTable(memory, options.memory.size.bytes),
      '',
      'Where each daemon\'s memory went, the seed\'s while it fetched the file from the origin and the child\'s while it downloaded it (each one\'s own `/metrics`, sampled every 100 ms, and RssFile from /proc):',
      '',
      memoryBreakdownTable(memory),
      '',
    ]
    const report = [
      options.rounds === 1 ? `One round of a ${formatBytes(options.size.bytes)} file.` : `${options.rounds} rounds of a ${formatBytes(options.size.bytes)} file, medians per scenario.`,
      '',
      scenarioTable(summaries, options.size.bytes),
      '',
      'Every process of each scenario over the same window:',
      '',
      processTable(summaries, options.size.bytes),
      '',
      ratioTable(ratios(figures)),
      '',
      'Targets of the data path:',
      '',
      targetTable(checks),
      '',
      ...memoryPart,
      ...notes.map((note) => `- ${note}`),
    ].join('\n')
    console.log(report)
    console.error(`the bench took ${((performance.now() - startedMs) / 1000).toFixed(0)} s`)
    if (options.updateDocs) {
      const body = [...sectionPreamble({ runLine: RUN_LINE, command: commandLine(options), build: 'the npm script builds first' }), report, '', 'How:', '', method(options), ''].join('\n')
      await publishSection(DEFAULT_DOC_PATH, SECTION, body)
    }
    return failures.length === 0 ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
