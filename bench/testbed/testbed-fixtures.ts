/** Made-up rounds and runs for the report's tests: every figure chosen by the test, nothing measured. */
import { lowerBound, rateBytesPerSecond } from './link-rate.js'
import type { RoundResult } from './proving-ground.js'
import type { RunOutcome, RunSpec } from './report.js'
import type { ScenarioName } from './scenario.js'

export const MIB = 1024 ** 2

export function fakeRound(scenario: ScenarioName, overrides: Partial<RoundResult> = {}): RoundResult {
  return {
    scenario,
    hostDoneMs: [9000, 10_000, 11_000, 12_000],
    lastDoneMs: 12_000,
    medianDoneMs: 10_500,
    startupMs: 2000,
    originBodyBytes: 64 * MIB,
    originLinkBytes: 67 * MIB,
    hostUploadBytes: [50 * MIB, 60 * MIB, 70 * MIB, 80 * MIB],
    digestsOk: 4,
    startupCpuMs: 3000,
    fetchCpuMs: 6000,
    machineBusyShare: 0.5,
    scenarioBusyShare: 0.4,
    startupMachineBusyShare: 0.6,
    ...overrides,
  }
}

export function fakeRun(rounds: readonly RoundResult[], spec: Partial<RunSpec> = {}): RunOutcome {
  const full: RunSpec = { hosts: 4, sizeBytes: 64 * MIB, hostRate: '100mbit', originRate: '100mbit', repeat: 1, ...spec }
  return {
    spec: full,
    bound: lowerBound({
      hosts: full.hosts,
      sizeBytes: full.sizeBytes,
      hostBytesPerSecond: rateBytesPerSecond(full.hostRate),
      originBytesPerSecond: rateBytesPerSecond(full.originRate),
    }),
    scenarios: rounds.map((round) => ({ name: round.scenario, rounds: [round] })),
  }
}
