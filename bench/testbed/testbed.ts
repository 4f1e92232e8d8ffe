/**
 * A shaped LAN made of network namespaces: a hub namespace holds bridge br0 (10.77.0.1/24); an
 * origin namespace (10.77.0.2) and N host namespaces (10.77.0.11..) hang off it by veth pairs.
 * Every link is shaped with tc tbf in both directions: the namespace side's egress is its upload
 * limit, the hub side's egress its download limit. Every process a scenario starts on it also joins
 * one cgroup, so the CPU time they use is counted whoever forked what. Needs root and iproute2;
 * netem is not needed.
 */
import { execFileSync, type ChildProcess } from 'node:child_process'
import { z } from 'zod'
import type { ChildProcesses, TimedExit } from '../support/child-processes.js'
import { CpuAccount } from './cpu-account.js'

const SUBNET_PREFIX = '10.77.0.'
const HUB_IP = `${SUBNET_PREFIX}1`
const ORIGIN_IP = `${SUBNET_PREFIX}2`
const FIRST_HOST_OCTET = 11
/** Hosts 10.77.0.11 .. 10.77.0.250 fit in the /24. */
export const MAX_HOSTS = 240
export const TBF_BURST = '256kb'
export const TBF_LATENCY = '100ms'
const TC_QUERY_TIMEOUT_MS = 10_000

/** `tc -s -j qdisc show dev eth0`: the root qdisc's counters among others. */
const QDISC_STATS = z.array(z.object({ root: z.boolean().optional(), bytes: z.number() }))

/** One namespace on the bridge. */
export interface Node {
  readonly namespace: string
  readonly ip: string
}

export interface TestbedInit {
  /** tc rate of every host link, each direction, e.g. `100mbit`. */
  readonly hostRate: string
  /** tc rate of the origin link, each direction. */
  readonly originRate: string
}

function ip(args: readonly string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

function shape(namespace: string, device: string, rate: string): void {
  ip(['netns', 'exec', namespace, 'tc', 'qdisc', 'add', 'dev', device, 'root', 'tbf', 'rate', rate, 'burst', TBF_BURST, 'latency', TBF_LATENCY])
}

/**
 * Creates and deletes the namespaces of one testbed. Every name starts with `prefix`
 * (default `dfly-<pid>-`), so two runs never collide and nothing else is ever deleted.
 */
export class Testbed {
  private readonly created: string[] = []
  private nodes: { origin: Node; hosts: Node[] } | undefined
  private cpuAccount: CpuAccount | undefined

  constructor(
    private readonly components: { children: ChildProcesses },
    readonly prefix = `dfly-${process.pid}-`,
  ) {}

  get hub(): Node {
    return { namespace: `${this.prefix}hub`, ip: HUB_IP }
  }

  get origin(): Node {
    return this.require().origin
  }

  get hosts(): readonly Node[] {
    return this.require().hosts
  }

  /** Builds the hub, the origin, `count` hosts and the cgroup. On failure, removes whatever it created. */
  up(count: number, init: TestbedInit): void {
    if (this.nodes !== undefined) throw new Error('testbed is already up')
    if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) throw new Error(`host count must be 1..${MAX_HOSTS}, got ${count}`)
    try {
      const hub = this.hub.namespace
      this.addNamespace(hub)
      ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge'])
      ip(['-n', hub, 'addr', 'add', `${HUB_IP}/24`, 'dev', 'br0'])
      ip(['-n', hub, 'link', 'set', 'br0', 'up'])
      ip(['-n', hub, 'link', 'set', 'lo', 'up'])
      const origin = this.attach(`${this.prefix}origin`, 'origin', ORIGIN_IP, init.originRate)
      const hosts = Array.from({ length: count }, (_, i) =>
        this.attach(`${this.prefix}h${i + 1}`, `h${i + 1}`, `${SUBNET_PREFIX}${FIRST_HOST_OCTET + i}`, init.hostRate),
      )
      this.nodes = { origin, hosts }
      this.cpuAccount = CpuAccount.create(`${this.prefix}testbed`)
    } catch (error) {
      this.down()
      throw error
    }
  }

  /** Deletes every namespace and the cgroup this testbed created; safe to call more than once. Stop its processes first. */
  down(): void {
    this.cpuAccount?.remove()
    this.cpuAccount = undefined
    for (const namespace of this.created.splice(0).reverse()) {
      try {
        ip(['netns', 'del', namespace])
      } catch (error) {
        console.error(`could not delete netns ${namespace}:`, error)
      }
    }
    this.nodes = undefined
  }

  /** Runs a scenario's command inside the node's namespace and the cgroup, to completion (stdout discarded). */
  exec(node: Node, command: string, args: readonly string[], init: { timeoutMs: number }): Promise<TimedExit> {
    const line = this.accounted(['ip', 'netns', 'exec', node.namespace, command, ...args])
    return this.components.children.run(line.command, line.args, init)
  }

  /**
   * Starts a long-lived command inside the node's namespace and the cgroup; the cgroup's shell and
   * `ip netns exec` each exec the next, so the pid is the command's.
   */
  start(node: Node, command: string, args: readonly string[], init: { logPath: string; env: NodeJS.ProcessEnv }): ChildProcess {
    const line = this.accounted(['ip', 'netns', 'exec', node.namespace, command, ...args])
    return this.components.children.start(line.command, line.args, init)
  }

  /** Runs the bench's own check inside the node's namespace, outside the cgroup, to completion (stdout discarded). */
  probe(node: Node, command: string, args: readonly string[], init: { timeoutMs: number }): Promise<TimedExit> {
    return this.components.children.run('ip', ['netns', 'exec', node.namespace, command, ...args], init)
  }

  /**
   * User plus system CPU ms that every process started by `start` or `exec` has used since the
   * testbed came up, exited ones included; undefined when the machine gave no cgroup to count in.
   */
  cpuUsedMs(): number | undefined {
    const usage = this.cpuAccount?.usage()
    return usage === undefined ? undefined : usage.userMs + usage.systemMs
  }

  /**
   * Runs a short command of the bench's inside the node's namespace (outside the cgroup) and returns
   * its stdout; throws when it fails, its stderr in the error rather than on the bench's terminal.
   */
  output(node: Node, command: string, args: readonly string[], init: { timeoutMs: number }): string {
    return execFileSync('ip', ['netns', 'exec', node.namespace, command, ...args], { encoding: 'utf8', timeout: init.timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
  }

  /**
   * Bytes the node has sent on its link so far: the counter of the tbf on its eth0, so Ethernet,
   * IP and TCP headers and the ACKs of its downloads are included. Only grows while the testbed is up.
   */
  sentBytes(node: Node): number {
    const text = this.output(node, 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', 'eth0'], { timeoutMs: TC_QUERY_TIMEOUT_MS })
    const root = QDISC_STATS.parse(JSON.parse(text)).find((qdisc) => qdisc.root === true)
    if (root === undefined) throw new Error(`no root qdisc on eth0 of ${node.namespace}`)
    return root.bytes
  }

  /** Pids of the processes running inside the node's namespace. */
  pids(node: Node): number[] {
    const text = execFileSync('ip', ['netns', 'pids', node.namespace], { encoding: 'utf8', timeout: TC_QUERY_TIMEOUT_MS })
    return text.split('\n').filter((line) => line.trim() !== '').map(Number)
  }

  private accounted(line: readonly [string, ...string[]]): { command: string; args: string[] } {
    const [command, ...args] = line
    return this.cpuAccount === undefined ? { command, args } : this.cpuAccount.wrap(command, args)
  }

  private addNamespace(namespace: string): void {
    ip(['netns', 'add', namespace])
    this.created.push(namespace)
  }

  private attach(namespace: string, hubDevice: string, address: string, rate: string): Node {
    const hub = this.hub.namespace
    this.addNamespace(namespace)
    ip(['-n', hub, 'link', 'add', hubDevice, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace])
    ip(['-n', hub, 'link', 'set', hubDevice, 'master', 'br0', 'up'])
    ip(['-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
    ip(['-n', namespace, 'link', 'set', 'eth0', 'up'])
    ip(['-n', namespace, 'link', 'set', 'lo', 'up'])
    shape(namespace, 'eth0', rate)
    shape(hub, hubDevice, rate)
    return { namespace, ip: address }
  }

  private require(): { origin: Node; hosts: Node[] } {
    if (this.nodes === undefined) throw new Error('testbed is not up')
    return this.nodes
  }
}
