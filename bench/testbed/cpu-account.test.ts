import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cpuHierarchyFrom, parseCpuStat } from './cpu-account.js'

const TEST = { timeout: 10_000 }

const HYBRID = [
  'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
  'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
  'cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0',
  'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
].join('\n')

describe('cpu account', TEST, () => {
  it('prefers a cgroup2 mount, falls back to a v1 cpuacct one, and finds none without either', () => {
    assert.deepEqual(cpuHierarchyFrom(HYBRID), { version: 'v2', mountPath: '/sys/fs/cgroup/unified' })
    assert.deepEqual(cpuHierarchyFrom('cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n'), { version: 'v1', mountPath: '/sys/fs/cgroup/cpu,cpuacct' })
    assert.equal(cpuHierarchyFrom('cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\nproc /proc proc rw 0 0\n'), undefined)
    assert.equal(cpuHierarchyFrom(''), undefined)
  })

  it('reads user and system time from cpu.stat in ms', () => {
    assert.deepEqual(parseCpuStat('usage_usec 3500\nuser_usec 2500\nsystem_usec 1000\nnice_usec 0\n'), { userMs: 2.5, systemMs: 1 })
  })

  it('refuses a cpu.stat without the two fields rather than report zero', () => {
    assert.throws(() => parseCpuStat('usage_usec 3500\n'), /user_usec and system_usec/)
    assert.throws(() => parseCpuStat('user_usec x\nsystem_usec 1\n'), /user_usec and system_usec/)
  })
})
