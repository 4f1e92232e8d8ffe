/** The testbed's HTTP origin: static-server.ts in the origin namespace, serving one directory. */
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { makeRandomFile } from '../../test/support/origin-server.js'
import { waitFor } from '../../test/support/processes.js'
import type { ChildProcesses } from '../support/child-processes.js'
import type { Payload } from './scenario.js'
import type { Testbed } from './testbed.js'

const STATIC_SERVER = resolve(import.meta.dirname, 'static-server.ts')
const ORIGIN_PORT = 8080
const STARTUP_TIMEOUT_MS = 60_000
const QUERY_TIMEOUT_MS = 10_000
const STATS = z.object({ bodyBytesSent: z.number(), gets: z.number() })

export class TestbedOrigin {
  private constructor(
    private readonly components: { testbed: Testbed; children: ChildProcesses },
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  /** Starts the origin on the testbed's origin node, serving `dir`, and waits until it listens. */
  static async start(components: { testbed: Testbed; children: ChildProcesses }, init: { dir: string }): Promise<TestbedOrigin> {
    const { testbed } = components
    await mkdir(init.dir, { recursive: true })
    const logPath = join(init.dir, '..', 'origin.log')
    const child = testbed.start(
      testbed.origin,
      process.execPath,
      ['--import', 'tsx', STATIC_SERVER, '--dir', init.dir, '--ip', testbed.origin.ip, '--port', String(ORIGIN_PORT)],
      { logPath, env: process.env },
    )
    await waitFor(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the origin exited: ${await readFile(logPath, 'utf8')}`)
      return (await readFile(logPath, 'utf8').catch(() => '')).includes('"msg":"origin listening"')
    }, 'the origin to listen', STARTUP_TIMEOUT_MS)
    return new TestbedOrigin(components, init.dir, child)
  }

  /** The server's process id (tsx may run an esbuild child under it). */
  get pid(): number | undefined {
    return this.child.pid
  }

  /** Writes a random file of `sizeBytes` into the served directory. */
  async addRandomFile(sizeBytes: number): Promise<Payload> {
    const name = `payload-${sizeBytes}.bin`
    const content = await makeRandomFile(join(this.dir, name), sizeBytes)
    return { name, path: content.file, sizeBytes, sha256: content.sha256, url: `http://${this.components.testbed.origin.ip}:${ORIGIN_PORT}/${name}` }
  }

  /** HTTP body bytes the origin has sent since it started, by its own count. */
  bodyBytesSent(): number {
    const { testbed } = this.components
    const text = testbed.output(testbed.origin, 'curl', ['-sS', '--fail', `http://${testbed.origin.ip}:${ORIGIN_PORT}/_stats`], { timeoutMs: QUERY_TIMEOUT_MS })
    return STATS.parse(JSON.parse(text)).bodyBytesSent
  }

  stop(): Promise<void> {
    return this.components.children.stop(this.child)
  }
}
