import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { envName } from '../common/config-resolver.js'
import { assertDeepFrozen, durationText, envMap, flagTree, leafPaths, treeOf, unknownKeyTree, valueAt } from '../common/config-resolver-fixtures.js'
import { LOG_LEVELS } from '../common/logger.js'
import { outcomeOf } from '../protocol/damselfly-error-fixtures.js'
import { resolveSchedulerConfig, SCHEDULER_DEFAULTS, type SchedulerConfig } from './config.js'

const TEST = { timeout: 30_000 }

const MAX_TIMER_MS = 2 ** 31 - 1
const DURATIONS = [
  ['scheduler', 'retryInterval'], ['scheduler', 'hostWaitTimeout'], ['scheduler', 'seedWaitTimeout'],
  ['scheduler', 'gc', 'peerTTL'], ['scheduler', 'gc', 'taskTTL'], ['scheduler', 'gc', 'hostTTL'], ['scheduler', 'gc', 'interval'],
] as const
/** Durations that become a Node timer, which holds at most 2^31 - 1 ms. */
const TIMERS = new Set(['scheduler.retryInterval', 'scheduler.hostWaitTimeout', 'scheduler.gc.interval'])
const POSITIVE = new Set(['scheduler.retryInterval', 'scheduler.gc.interval'])

function safeCount(value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
}

function assertValid(config: SchedulerConfig): void {
  assertDeepFrozen(config)
  assert.deepEqual(leafPaths(config).map((path) => path.join('.')), leafPaths(SCHEDULER_DEFAULTS).map((path) => path.join('.')), 'the shape of the defaults')
  for (const path of DURATIONS) {
    const key = path.join('.')
    const ms = valueAt(config, path)
    assert.ok(safeCount(ms, POSITIVE.has(key) ? 1 : 0, TIMERS.has(key) ? MAX_TIMER_MS : Number.MAX_SAFE_INTEGER), `${key}: ${fc.stringify(ms)}`)
  }
  assert.ok(safeCount(config.server.port, 0, 65535) && safeCount(config.metrics.port, 0, 65535))
  assert.ok(config.server.listenIP !== '')
  const s = config.scheduler
  assert.ok(safeCount(s.candidateParentLimit, 1, 20) && safeCount(s.filterParentLimit, 1, 1000))
  assert.ok(safeCount(s.retryBackToSourceLimit, 0) && safeCount(s.retryLimit, 1) && safeCount(s.backToSourceCount, 0))
  assert.ok((LOG_LEVELS as readonly string[]).includes(config.log.level))
}

describe('resolveSchedulerConfig: properties', TEST, () => {
  it('returns a frozen, valid config or throws CONFIG_INVALID, whatever the flags and environment', TEST, () => {
    fc.assert(fc.property(flagTree(SCHEDULER_DEFAULTS), envMap(SCHEDULER_DEFAULTS, 'SCHEDULER'), (flags, env) => {
      const outcome = outcomeOf(() => resolveSchedulerConfig({ flags, env }), 'CONFIG_INVALID')
      if (outcome.accepted) assertValid(outcome.value)
      else assert.match(outcome.error.message, /^invalid configuration: /)
    }), { numRuns: 400 })
  })

  it('holds every duration key to the same invariants, from the flags or the environment', TEST, () => {
    fc.assert(fc.property(fc.constantFrom(...DURATIONS), fc.oneof(durationText, fc.maxSafeNat()), fc.boolean(), (key, value, asFlag) => {
      const sources = asFlag ? { flags: treeOf([[key, value]]) } : { env: { [envName('SCHEDULER', key)]: String(value) } }
      const outcome = outcomeOf(() => resolveSchedulerConfig(sources), 'CONFIG_INVALID')
      if (outcome.accepted) assertValid(outcome.value)
      else assert.ok(outcome.error.message.startsWith(`invalid configuration: ${key.join('.')}: `), outcome.error.message)
    }), { numRuns: 300 })
  })

  it('takes a value from the flags over the environment, and from the environment over the defaults', TEST, () => {
    const count = fc.constantFrom(['scheduler', 'candidateParentLimit'], ['scheduler', 'retryLimit'], ['metrics', 'port'], ['server', 'port'])
    fc.assert(fc.property(count, fc.integer({ min: 1, max: 20 }), fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }), (key, fromEnv, fromFlags) => {
      const config = resolveSchedulerConfig({
        env: { [envName('SCHEDULER', key)]: ` ${fromEnv} ` },
        ...(fromFlags === undefined ? {} : { flags: treeOf([[key, fromFlags]]) }),
      })
      assert.equal(valueAt(config, key), fromFlags ?? fromEnv)
    }), { numRuns: 200 })
  })

  it('names every unknown key at once, in whatever section it sits', TEST, () => {
    fc.assert(fc.property(unknownKeyTree(SCHEDULER_DEFAULTS), ({ paths, tree }) => {
      const outcome = outcomeOf(() => resolveSchedulerConfig({ flags: tree }), 'CONFIG_INVALID')
      assert.ok(!outcome.accepted, 'a config with unknown keys is refused')
      if (!outcome.accepted) for (const path of paths) assert.ok(outcome.error.message.includes(`${path.join('.')}: unknown key`), `${path.join('.')} in ${outcome.error.message}`)
    }), { numRuns: 200 })
  })

  it('names every refused key at once', TEST, () => {
    fc.assert(fc.property(fc.subarray(leafPaths(SCHEDULER_DEFAULTS), { minLength: 1, maxLength: 5 }), (paths) => {
      // No leaf of the scheduler's config takes an object; each of these is refused on its own.
      const outcome = outcomeOf(() => resolveSchedulerConfig({ flags: treeOf(paths.map((path) => [path, { wrong: true }])) }), 'CONFIG_INVALID')
      assert.ok(!outcome.accepted)
      if (!outcome.accepted) for (const path of paths) assert.ok(outcome.error.message.includes(`${path.join('.')}: `), `${path.join('.')} in ${outcome.error.message}`)
    }), { numRuns: 200 })
  })
})
