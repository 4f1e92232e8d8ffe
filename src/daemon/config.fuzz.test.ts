import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { envName } from '../common/config-resolver.js'
import { assertDeepFrozen, durationText, envMap, flagTree, leafPaths, treeOf, unknownKeyTree, valueAt } from '../common/config-resolver-fixtures.js'
import { outcomeOf } from '../protocol/damselfly-error-fixtures.js'
import { DAEMON_DEFAULTS, resolveDaemonConfig, type DaemonConfig } from './config.js'

const TEST = { timeout: 30_000 }

const MAX_TIMER_MS = 2 ** 31 - 1
const DURATIONS = [
  ['download', 'pieceTimeout'], ['source', 'connectTimeout'], ['source', 'headerTimeout'],
  ['proxy', 'registryMirror', 'accessCacheTTL'], ['scheduler', 'announceInterval'], ['gc', 'interval'], ['gc', 'policy', 'taskTTL'],
  ['scheduler', 'registerTimeout'], ['scheduler', 'scheduleTimeout'],
] as const
/** Durations that become a Node timer, which holds at most 2^31 - 1 ms. */
const TIMERS = new Set([
  'download.pieceTimeout', 'source.connectTimeout', 'source.headerTimeout', 'scheduler.announceInterval', 'gc.interval',
  'scheduler.registerTimeout', 'scheduler.scheduleTimeout',
])
/** Intervals (0 would repeat without pause) and the TTL the garbage collector refuses to be 0. */
const POSITIVE = new Set(['scheduler.announceInterval', 'gc.interval', 'gc.policy.taskTTL', 'scheduler.registerTimeout', 'scheduler.scheduleTimeout'])
const SIZES = [['storage', 'reservedSpace'], ['download', 'rateLimit'], ['source', 'rateLimit'], ['upload', 'rateLimit'], ['gc', 'policy', 'quota']] as const

function safeCount(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
}

function assertValid(config: DaemonConfig): void {
  assertDeepFrozen(config)
  assert.deepEqual(leafPaths(config).map((path) => path.join('.')), leafPaths(DAEMON_DEFAULTS).map((path) => path.join('.')), 'the shape of the defaults')
  for (const path of DURATIONS) {
    const key = path.join('.')
    const ms = valueAt(config, path)
    assert.ok(safeCount(ms, POSITIVE.has(key) ? 1 : 0, TIMERS.has(key) ? MAX_TIMER_MS : Number.MAX_SAFE_INTEGER), `${key}: ${fc.stringify(ms)}`)
  }
  for (const path of SIZES) assert.ok(safeCount(valueAt(config, path), 0, Number.MAX_SAFE_INTEGER), path.join('.'))
  assert.ok(safeCount(config.upload.server.port, 0, 65535) && safeCount(config.proxy.server.port, 0, 65535))
  assert.ok(safeCount(config.download.concurrentPieceCount, 1, 64))
  assert.ok(safeCount(config.download.server.socketMode, 0, 0o777))
  assert.ok(safeCount(config.source.retryCount, 0, 10))
  assert.ok(safeCount(config.upload.concurrentLimit, 1, 10_000) && safeCount(config.seedPeer.taskUploadLimit, 1, 1000))
  const { distLowThresholdPercent: low, distHighThresholdPercent: high } = config.gc.policy
  assert.ok(low >= 0 && low <= high && high <= 100, `${low} <= ${high}`)
  assert.ok(config.host.hostname !== '' && config.storage.dir !== '' && config.download.server.socketPath !== '')
  for (const addr of config.scheduler.addrs) assert.match(addr, /^[^\s:]+:\d{1,5}$/)
  for (const rule of config.proxy.rules) assert.doesNotThrow(() => new RegExp(rule.regex))
  assert.ok(URL.canParse(config.proxy.registryMirror.addr), config.proxy.registryMirror.addr)
  if (config.proxy.hijackHTTPS.hosts.length > 0) assert.ok(config.proxy.hijackHTTPS.cert !== '' && config.proxy.hijackHTTPS.key !== '')
}

describe('resolveDaemonConfig: properties', TEST, () => {
  it('returns a frozen, valid config or throws CONFIG_INVALID, whatever the flags and environment', TEST, () => {
    fc.assert(fc.property(flagTree(DAEMON_DEFAULTS), envMap(DAEMON_DEFAULTS, 'DFDAEMON'), (flags, env) => {
      const outcome = outcomeOf(() => resolveDaemonConfig({ flags, env }), 'CONFIG_INVALID')
      if (outcome.accepted) assertValid(outcome.value)
      else assert.match(outcome.error.message, /^invalid configuration: /)
    }), { numRuns: 400 })
  })

  it('holds every duration key to the same invariants, from the flags or the environment', TEST, () => {
    fc.assert(fc.property(fc.constantFrom(...DURATIONS), fc.oneof(durationText, fc.maxSafeNat()), fc.boolean(), (key, value, asFlag) => {
      const sources = asFlag ? { flags: treeOf([[key, value]]) } : { env: { [envName('DFDAEMON', key)]: String(value) } }
      const outcome = outcomeOf(() => resolveDaemonConfig(sources), 'CONFIG_INVALID')
      if (outcome.accepted) assertValid(outcome.value)
      else assert.ok(outcome.error.message.startsWith(`invalid configuration: ${key.join('.')}: `), outcome.error.message)
    }), { numRuns: 300 })
  })

  it('takes a duration from the flags over the environment, and from the environment over the defaults', TEST, () => {
    const path = fc.constantFrom(...DURATIONS)
    const duration = fc.tuple(fc.integer({ min: 1, max: 24 * 60 }), fc.constantFrom(['s', 1000], ['m', 60_000])).map(([n, [unit, ms]]) => ({ text: `${n}${unit}`, ms: n * ms }))
    fc.assert(fc.property(path, duration, fc.option(duration, { nil: undefined }), (key, fromEnv, fromFlags) => {
      const config = resolveDaemonConfig({
        env: { [envName('DFDAEMON', key)]: fromEnv.text },
        ...(fromFlags === undefined ? {} : { flags: treeOf([[key, fromFlags.text]]) }),
      })
      assert.equal(valueAt(config, key), (fromFlags ?? fromEnv).ms)
    }), { numRuns: 200 })
  })

  it('names every unknown key at once, in whatever section it sits', TEST, () => {
    fc.assert(fc.property(unknownKeyTree(DAEMON_DEFAULTS), ({ paths, tree }) => {
      const outcome = outcomeOf(() => resolveDaemonConfig({ flags: tree }), 'CONFIG_INVALID')
      assert.ok(!outcome.accepted, 'a config with unknown keys is refused')
      if (!outcome.accepted) for (const path of paths) assert.ok(outcome.error.message.includes(`${path.join('.')}: unknown key`), `${path.join('.')} in ${outcome.error.message}`)
    }), { numRuns: 200 })
  })

  it('names every refused key at once', TEST, () => {
    fc.assert(fc.property(fc.subarray(leafPaths(DAEMON_DEFAULTS), { minLength: 1, maxLength: 5 }), (paths) => {
      // No leaf of the daemon's config takes an object; each of these is refused on its own.
      const outcome = outcomeOf(() => resolveDaemonConfig({ flags: treeOf(paths.map((path) => [path, { wrong: true }])) }), 'CONFIG_INVALID')
      assert.ok(!outcome.accepted)
      if (!outcome.accepted) for (const path of paths) assert.ok(outcome.error.message.includes(`${path.join('.')}: `), `${path.join('.')} in ${outcome.error.message}`)
    }), { numRuns: 200 })
  })

  it('refuses a duration past the safe integers from the environment, rather than waiting forever or not at all', TEST, () => {
    fc.assert(fc.property(fc.constantFrom(...DURATIONS), fc.integer({ min: 17, max: 400 }), (key, digits) => {
      const outcome = outcomeOf(() => resolveDaemonConfig({ env: { [envName('DFDAEMON', key)]: `${'9'.repeat(digits)}d` } }), 'CONFIG_INVALID')
      assert.ok(!outcome.accepted, key.join('.'))
      if (!outcome.accepted) assert.ok(outcome.error.message.includes(`${key.join('.')}: duration must be at most`), outcome.error.message)
    }), { numRuns: 100 })
  })
})
