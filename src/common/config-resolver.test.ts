import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { z } from 'zod'
import { envName, resolveConfig, unknownEnvNames, type ConfigSources } from './config-resolver.js'
import { bytes, durationMs, port } from './config-schema.js'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'

const TEST = { timeout: 10_000 }
const PREFIX = 'TESTD'

const schema = z.object({
  name: z.string().min(1),
  upload: z.object({ server: z.object({ ip: z.string(), port: port() }), rateLimit: bytes() }),
  gc: z.object({ policy: z.object({ taskTTL: durationMs() }) }),
  scheduler: z.object({ addrs: z.array(z.string()) }),
  seedPeer: z.object({ enable: z.boolean() }),
  rules: z.array(z.object({ regex: z.string() })),
  /** A free map: any key is a label name. */
  labels: z.record(z.string(), z.string()),
})

function defaults() {
  return {
    name: 'default',
    upload: { server: { ip: '0.0.0.0', port: 65002 }, rateLimit: '0' },
    gc: { policy: { taskTTL: '6h' } },
    scheduler: { addrs: ['default:8002'] },
    seedPeer: { enable: false },
    rules: [{ regex: 'blobs/sha256.*' }],
    labels: {} as Record<string, string>,
  }
}

const dir = mkdtempSync(join(tmpdir(), 'damselfly-config-resolver-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let fileCount = 0

function yamlFile(text: string): string {
  const path = join(dir, `config-${fileCount++}.yaml`)
  writeFileSync(path, text)
  return path
}

function resolve(sources: ConfigSources): z.output<typeof schema> {
  return resolveConfig(schema, defaults(), PREFIX, sources)
}

function assertConfigInvalid(run: () => unknown, ...messages: readonly RegExp[]): void {
  assertThrowsCode(run, 'CONFIG_INVALID', ...messages)
}

describe('envName', TEST, () => {
  const cases: ReadonlyArray<readonly [readonly string[], string]> = [
    [['upload', 'server', 'port'], 'TESTD_UPLOAD_SERVER_PORT'],
    [['gc', 'policy', 'taskTTL'], 'TESTD_GC_POLICY_TASK_TTL'],
    [['seedPeer', 'enable'], 'TESTD_SEED_PEER_ENABLE'],
    [['gc', 'policy', 'distHighThresholdPercent'], 'TESTD_GC_POLICY_DIST_HIGH_THRESHOLD_PERCENT'],
    [['source', 'caCert'], 'TESTD_SOURCE_CA_CERT'],
    [['name'], 'TESTD_NAME'],
  ]
  for (const [path, expected] of cases) {
    it(`${path.join('.')} is ${expected}`, TEST, () => {
      assert.equal(envName(PREFIX, path), expected)
    })
  }
})

describe('resolveConfig: precedence defaults < file < env < flags', TEST, () => {
  const file = yamlFile('name: from-file\nupload:\n  server:\n    port: 1001\n')
  const env = { TESTD_NAME: 'from-env', TESTD_UPLOAD_SERVER_PORT: '1002' }
  const flags = { name: 'from-flags', upload: { server: { port: 1003 } } }
  const cases: ReadonlyArray<{ layers: string; sources: ConfigSources; name: string; port: number }> = [
    { layers: 'defaults only', sources: {}, name: 'default', port: 65002 },
    { layers: 'file', sources: { file }, name: 'from-file', port: 1001 },
    { layers: 'file and env', sources: { file, env }, name: 'from-env', port: 1002 },
    { layers: 'env alone', sources: { env }, name: 'from-env', port: 1002 },
    { layers: 'file, env and flags', sources: { file, env, flags }, name: 'from-flags', port: 1003 },
    { layers: 'file and flags', sources: { file, flags }, name: 'from-flags', port: 1003 },
  ]
  for (const { layers, sources, name, port: expectedPort } of cases) {
    it(`${layers}: name ${name}, port ${expectedPort}`, TEST, () => {
      const config = resolve(sources)
      assert.equal(config.name, name)
      assert.equal(config.upload.server.port, expectedPort)
      // Keys no layer sets keep their defaults, however deep.
      assert.equal(config.upload.server.ip, '0.0.0.0')
      assert.equal(config.gc.policy.taskTTL, 6 * 3_600_000)
    })
  }

  it('merges nested keys instead of replacing whole sections', TEST, () => {
    const config = resolve({
      file: yamlFile('upload:\n  server:\n    ip: 10.0.0.1\n'),
      flags: { upload: { server: { port: 9000 } } },
    })
    assert.deepEqual(config.upload.server, { ip: '10.0.0.1', port: 9000 })
  })

  it('a flag left undefined does not hide a lower layer', TEST, () => {
    const config = resolve({ env: { TESTD_NAME: 'from-env' }, flags: { name: undefined, upload: { server: { port: undefined } } } })
    assert.equal(config.name, 'from-env')
    assert.equal(config.upload.server.port, 65002)
  })

  it('an array from a layer replaces the default array', TEST, () => {
    assert.deepEqual(resolve({ file: yamlFile('scheduler:\n  addrs: [a:1, b:2]\n') }).scheduler.addrs, ['a:1', 'b:2'])
    assert.deepEqual(resolve({ flags: { scheduler: { addrs: [] } } }).scheduler.addrs, [])
  })

  it('an empty file means defaults', TEST, () => {
    assert.equal(resolve({ file: yamlFile('') }).name, 'default')
    assert.equal(resolve({ file: yamlFile('# only a comment\n') }).name, 'default')
  })
})

describe('resolveConfig: environment', TEST, () => {
  const cases: ReadonlyArray<{ name: string; env: Record<string, string>; check: (config: z.output<typeof schema>) => void }> = [
    { name: 'a number', env: { TESTD_UPLOAD_SERVER_PORT: '8080' }, check: (c) => assert.equal(c.upload.server.port, 8080) },
    { name: 'a camelCase key', env: { TESTD_GC_POLICY_TASK_TTL: '1h30m' }, check: (c) => assert.equal(c.gc.policy.taskTTL, 5_400_000) },
    { name: 'a size with a unit', env: { TESTD_UPLOAD_RATE_LIMIT: '100MiB' }, check: (c) => assert.equal(c.upload.rateLimit, 100 * 1024 * 1024) },
    { name: 'true', env: { TESTD_SEED_PEER_ENABLE: 'true' }, check: (c) => assert.equal(c.seedPeer.enable, true) },
    { name: 'false', env: { TESTD_SEED_PEER_ENABLE: 'false' }, check: (c) => assert.equal(c.seedPeer.enable, false) },
    {
      name: 'a comma-separated array, blanks dropped',
      env: { TESTD_SCHEDULER_ADDRS: 'a:8002, b:8002,,' },
      check: (c) => assert.deepEqual(c.scheduler.addrs, ['a:8002', 'b:8002']),
    },
    { name: 'an empty array', env: { TESTD_SCHEDULER_ADDRS: '' }, check: (c) => assert.deepEqual(c.scheduler.addrs, []) },
    {
      name: 'variables of another prefix or an unknown key are ignored',
      env: { DFDAEMON_NAME: 'other', TESTD_NOPE: 'x', TESTD_UPLOAD: 'x', testd_name: 'lower' },
      check: (c) => assert.equal(c.name, 'default'),
    },
  ]
  for (const { name, env, check } of cases) {
    it(name, TEST, () => check(resolve({ env })))
  }

  const refused: ReadonlyArray<{ name: string; env: Record<string, string>; message: RegExp }> = [
    { name: 'a number that is not', env: { TESTD_UPLOAD_SERVER_PORT: 'http' }, message: /upload\.server\.port/ },
    { name: 'an empty number', env: { TESTD_UPLOAD_SERVER_PORT: '' }, message: /upload\.server\.port/ },
    { name: 'a boolean that is not', env: { TESTD_SEED_PEER_ENABLE: 'yes' }, message: /seedPeer\.enable/ },
    { name: 'a bad duration', env: { TESTD_GC_POLICY_TASK_TTL: 'soon' }, message: /gc\.policy\.taskTTL: duration must look like/ },
  ]
  for (const { name, env, message } of refused) {
    it(`refuses ${name}`, TEST, () => assertConfigInvalid(() => resolve({ env }), message))
  }
})

describe('resolveConfig: errors', TEST, () => {
  it('reports every problem at once, each with its key path', TEST, () => {
    const file = yamlFile('name: ""\nupload:\n  server:\n    port: 70000\n')
    assertConfigInvalid(
      () => resolve({ file, env: { TESTD_SEED_PEER_ENABLE: 'maybe', TESTD_GC_POLICY_TASK_TTL: '5 minutes' }, flags: { scheduler: { addrs: [1] } } }),
      /^invalid configuration: /,
      /(^|; |: )name: /,
      /upload\.server\.port: /,
      /seedPeer\.enable: /,
      /gc\.policy\.taskTTL: /,
      /scheduler\.addrs\.0: /,
    )
  })

  it('a missing file is CONFIG_INVALID naming it', TEST, () => {
    const path = join(dir, 'does-not-exist.yaml')
    assertConfigInvalid(() => resolve({ file: path }), new RegExp(`cannot read config file ${path}`))
  })

  it('invalid YAML is CONFIG_INVALID naming the file', TEST, () => {
    const path = yamlFile('upload:\n  server: [1, 2\n  port: :\n')
    assertConfigInvalid(() => resolve({ file: path }), new RegExp(`config file ${path} is not valid YAML`))
  })

  for (const [name, text] of [['a list', '- a\n- b\n'], ['a scalar', 'just text\n']] as const) {
    it(`a file holding ${name} at the top level is CONFIG_INVALID naming the file`, TEST, () => {
      const path = yamlFile(text)
      assertConfigInvalid(() => resolve({ file: path }), new RegExp(`config file ${path} must hold a mapping`))
    })
  }

  it('a wrong type from the file names its path', TEST, () => {
    assertConfigInvalid(() => resolve({ file: yamlFile('upload:\n  server: 5\n') }), /upload\.server: /)
  })
})

describe('resolveConfig: unknown keys', TEST, () => {
  it('refuses a misspelt key from the file rather than keeping its default, naming its path and the key meant', TEST, () => {
    assertConfigInvalid(
      () => resolve({ file: yamlFile('storge:\n  dir: /data\nuplod:\n  rateLimit: 1MiB\nupload:\n  server:\n    prot: 1\n') }),
      /^invalid configuration: /,
      /(^|; |: )storge: unknown key($|;)/,
      /(^|; |: )uplod: unknown key \(did you mean upload\?\)/,
      /upload\.server\.prot: unknown key \(did you mean port\?\)/,
    )
  })

  it('reports unknown keys together with every other problem', TEST, () => {
    assertConfigInvalid(
      () => resolve({ file: yamlFile('nmae: x\nupload:\n  server:\n    port: 70000\n'), env: { TESTD_SEED_PEER_ENABLE: 'maybe' } }),
      /nmae: unknown key \(did you mean name\?\)/,
      /upload\.server\.port: /,
      /seedPeer\.enable: /,
    )
  })

  const cases: ReadonlyArray<{ name: string; sources: () => ConfigSources; message: RegExp }> = [
    { name: 'inside an element of a list of objects', sources: () => ({ file: yamlFile('rules:\n  - regex: a\n  - regex: b\n    useTLS: true\n') }), message: /rules\.1\.useTLS: unknown key/ },
    { name: 'under a key that holds a value, not a section', sources: () => ({ file: yamlFile('gc:\n  policy:\n    taskTTL: 1h\n    ttl: 2h\n') }), message: /gc\.policy\.ttl: unknown key/ },
    { name: 'from the flags', sources: () => ({ flags: { upload: { sever: { port: 1 } } } }), message: /upload\.sever: unknown key \(did you mean server\?\)/ },
    { name: 'whatever its case', sources: () => ({ file: yamlFile('Name: x\n') }), message: /Name: unknown key \(did you mean name\?\)/ },
    { name: 'with a name that is no identifier, quoted', sources: () => ({ file: yamlFile('"a b\\nc": 1\n') }), message: /"a b\\nc": unknown key/ },
  ]
  for (const { name, sources, message } of cases) {
    it(`names an unknown key ${name}`, TEST, () => assertConfigInvalid(() => resolve(sources()), message))
  }

  it('offers no hint for a key like none it knows', TEST, () => {
    assertConfigInvalid(() => resolve({ file: yamlFile('completelyDifferent: 1\n') }), /completelyDifferent: unknown key($|;)/)
  })

  it('takes any key in a free map', TEST, () => {
    const config = resolve({ file: yamlFile('labels:\n  team: storage\n  storge: typo-is-fine-here\n') })
    assert.deepEqual(config.labels, { team: 'storage', storge: 'typo-is-fine-here' })
  })
})

describe('unknownEnvNames', TEST, () => {
  const cases: ReadonlyArray<{ name: string; env: Record<string, string>; unknown: readonly string[] }> = [
    { name: 'known names', env: { TESTD_NAME: 'x', TESTD_UPLOAD_SERVER_PORT: '1' }, unknown: [] },
    { name: 'other prefixes', env: { DFDAEMON_NAME: 'x', TESTDX_NAME: 'x', testd_name: 'x', PATH: '/bin' }, unknown: [] },
    { name: 'a misspelt name', env: { TESTD_UPLOAD_RATELIMIT: '1MiB', TESTD_NAME: 'x' }, unknown: ['TESTD_UPLOAD_RATELIMIT'] },
    { name: 'a section, not a key', env: { TESTD_UPLOAD: 'x' }, unknown: ['TESTD_UPLOAD'] },
    { name: 'a port key that is no service link', env: { TESTD_UPLOAD_PORT: '65002' }, unknown: ['TESTD_UPLOAD_PORT'] },
    {
      name: 'Kubernetes service links of services named testd and testd-metrics',
      env: {
        TESTD_SERVICE_HOST: '10.0.0.1', TESTD_SERVICE_PORT: '8002', TESTD_SERVICE_PORT_GRPC: '8002', TESTD_PORT: 'tcp://10.0.0.1:8002',
        TESTD_PORT_8002_TCP: 'tcp://10.0.0.1:8002', TESTD_PORT_8002_TCP_PROTO: 'tcp', TESTD_PORT_8002_TCP_PORT: '8002', TESTD_PORT_8002_TCP_ADDR: '10.0.0.1',
        TESTD_METRICS_SERVICE_HOST: '10.0.0.2', TESTD_METRICS_PORT: 'tcp://10.0.0.2:8000', TESTD_METRICS_PORT_8000_UDP: 'udp://10.0.0.2:8000',
      },
      unknown: [],
    },
  ]
  for (const { name, env, unknown } of cases) {
    it(name, TEST, () => assert.deepEqual(unknownEnvNames(defaults(), PREFIX, env), unknown))
  }
})

describe('resolveConfig: result', TEST, () => {
  it('is deeply frozen', TEST, () => {
    const config = resolve({ flags: { scheduler: { addrs: ['a:1'] } } })
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.upload))
    assert.ok(Object.isFrozen(config.upload.server))
    assert.ok(Object.isFrozen(config.gc.policy))
    assert.ok(Object.isFrozen(config.scheduler.addrs))
    assert.throws(() => {
      (config.upload.server as { port: number }).port = 1
    }, TypeError)
    assert.throws(() => {
      config.scheduler.addrs.push('b:2')
    }, TypeError)
  })

  it('leaves the defaults and the flags it was given unfrozen and unchanged', TEST, () => {
    const given = defaults()
    const flags = { scheduler: { addrs: ['a:1'] } }
    resolveConfig(schema, given, PREFIX, { flags, env: { TESTD_NAME: 'x' } })
    assert.deepEqual(given, defaults())
    assert.equal(Object.isFrozen(given.scheduler.addrs), false)
    assert.equal(Object.isFrozen(flags.scheduler.addrs), false)
  })
})
