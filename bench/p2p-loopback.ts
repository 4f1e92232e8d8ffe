/**
 * P2P on loopback: for each daemon count N, a scheduler, a seed daemon and N daemons on
 * 127.0.0.1 all dfget one random file at once; side by side, N concurrent curls fetch it straight
 * from the origin. Reports the time until the last download finished, what the origin sent and
 * who served the daemons' bytes.
 * Run: `node --import tsx bench/p2p-loopback.ts [--sizes 256MiB] [--counts 2,4,8,16]`.
 */
import { mkdir, rm } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { formatBytes, parseBytes } from '../src/common/units.js'
import { sha256File, tempDir } from '../test/support/files.js'
import { makeRandomFile, OriginServer, type Content } from '../test/support/origin-server.js'
import { cliPath } from '../test/support/processes.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import type { ChildProcesses } from './support/child-processes.js'
import { machineBusyCpuMs } from './support/process-cpu.js'
import { lastTaskCostMs, startLoopbackCluster, trafficOf, type DaemonTraffic, type LoopbackCluster } from './support/loopback-cluster.js'
import { BenchRun } from './support/bench-run.js'
import { DEFAULT_DOC_PATH, nonEmptyCommaList, positiveInteger, positiveSecondsAsMs } from './support/options.js'
import { warmMemory, warmMemoryNote } from './support/warm-memory.js'

const SECTION = 'p2p-loopback'
const RUN_LINE = 'node --import tsx bench/p2p-loopback.ts [--sizes 256MiB] [--counts 2,4,8,16]'
/** Origin bytes above this multiple of the file size, for one P2P round, are called out. */
const ORIGIN_OVERSEND_RATIO = 1.05
/** CPU used outside the bench's own processes, as a share of what the machine had, that is called out. */
const OTHER_LOAD_SHARE = 0.15

const USAGE = `usage: ${RUN_LINE} [--timeout 180s] [--no-docs]

  --sizes    comma-separated sizes of the random file (default 256MiB)
  --counts   comma-separated numbers of daemons, besides the seed (default 2,4,8,16)
  --timeout  deadline of each download, in seconds (default 180); a count that runs past it
             is reported and larger counts of the same size are skipped
  --no-docs  print the table only; leave docs/benchmarks.md alone`

interface BenchOptions {
  readonly sizes: ReadonlyArray<{ readonly text: string; readonly bytes: number }>
  readonly counts: readonly number[]
  readonly downloadTimeoutMs: number
  readonly updateDocs: boolean
}

interface P2pResult {
  readonly lastDoneMs: number
  readonly originBytes: number
  readonly seed: DaemonTraffic
  readonly daemons: readonly DaemonTraffic[]
  /** CPU time of the scheduler, the seed and the daemons during the downloads. */
  readonly clusterCpuMs: number | undefined
  /** CPU time the whole machine spent busy during the downloads, whoever used it. */
  readonly machineCpuMs: number | undefined
  /** CPU time of this process (the origin) during the downloads. */
  readonly benchCpuMs: number
  /** How long the seed took to fetch the file from the origin, by its own log. */
  readonly seedTaskMs: number | undefined
}

interface CurlResult {
  readonly lastDoneMs: number
  readonly originBytes: number
}

type Outcome =
  | { readonly kind: 'measured'; readonly p2p: P2pResult; readonly curl: CurlResult }
  | { readonly kind: 'failed' | 'skipped'; readonly reason: string }

interface Row {
  readonly sizeBytes: number
  readonly count: number
  readonly outcome: Outcome
}

/** A download that ran past its deadline; larger counts would only take longer. */
class DeadlineExceeded extends Error {}

function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: '256MiB' },
      counts: { type: 'string', default: '2,4,8,16' },
      timeout: { type: 'string', default: '180' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const sizes = nonEmptyCommaList(values.sizes, '--sizes').map((text) => ({ text, bytes: parseBytes(text) }))
  if (sizes.some((size) => size.bytes < 1)) throw new Error('every --sizes value must be at least one byte')
  const counts = nonEmptyCommaList(values.counts, '--counts').map((text) => positiveInteger(text, '--counts'))
  return { sizes, counts, downloadTimeoutMs: positiveSecondsAsMs(values.timeout, '--timeout'), updateDocs: !values['no-docs'] }
}

/** This bench's run: the shared cleanup, plus the origin it serves from. */
class P2pRun extends BenchRun {
  origin: OriginServer | undefined
}

/** Runs every command at once; the time from the first spawn until the last exit. */
async function timeTogether(children: ChildProcesses, label: string, commands: ReadonlyArray<readonly [string, readonly string[]]>, timeoutMs: number): Promise<number> {
  const startedMs = performance.now()
  const exits = await Promise.all(commands.map(([command, args]) => children.run(command, args, { timeoutMs })))
  const lastDoneMs = performance.now() - startedMs
  for (const [i, exit] of exits.entries()) {
    if (exit.signal === 'SIGKILL') throw new DeadlineExceeded(`${label} ${i} ran past ${timeoutMs / 1000} s`)
    if (exit.code !== 0) throw new Error(`${label} ${i} exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr.slice(-1000)}`)
  }
  return lastDoneMs
}

/** Checks each output's digest, then deletes it, so counts do not pile gigabytes up. */
async function verifyAndRemove(outputs: readonly string[], content: Content, label: string): Promise<void> {
  for (const output of outputs) {
    const digest = await sha256File(output)
    if (digest !== content.sha256) throw new Error(`${label} wrote ${output} with sha256 ${digest}, expected ${content.sha256}`)
    await rm(output, { force: true })
  }
}

/** Flushes earlier writes, so their writeback does not land in the next timed phase. */
async function sync(children: ChildProcesses): Promise<void> {
  const exit = await children.run('sync', [], { timeoutMs: 120_000 })
  if (exit.code !== 0) throw new Error(`sync exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr}`)
}

async function runP2p(run: P2pRun, cluster: LoopbackCluster, dir: string, content: Content, timeoutMs: number): Promise<P2pResult> {
  const origin = run.origin!
  const path = `/${basename(dir)}/p2p.bin`
  const url = origin.serve(path, content)
  const outputs = cluster.daemons.map((_, i) => join(dir, `dfget-${i}.out`))
  await sync(run.children)
  // The seed and every daemon store the file; each dfget links its daemon's copy.
  await warmMemory((cluster.daemons.length + 1) * content.length)
  const cpuBeforeMs = await cluster.cpuTimeMs()
  const machineBeforeMs = await machineBusyCpuMs()
  const benchBefore = process.cpuUsage()
  const lastDoneMs = await timeTogether(
    run.children,
    'dfget',
    cluster.daemons.map((daemon, i) => [process.execPath, [cliPath('dfget'), url, '-O', outputs[i]!, '-e', daemon.socketPath, '--no-progress']] as const),
    timeoutMs,
  )
  const cpuAfterMs = await cluster.cpuTimeMs()
  const machineAfterMs = await machineBusyCpuMs()
  const benchUsage = process.cpuUsage(benchBefore)
  const seed = await trafficOf(cluster.seed)
  const daemons = await Promise.all(cluster.daemons.map((daemon) => trafficOf(daemon)))
  await verifyAndRemove(outputs, content, 'dfget')
  return {
    lastDoneMs,
    originBytes: origin.statsOf(path).bodyBytesSent,
    seed,
    daemons,
    clusterCpuMs: difference(cpuBeforeMs, cpuAfterMs),
    machineCpuMs: difference(machineBeforeMs, machineAfterMs),
    benchCpuMs: (benchUsage.user + benchUsage.system) / 1000,
    seedTaskMs: await lastTaskCostMs(cluster.seed),
  }
}

async function runCurl(run: P2pRun, dir: string, count: number, content: Content, timeoutMs: number): Promise<CurlResult> {
  const origin = run.origin!
  const path = `/${basename(dir)}/curl.bin`
  const url = origin.serve(path, content)
  const outputs = Array.from({ length: count }, (_, i) => join(dir, `curl-${i}.out`))
  await sync(run.children)
  await warmMemory(count * content.length)
  const lastDoneMs = await timeTogether(run.children, 'curl', outputs.map((output) => ['curl', ['-s', '-o', output, url]] as const), timeoutMs)
  await verifyAndRemove(outputs, content, 'curl')
  return { lastDoneMs, originBytes: origin.statsOf(path).bodyBytesSent }
}

async function measureCount(run: P2pRun, content: Content, count: number, turn: number, timeoutMs: number): Promise<Outcome> {
  const dir = join(run.work!.path, `${content.length}-bytes-${count}-daemons`)
  await mkdir(dir, { recursive: true })
  try {
    const cluster = await startLoopbackCluster(run.children, dir, count)
    // Alternating which goes first keeps a drift over the run from favouring one side.
    if (turn % 2 === 0) {
      const p2p = await runP2p(run, cluster, dir, content, timeoutMs)
      return { kind: 'measured', p2p, curl: await runCurl(run, dir, count, content, timeoutMs) }
    }
    const curl = await runCurl(run, dir, count, content, timeoutMs)
    return { kind: 'measured', p2p: await runP2p(run, cluster, dir, content, timeoutMs), curl }
  } finally {
    await run.children.stopAll()
    // Logs stay for reading when asked, as test/support/files.ts's tempDir keeps its dir.
    if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
  }
}

function difference(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((part / whole) * 100).toFixed(0)}%`
}

function received(traffic: DaemonTraffic): number {
  return traffic.fromPeersBytes + traffic.fromLocalBytes + traffic.fromSourceBytes
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

function optionalSeconds(ms: number | undefined): string {
  return ms === undefined ? '?' : seconds(ms)
}

function originCell(bytes: number, sizeBytes: number): string {
  return `${formatBytes(bytes)} (${(bytes / sizeBytes).toFixed(2)}x)`
}

function tableRow({ sizeBytes, count, outcome }: Row): string {
  const head = [formatBytes(sizeBytes), String(count)]
  if (outcome.kind !== 'measured') return `| ${[...head, `${outcome.kind}: ${outcome.reason.replaceAll('|', '\\|').replaceAll('\n', ' ').slice(0, 200)}`, ...Array<string>(9).fill('')].join(' | ')} |`
  const { p2p, curl } = outcome
  const receivedBytes = sum(p2p.daemons.map(received))
  const betweenDaemonsBytes = sum(p2p.daemons.map((traffic) => traffic.uploadedBytes))
  const idle = p2p.daemons.filter((traffic) => traffic.uploadedBytes === 0).length
  const toOrigin = p2p.daemons.filter((traffic) => traffic.fromSourceBytes > 0).length
  return `| ${[
    ...head,
    seconds(p2p.lastDoneMs),
    optionalSeconds(p2p.seedTaskMs),
    seconds(curl.lastDoneMs),
    originCell(p2p.originBytes, sizeBytes),
    originCell(curl.originBytes, sizeBytes),
    formatBytes(betweenDaemonsBytes),
    `${percent(betweenDaemonsBytes, receivedBytes)} / ${percent(p2p.seed.uploadedBytes, receivedBytes)} / ${percent(sum(p2p.daemons.map((traffic) => traffic.fromSourceBytes)), receivedBytes)}`,
    `${idle} of ${count}`,
    `${toOrigin} of ${count}`,
    `${optionalSeconds(p2p.clusterCpuMs)} / ${optionalSeconds(p2p.machineCpuMs)} / ${seconds((p2p.lastDoneMs * availableParallelism()))}`,
  ].join(' | ')} |`
}

function table(rows: readonly Row[]): string {
  return [
    '| file | daemons | dfget, last done | seed fetched the file in | curl, last done | origin sent, dfget | origin sent, curl | served daemon to daemon | daemons got from daemons / seed / origin | daemons that served nothing | daemons that went to the origin | CPU during dfget: cluster / machine / available |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|',
    ...rows.map(tableRow),
  ].join('\n')
}

/** Facts worth a reader's attention, derived from the rows rather than written by hand. */
function observations(rows: readonly Row[]): string[] {
  const notes: string[] = []
  for (const { sizeBytes, count, outcome } of rows) {
    const where = `${formatBytes(sizeBytes)}, ${count} daemons`
    if (outcome.kind !== 'measured') {
      notes.push(`${where}: ${outcome.kind} (${outcome.reason.split('\n')[0]?.slice(0, 200) ?? ''}).`)
      continue
    }
    const { p2p } = outcome
    const ratio = p2p.originBytes / sizeBytes
    if (ratio > ORIGIN_OVERSEND_RATIO) notes.push(`${where}: the origin sent ${ratio.toFixed(2)}x the file (more than ${ORIGIN_OVERSEND_RATIO}x).`)
    const idle = p2p.daemons.filter((traffic) => traffic.uploadedBytes === 0).length
    if (idle > 0) notes.push(`${where}: ${idle} of ${count} daemons served no byte to another daemon.`)
    const fromPeers = sum(p2p.daemons.map((traffic) => traffic.fromPeersBytes))
    const served = p2p.seed.uploadedBytes + sum(p2p.daemons.map((traffic) => traffic.uploadedBytes))
    if (p2p.clusterCpuMs !== undefined && p2p.machineCpuMs !== undefined) {
      const availableMs = p2p.lastDoneMs * availableParallelism()
      const otherMs = p2p.machineCpuMs - p2p.clusterCpuMs - p2p.benchCpuMs
      if (otherMs > OTHER_LOAD_SHARE * availableMs) {
        notes.push(`${where}: during the dfget phase, processes outside the cluster and the origin (the dfget clients, and whatever else ran on the machine) used ${seconds(otherMs)} of the ${seconds(availableMs)} of CPU available.`)
      }
    }
    if (Math.abs(fromPeers - served) > 0.01 * sizeBytes) {
      const more = served > fromPeers ? `${formatBytes(served - fromPeers)} more` : `${formatBytes(fromPeers - served)} less`
      notes.push(`${where}: the seed and daemons served ${more} than the daemons kept from peers (${formatBytes(served)} against ${formatBytes(fromPeers)}): bytes sent that no daemon kept.`)
    }
  }
  return notes
}

function method(options: BenchOptions): string {
  return [
    '- Origin: a node:http server on 127.0.0.1 with Range support (test/support/origin-server.ts), in the bench process, serving one random file from the page cache and counting the body bytes it sends.',
    '- For each count N, a fresh cluster in fresh data dirs, all with default config but for the seed\'s `seedPeer.sourcePolicy.allow: [127.0.0.1/32]` (the origin is on loopback): `damselfly scheduler`, one `dfdaemon --seed` and N `dfdaemon`, every one on 127.0.0.1. Timing starts once the scheduler has logged an announcement from each host.',
    '- dfget: N `dfget <url> -O <file> -e <socket> --no-progress` at once, one per daemon, for a URL none has seen. curl: N `curl -s -o <file> <url>` at once, for another path with the same bytes. Which goes first alternates from one N to the next; `sync` runs before each.',
    `- Memory: ${warmMemoryNote('of every copy the phase writes (N + 1 for dfget: the seed\'s and the daemons\'; N for curl) and 256 MiB, after the `sync`')}.`,
    '- "Last done" is from the first spawn until the last process exits. Every output is checked against the sha256, then deleted.',
    '- Shares are of the bytes the N daemons received (`download_traffic_bytes_total`): from each other is the sum of their `upload_traffic_bytes_total`, from the seed is the seed\'s, from the origin is their own `back_to_source`.',
    '- "Seed fetched the file in" is the `costMs` of the seed\'s `task done` log line. CPU during dfget: "cluster" is the user + system CPU time of the scheduler, seed and daemons (dfget processes excluded), "machine" what every core of the machine spent busy (/proc/stat), whoever used it, "available" the wall time times the number of cores.',
    `- Each download has a deadline of ${options.downloadTimeoutMs / 1000} s.`,
  ].join('\n')
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const command = `node --import tsx bench/p2p-loopback.ts --sizes ${options.sizes.map((size) => size.text).join(',')} --counts ${options.counts.join(',')}`
  const run = new P2pRun()
  run.releaseOnSignals()
  const startedMs = performance.now()
  try {
    run.work = await tempDir('bench-p2p-loopback')
    run.origin = run.hold(await OriginServer.start(), (server) => server.close())
    const rows: Row[] = []
    let turn = 0
    for (const size of options.sizes) {
      console.error(`writing ${formatBytes(size.bytes)} of random bytes in ${run.work.path}`)
      const content = await makeRandomFile(join(run.work.path, `origin-${size.bytes}.bin`), size.bytes)
      let skipReason: string | undefined
      for (const count of options.counts) {
        let outcome: Outcome
        if (skipReason !== undefined) {
          outcome = { kind: 'skipped', reason: skipReason }
        } else {
          console.error(`${formatBytes(size.bytes)}, ${count} daemons: starting the cluster`)
          outcome = await measureCount(run, content, count, turn++, options.downloadTimeoutMs).catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error)
            if (error instanceof DeadlineExceeded) skipReason = `${count} daemons ran past the deadline`
            return { kind: 'failed', reason }
          })
        }
        const row: Row = { sizeBytes: size.bytes, count, outcome }
        rows.push(row)
        console.error(tableRow(row))
      }
      await rm(content.file, { force: true })
    }
    const result = table(rows)
    const notes = observations(rows)
    console.log(result)
    if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join('\n')}`)
    console.error(`the bench took ${seconds(performance.now() - startedMs)}`)
    if (options.updateDocs) {
      const body = [
        ...sectionPreamble({ runLine: RUN_LINE, command }),
        result,
        '',
        ...(notes.length > 0 ? ['Worth noting in this run:', '', ...notes.map((note) => `- ${note}`), ''] : []),
        'What loopback shows and what it does not: no host here has a link of its own to fill, so the',
        'origin feeds N curls as fast as the CPU allows and P2P cannot win on time; its gain shows in',
        'the origin bytes (once the file instead of N times), which is what an origin or a WAN link pays',
        `for. Every process (origin, scheduler, seed, N daemons, N dfget or curl) shares the same ${availableParallelism()} cores,`,
        'so the times measure CPU cost per byte, of which P2P pays more than curl (a hash per piece, piece',
        'bookkeeping, one more hop per byte, TLS between daemons: section trust-cost has its share), and say',
        'little about real hosts on a real network.',
        '',
        'How:',
        '',
        method(options),
      ].join('\n')
      await publishSection(DEFAULT_DOC_PATH, SECTION, body)
    }
    return rows.every((row) => row.outcome.kind === 'measured') ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
