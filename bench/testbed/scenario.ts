/**
 * What every testbed scenario implements: prepare one round (files, torrent, identities; no
 * process), start its processes and wait until every one is up and announced, then have every
 * host fetch the payload at once. The proving ground times the last host from `start`
 * ("including start-up") and from `fetchAll` ("from running and announced").
 */
import type { ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { ChildProcesses, TimedExit } from '../support/child-processes.js'
import type { Node, Testbed } from './testbed.js'

export const SCENARIO_NAMES = ['curl', 'bittorrent', 'damselfly'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/** The file every host fetches, as the origin serves it. */
export interface Payload {
  /** File name in the origin's directory, also the last segment of `url`. */
  readonly name: string
  readonly path: string
  readonly sizeBytes: number
  readonly sha256: string
  readonly url: string
}

export interface ScenarioContext {
  readonly testbed: Testbed
  readonly children: ChildProcesses
  /** A fresh directory for this round's files and logs, removed after it. */
  readonly dir: string
  readonly payload: Payload
  /** Deadline of one host's whole fetch. */
  readonly downloadTimeoutMs: number
}

/** What the hosts got, and when. */
export interface Delivery {
  /** Each host's copy, in host order. */
  readonly files: readonly string[]
  /** When each host held the whole file, in ms after the fetches started, in host order. */
  readonly hostDoneMs: readonly number[]
}

/** Damselfly's own counters of a round, by its daemons' metrics. */
export interface SeedCounters {
  /** Bytes the seed daemon uploaded. */
  readonly seedUploadBytes: number
  /** Bytes the hosts' daemons fetched from the origin themselves. */
  readonly hostBackToSourceBytes: number
}

export interface PreparedRound {
  /** Starts the round's processes and resolves once every one is up and announced (or joined). */
  start(): Promise<void>
  /** Every host fetches the payload at once; resolves when the last holds it, rejects when any fails. */
  fetchAll(): Promise<Delivery>
  /** Damselfly only: its daemons' counters, read once the clocks have stopped. */
  seedCounters?(): SeedCounters
  /** Stops whatever `start` started, even after it failed half-way; safe to call more than once. */
  stop(): Promise<void>
}

export interface Scenario {
  readonly name: ScenarioName
  /** Makes what the round needs before any of its processes starts; starts nothing. */
  prepare(context: ScenarioContext): Promise<PreparedRound>
}

/** The long-lived processes of one round, stopped together, each by its own handle. */
export class RoundProcesses {
  private readonly started: ChildProcess[] = []

  constructor(private readonly components: { testbed: Testbed; children: ChildProcesses }) {}

  start(node: Node, command: string, args: readonly string[], init: { logPath: string }): ChildProcess {
    const child = this.components.testbed.start(node, command, args, { logPath: init.logPath, env: process.env })
    this.started.push(child)
    return child
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((child) => this.components.children.stop(child)))
  }
}

/** True while a child started by a round has neither exited nor been killed. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** Runs `fetch` for every host at once and waits for all; throws one error naming every host that failed. */
export async function onEveryHost<T>(hosts: readonly Node[], fetch: (host: Node, index: number) => Promise<T>): Promise<T[]> {
  const startedMs = performance.now()
  const outcomes = await Promise.allSettled(hosts.map((host, index) => fetch(host, index)))
  const failures = outcomes.flatMap((outcome, index) =>
    outcome.status === 'fulfilled' ? [] : [`host ${index + 1} (${hosts[index]?.namespace}): ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`],
  )
  if (failures.length > 0) throw new Error(`${failures.length} of ${hosts.length} hosts failed after ${Math.round(performance.now() - startedMs)} ms:\n${failures.join('\n')}`)
  return outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
}

/** Fails with the command's end and the tail of its stderr unless it exited with 0. */
export function succeeded(exit: TimedExit, what: string): TimedExit {
  if (exit.code !== 0) throw new Error(`${what} ended with ${exit.code ?? exit.signal}: ${exit.stderr.trim().slice(-500)}`)
  return exit
}

/** Starts one command per host at once; resolves with each one's time from spawn to exit, in host order. */
export function runOnEveryHost(hosts: readonly Node[], command: (host: Node, index: number) => Promise<TimedExit>): Promise<number[]> {
  return onEveryHost(hosts, async (host, index) => succeeded(await command(host, index), 'the command').elapsedMs)
}
