import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { readIdentity } from '../src/security/local-identity.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, cliPath, dfget, metricValue, run, startDaemon, startScheduler, type DaemonProcess, type RunResult, type SchedulerProcess,
} from './support/processes.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'

function damselfly(args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [cliPath('damselfly'), ...args], { timeoutMs: 60_000 })
}

describe('joining a cluster with the commands an operator types', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content
  let pkiDir = ''
  let scheduler!: SchedulerProcess
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('cluster-join')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 8 * MiB)
    pkiDir = join(dir.path, 'pki')
  })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('pki init creates the CA once, readable by its owner only', { timeout: 30_000 }, async () => {
    const first = await damselfly(['pki', 'init', '--dir', pkiDir])
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /^created the cluster CA in /)
    assert.equal((await stat(join(pkiDir, 'ca.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(pkiDir)).mode & 0o777, 0o700)
    const again = await damselfly(['pki', 'init', '--dir', pkiDir])
    assert.match(again.stdout, /^found the cluster CA in /)
  })

  it('a seed joins with a single-use token on its first start, and a host with damselfly join; P2P runs between them', { timeout: 120_000 }, async () => {
    scheduler = await startScheduler(join(dir.path, 'scheduler'), {}, { pkiDir })
    stops.push(() => scheduler.stop())
    const seedToken = await damselfly(['pki', 'token', 'create', '--dir', pkiDir, '--role', 'seed', '--uses', '1', '--ttl', '10m'])
    assert.equal(seedToken.code, 0, seedToken.stderr)
    assert.match(seedToken.stderr, /role seed, expires .*, 1 uses/)
    const token = seedToken.stdout.trim()
    const seed = await startDaemon(join(dir.path, 'seed'), { args: ['--seed', '--scheduler', scheduler.address, '--join-token', token], env: ALLOW_LOOPBACK_ORIGINS })
    stops.push(() => seed.stop())
    assert.equal((await readIdentity(join(seed.dataDir, 'identity')))?.identity.role, 'seed')
    assert.match(await readFile(seed.logPath, 'utf8'), /"msg":"joined the cluster"/)
    assert.equal((await readFile(seed.logPath, 'utf8')).includes(token.split('.')[2]!), false, 'the token\'s secret is never logged')
    assert.equal((await damselfly(['pki', 'token', 'list', '--dir', pkiDir])).stdout, '', 'the single-use token is used up')

    const hostToken = (await damselfly(['pki', 'token', 'create', '--dir', pkiDir])).stdout.trim()
    const identityDir = join(dir.path, 'host', 'data', 'identity')
    const joined = await damselfly(['join', '--scheduler', scheduler.address, '--token', hostToken, '--dir', identityDir, '--ip', '127.0.0.1'])
    assert.equal(joined.code, 0, joined.stderr)
    assert.match(joined.stdout, /^joined as host [0-9a-f]{32} \(normal, 127\.0\.0\.1\)/)
    const twice = await damselfly(['join', '--scheduler', scheduler.address, '--token', hostToken, '--dir', identityDir, '--ip', '127.0.0.1'])
    assert.equal(twice.code, 1)
    assert.match(twice.stderr, /already holds an identity; pass --force/)
    const host = await startDaemon(join(dir.path, 'host'), { args: ['--scheduler', scheduler.address] })
    stops.push(() => host.stop())

    const url = origin.serve('/joined', content)
    const output = join(dir.path, 'joined.bin')
    const result = await dfget([url, '-O', output, '-e', host.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
    assert.equal(await metricValue(host.metricsAddress(), REMOTE), content.length, 'every byte came from the seed that joined')
  })

  it('refuses to start a daemon whose identity does not fit, in one line', { timeout: 60_000 }, async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['no identity', ['--scheduler', scheduler.address], /^dfdaemon: no host identity in .*identity: join the cluster with --join-token/],
      ['a token for another cluster', ['--scheduler', scheduler.address, '--join-token', `dfj1.zzzzzz.${'A'.repeat(22)}.${'A'.repeat(43)}`], /^dfdaemon: the CA at .* is not the one the join token names/],
    ]
    for (const [name, args, message] of cases) {
      const home = join(dir.path, `refused-${name.replaceAll(' ', '-')}`)
      const result = await run(process.execPath, [cliPath('dfdaemon'), '--data-dir', join(home, 'data'), '--socket', join(home, 'd.sock'), '--upload-port', '0', '--proxy-port', '0', '--metrics-port', '0', ...args], { timeoutMs: 30_000 })
      assert.equal(result.code, 1, name)
      assert.match(result.stderr, message, name)
      assert.equal(result.stderr.trim().split('\n').length, 1, `${name}: one line`)
    }
    const issued = join(dir.path, 'issued')
    const issue = await damselfly(['pki', 'issue', '--dir', pkiDir, '--out', join(issued, 'data', 'identity'), '--ip', '127.0.0.1'])
    assert.equal(issue.code, 0, issue.stderr)
    const notSeed = await run(process.execPath, [cliPath('dfdaemon'), '--data-dir', join(issued, 'data'), '--socket', join(issued, 'd.sock'), '--upload-port', '0', '--proxy-port', '0', '--metrics-port', '0', '--seed', '--scheduler', scheduler.address], { timeoutMs: 30_000 })
    assert.equal(notSeed.code, 1)
    assert.match(notSeed.stderr, /seedPeer\.enable needs a seed certificate/)
  })

  it('--insecure is said out loud, and a secure daemon does not talk to an insecure scheduler', { timeout: 120_000 }, async () => {
    const insecure = await startSchedulerInsecure(join(dir.path, 'insecure-scheduler'))
    stops.push(() => insecure.stop())
    assert.match(await readFile(join(dir.path, 'insecure-scheduler', 'scheduler.log'), 'utf8'), /running WITHOUT identities \(--insecure\)/)
    const loose: DaemonProcess = await startDaemon(join(dir.path, 'loose'), { args: ['--scheduler', insecure.address, '--insecure'] })
    stops.push(() => loose.stop())
    assert.match(await readFile(loose.logPath, 'utf8'), /running WITHOUT an identity \(--insecure\)/)
    const url = origin.serve('/insecure', content)
    const result = await dfget([url, '-O', join(dir.path, 'insecure.bin'), '-e', loose.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    // A daemon with an identity refuses the plaintext scheduler and fetches from the source itself.
    const strict = await startDaemon(join(dir.path, 'strict'), { cluster: { pkiDir }, args: ['--scheduler', insecure.address] })
    stops.push(() => strict.stop())
    const strictResult = await dfget([origin.serve('/strict', content), '-O', join(dir.path, 'strict.bin'), '-e', strict.socketPath, '--no-progress'], { timeoutMs: 120_000 })
    assert.equal(strictResult.code, 0, strictResult.stderr)
    assert.equal(await metricValue(strict.metricsAddress(), REMOTE), 0)
  })
})

/** `damselfly scheduler --insecure` on 127.0.0.1 port 0. */
async function startSchedulerInsecure(dir: string): Promise<SchedulerProcess> {
  return startScheduler(dir, { SCHEDULER_SECURITY_INSECURE: 'true' })
}
