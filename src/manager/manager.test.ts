import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { createLogger, silentLogger } from '../common/logger.js'
import { resolveManagerConfig } from './config.js'
import { Manager } from './manager.js'

describe('Manager', { timeout: 30_000 }, () => {
  it('migrates SQLite in its data dir, makes the default cluster, answers /healthy and /metrics, and keeps both over a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'damselfly-manager-'))
    const config = resolveManagerConfig({ flags: { server: { dataDir, rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } } } })
    try {
      for (const round of [1, 2]) {
        const manager = new Manager(config, { logger: silentLogger(), printSecret: () => undefined })
        await manager.start()
        try {
          const healthy = await fetch(`http://${manager.address}/healthy`, { headers: { authorization: 'Bearer anything' } })
          assert.equal(healthy.status, 200)
          const metrics = await (await fetch(`http://${manager.address}/metrics`)).text()
          assert.match(metrics, /damselfly_manager_process_cpu_seconds_total/)
          const { clusters, total } = await manager.clusters.list()
          assert.equal(total, 1, `round ${round}: one default cluster, made once`)
          assert.equal(clusters[0]?.isDefault, true)
          assert.equal(clusters[0]?.config.scheduler_cluster_config.candidate_parent_limit, 4)
          const missing = await fetch(`http://${manager.address}/api/v1/nothing`)
          assert.equal(missing.status, 404)
          assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND')
          const counted = await (await fetch(`http://${manager.address}/metrics`)).text()
          assert.match(counted, /damselfly_manager_http_requests_total\{method="GET",route="\/healthy",status="200"\} 1/)
          assert.match(counted, /damselfly_manager_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/)
          assert.match(counted, /damselfly_manager_active_members\{kind="scheduler"\} 0/)
        } finally {
          await manager.stop()
        }
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('makes root with DAMSELFLY_ROOT_PASSWORD at first start, prints nothing and never logs the password', { timeout: 20_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'damselfly-manager-'))
    const config = resolveManagerConfig({ flags: { server: { dataDir, rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } } } })
    const password = 'env-root-password-93c1'
    const logs: string[] = []
    const printed: string[] = []
    const logger = createLogger({ level: 'trace', name: 'manager', destination: { write: (line: string) => { logs.push(line) } } })
    const manager = new Manager(config, { logger, env: { DAMSELFLY_ROOT_PASSWORD: password }, printSecret: (line) => { printed.push(line) } })
    try {
      await manager.start()
      const signin = await fetch(`http://${manager.address}/api/v1/users/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password }) })
      assert.equal(signin.status, 200)
      const { token } = (await signin.json()) as { token: string }
      const clusters = await fetch(`http://${manager.address}/api/v1/clusters`, { headers: { authorization: `Bearer ${token}` } })
      assert.equal(clusters.status, 200, 'a password from the operator need not be changed first')
      assert.deepEqual(printed, [])
      assert.ok(logs.some((line) => line.includes('root user created')))
      assert.ok(logs.every((line) => !line.includes(password) && !line.includes(token)))
    } finally {
      await manager.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('never reaches its own loopback to resolve an image for a job, unless preheat.sourcePolicy allows it', { timeout: 20_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'damselfly-manager-'))
    let hits = 0
    const registry = createServer((_request, response) => {
      hits++
      response.writeHead(200).end('{}')
    })
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve))
    const manager = new Manager(resolveManagerConfig({
      flags: { server: { dataDir, rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } }, security: { insecure: true }, auth: { rootPassword: 'loopback-root-1' } },
    }), { logger: silentLogger(), printSecret: () => undefined })
    try {
      await manager.start()
      const api = `http://${manager.address ?? ''}`
      const signin = await fetch(`${api}/api/v1/users/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: 'loopback-root-1' }) })
      const { token } = await signin.json() as { token: string }
      const manifest = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/v2/internal/app/manifests/latest`
      const created = await fetch(`${api}/api/v1/jobs`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ type: 'preheat', args: { type: 'image', url: manifest } }),
      })
      const { id } = await created.json() as { id: number }
      let job = await manager.services.jobs.getOrThrow(id)
      for (let i = 0; i < 100 && job.state === 'PENDING'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        job = await manager.services.jobs.getOrThrow(id)
      }
      assert.equal(job.state, 'FAILURE')
      assert.match(job.error ?? '', /source address policy refused .*127\.0\.0\.1 is a loopback address.*preheat\.sourcePolicy\.allow/)
      assert.equal(hits, 0, 'not one request reached the loopback server')
    } finally {
      await manager.stop()
      registry.close()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('refuses a database URL it cannot use, in one line', () => {
    assert.throws(() => new Manager(resolveManagerConfig({ flags: { database: { url: 'redis://x' } } }), { logger: silentLogger() }), /database\.url must start with/)
  })
})
