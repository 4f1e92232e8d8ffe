import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DEFAULT_FILTERED_QUERY_PARAMS } from '../protocol/task-id.js'
import { DEFAULT_SOURCE_DENY } from '../source/address-policy.js'
import { resolveDaemonConfig, type DaemonConfig } from './config.js'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'

const TEST = { timeout: 10_000 }
const MIB = 1024 * 1024
const HOUR_MS = 3_600_000

const dir = mkdtempSync(join(tmpdir(), 'damselfly-daemon-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let fileCount = 0

function yamlFile(text: string): string {
  const path = join(dir, `dfdaemon-${fileCount++}.yaml`)
  writeFileSync(path, text)
  return path
}

function assertConfigInvalid(run: () => unknown, ...messages: readonly RegExp[]): void {
  assertThrowsCode(run, 'CONFIG_INVALID', ...messages)
}

describe('resolveDaemonConfig: defaults', TEST, () => {
  it('are valid and carry their units', TEST, () => {
    const config = resolveDaemonConfig({})
    assert.equal(config.upload.server.port, 65002)
    assert.equal(config.proxy.server.port, 65001)
    assert.equal(config.proxy.maxConcurrency, 1000)
    assert.equal(config.storage.reservedSpace, 1024 * MIB)
    assert.equal(config.download.rateLimit, 0)
    assert.equal(config.download.pieceTimeout, 30_000)
    assert.equal(config.download.concurrentPieceCount, 8)
    assert.equal(config.source.connectTimeout, 10_000)
    assert.equal(config.source.retryCount, 3)
    assert.deepEqual(config.source.filteredQueryParams, [...DEFAULT_FILTERED_QUERY_PARAMS])
    assert.deepEqual(config.scheduler.addrs, [])
    assert.equal(config.gc.interval, 900_000)
    assert.equal(config.gc.policy.taskTTL, 6 * HOUR_MS)
    assert.equal(config.gc.policy.distHighThresholdPercent, 80)
    assert.equal(config.gc.policy.distLowThresholdPercent, 60)
    assert.equal(config.log.level, 'info')
    assert.deepEqual(config.seedPeer.sourcePolicy, { deny: [...DEFAULT_SOURCE_DENY], allow: [] })
    assert.ok(Object.isFrozen(config.gc.policy))
    assert.equal(config.distribution.outputDir, '', 'writing to paths is off by default')
  })
})

describe('resolveDaemonConfig: values', TEST, () => {
  const cases: ReadonlyArray<{ name: string; yaml?: string; env?: Record<string, string>; check: (config: DaemonConfig) => void }> = [
    { name: 'gc.policy.taskTTL: 1h', yaml: 'gc:\n  policy:\n    taskTTL: 1h\n', check: (c) => assert.equal(c.gc.policy.taskTTL, HOUR_MS) },
    { name: 'gc.policy.taskTTL as milliseconds', yaml: 'gc:\n  policy:\n    taskTTL: 60000\n', check: (c) => assert.equal(c.gc.policy.taskTTL, 60_000) },
    { name: 'download.rateLimit: 100MiB', yaml: 'download:\n  rateLimit: 100MiB\n', check: (c) => assert.equal(c.download.rateLimit, 100 * MIB) },
    { name: 'download.rateLimit: 100MB', yaml: 'download:\n  rateLimit: 100MB\n', check: (c) => assert.equal(c.download.rateLimit, 100_000_000) },
    { name: 'storage.reservedSpace: 512KiB', yaml: 'storage:\n  reservedSpace: 512KiB\n', check: (c) => assert.equal(c.storage.reservedSpace, 512 * 1024) },
    {
      name: 'DFDAEMON_GC_POLICY_TASK_TTL',
      env: { DFDAEMON_GC_POLICY_TASK_TTL: '2h' },
      check: (c) => assert.equal(c.gc.policy.taskTTL, 2 * HOUR_MS),
    },
    { name: 'the longest GC interval a timer holds', yaml: 'gc:\n  interval: 2147483647ms\n', check: (c) => assert.equal(c.gc.interval, 2 ** 31 - 1) },
    {
      name: 'DFDAEMON_UPLOAD_SERVER_PORT',
      env: { DFDAEMON_UPLOAD_SERVER_PORT: '4000' },
      check: (c) => assert.equal(c.upload.server.port, 4000),
    },
    {
      name: 'DFDAEMON_UPLOAD_CAPACITY, a 25 Gbit/s uplink',
      env: { DFDAEMON_UPLOAD_CAPACITY: '3125MB' },
      check: (c) => assert.equal(c.upload.capacity, 3_125_000_000),
    },
    {
      name: 'DFDAEMON_SCHEDULER_ADDRS',
      env: { DFDAEMON_SCHEDULER_ADDRS: 'sched-a:8002,10.0.0.2:8002' },
      check: (c) => assert.deepEqual(c.scheduler.addrs, ['sched-a:8002', '10.0.0.2:8002']),
    },
    {
      name: 'DFDAEMON_SEED_PEER_ENABLE',
      env: { DFDAEMON_SEED_PEER_ENABLE: 'true' },
      check: (c) => assert.equal(c.seedPeer.enable, true),
    },
    {
      name: 'DFDAEMON_SEED_PEER_SOURCE_POLICY_ALLOW, comma-separated',
      env: { DFDAEMON_SEED_PEER_SOURCE_POLICY_ALLOW: '127.0.0.1/32, ::1/128' },
      check: (c) => {
        assert.deepEqual(c.seedPeer.sourcePolicy.allow, ['127.0.0.1/32', '::1/128'])
        assert.deepEqual(c.seedPeer.sourcePolicy.deny, [...DEFAULT_SOURCE_DENY])
      },
    },
    {
      name: 'seedPeer.sourcePolicy.deny replaced in YAML',
      yaml: 'seedPeer:\n  sourcePolicy:\n    deny: [10.0.0.0/8]\n',
      check: (c) => assert.deepEqual(c.seedPeer.sourcePolicy.deny, ['10.0.0.0/8']),
    },
    {
      name: 'DFDAEMON_DISTRIBUTION_OUTPUT_DIR',
      env: { DFDAEMON_DISTRIBUTION_OUTPUT_DIR: '/srv/distribution' },
      check: (c) => assert.equal(c.distribution.outputDir, '/srv/distribution'),
    },
    {
      name: 'distribution.outputDir in YAML',
      yaml: 'distribution:\n  outputDir: /srv/models\n',
      check: (c) => assert.equal(c.distribution.outputDir, '/srv/models'),
    },
    {
      name: 'DFDAEMON_DOWNLOAD_RATE_LIMIT in bytes',
      env: { DFDAEMON_DOWNLOAD_RATE_LIMIT: '1048576' },
      check: (c) => assert.equal(c.download.rateLimit, MIB),
    },
    // Fails today: the default is the number 0, so the resolver turns the text into
    // Number('100MiB') = NaN before the schema's unit parsing sees it.
    {
      name: 'DFDAEMON_DOWNLOAD_RATE_LIMIT with a unit',
      env: { DFDAEMON_DOWNLOAD_RATE_LIMIT: '100MiB' },
      check: (c) => assert.equal(c.download.rateLimit, 100 * MIB),
    },
  ]
  for (const { name, yaml, env, check } of cases) {
    it(name, TEST, () => {
      check(resolveDaemonConfig({ ...(yaml === undefined ? {} : { file: yamlFile(yaml) }), ...(env === undefined ? {} : { env }) }))
    })
  }
})

describe('resolveDaemonConfig: refusals', TEST, () => {
  const cases: ReadonlyArray<{ name: string; yaml: string; message: RegExp }> = [
    {
      name: 'low threshold above the high one',
      yaml: 'gc:\n  policy:\n    distHighThresholdPercent: 50\n    distLowThresholdPercent: 70\n',
      message: /gc\.policy: distLowThresholdPercent must not exceed distHighThresholdPercent/,
    },
    { name: 'a percentage over 100', yaml: 'gc:\n  policy:\n    distHighThresholdPercent: 101\n', message: /gc\.policy\.distHighThresholdPercent/ },
    { name: 'a scheduler address without a port', yaml: 'scheduler:\n  addrs: [scheduler.local]\n', message: /scheduler\.addrs\.0: must be host:port/ },
    { name: 'a scheduler address with a scheme', yaml: 'scheduler:\n  addrs: ["ok:8002", "http://s:8002"]\n', message: /scheduler\.addrs\.1: must be host:port/ },
    { name: 'a port out of range', yaml: 'upload:\n  server:\n    port: 65536\n', message: /upload\.server\.port/ },
    { name: 'an unknown log level', yaml: 'log:\n  level: loud\n', message: /log\.level/ },
    { name: 'a bad size', yaml: 'download:\n  rateLimit: fast\n', message: /download\.rateLimit: byte size must look like/ },
    { name: 'a bad duration', yaml: 'gc:\n  interval: often\n', message: /gc\.interval: duration must look like/ },
    { name: 'a registry mirror that is not a URL', yaml: 'proxy:\n  registryMirror:\n    addr: not a url\n', message: /proxy\.registryMirror\.addr/ },
    { name: 'a proxy that may serve no request', yaml: 'proxy:\n  maxConcurrency: 0\n', message: /proxy\.maxConcurrency/ },
    { name: 'too many retries', yaml: 'source:\n  retryCount: 11\n', message: /source\.retryCount/ },
    {
      name: 'an allow entry that is not a CIDR',
      yaml: 'seedPeer:\n  sourcePolicy:\n    allow: [127.0.0.1/32, 127.0.0.1]\n',
      message: /seedPeer\.sourcePolicy\.allow\.1: "127\.0\.0\.1" is not a CIDR such as 10\.0\.0\.0\/8/,
    },
    {
      name: 'a deny entry with a prefix too long',
      yaml: 'seedPeer:\n  sourcePolicy:\n    deny: ["fe80::/129"]\n',
      message: /seedPeer\.sourcePolicy\.deny\.0: "fe80::\/129" is not a CIDR/,
    },
    // Node fires a timer longer than 2^31 - 1 ms after 1 ms: GC would run without pause.
    { name: 'a GC interval longer than a timer holds', yaml: 'gc:\n  interval: 25d\n', message: /gc\.interval: must be at most 2147483647ms/ },
    { name: 'a piece timeout longer than a timer holds', yaml: 'download:\n  pieceTimeout: 2147483648\n', message: /download\.pieceTimeout: must be at most 2147483647ms/ },
    { name: 'an announce interval of 0', yaml: 'scheduler:\n  announceInterval: 0s\n', message: /scheduler\.announceInterval: must be more than 0/ },
    { name: 'a scheduler register timeout of 0', yaml: 'scheduler:\n  registerTimeout: 0s\n', message: /scheduler\.registerTimeout: must be more than 0/ },
    { name: 'a task TTL of 0', yaml: 'gc:\n  policy:\n    taskTTL: 0\n', message: /gc\.policy\.taskTTL: must be more than 0/ },
    { name: 'a relative output directory', yaml: 'distribution:\n  outputDir: out\n', message: /distribution\.outputDir: must be an absolute path/ },
  ]
  for (const { name, yaml, message } of cases) {
    it(`refuses ${name}`, TEST, () => {
      assertConfigInvalid(() => resolveDaemonConfig({ file: yamlFile(yaml) }), message)
    })
  }

  it('refuses misspelt keys instead of starting with defaults, naming each path at once', TEST, () => {
    const yaml = 'storge:\n  dir: /data/damselfly\nuplod:\n  rateLimit: 100MiB\nproxy:\n  registryMirror:\n    allowedRegistry: [ghcr.io]\n  rules:\n    - regex: blobs/sha256.*\n      useTLS: true\n'
    assertConfigInvalid(
      () => resolveDaemonConfig({ file: yamlFile(yaml) }),
      /(^|; |: )storge: unknown key \(did you mean storage\?\)/,
      /(^|; )uplod: unknown key \(did you mean upload\?\)/,
      /proxy\.registryMirror\.allowedRegistry: unknown key \(did you mean allowedRegistries\?\)/,
      /proxy\.rules\.0\.useTLS: unknown key/,
    )
  })

  it('reports a bad scheduler address from the environment', TEST, () => {
    assertConfigInvalid(() => resolveDaemonConfig({ env: { DFDAEMON_SCHEDULER_ADDRS: 'a:8002,b' } }), /scheduler\.addrs\.1: must be host:port/)
  })

  it('reports a bad allow entry from the environment, naming it', TEST, () => {
    assertConfigInvalid(() => resolveDaemonConfig({ env: { DFDAEMON_SEED_PEER_SOURCE_POLICY_ALLOW: '127.0.0.1/32,localhost' } }), /seedPeer\.sourcePolicy\.allow\.1: "localhost" is not a CIDR/)
  })

  it('reports the threshold problem together with a field problem', TEST, () => {
    const yaml = 'upload:\n  server:\n    port: 70000\ngc:\n  policy:\n    distHighThresholdPercent: 50\n    distLowThresholdPercent: 70\n'
    assertConfigInvalid(() => resolveDaemonConfig({ file: yamlFile(yaml) }), /upload\.server\.port/, /distLowThresholdPercent must not exceed/)
  })
})
