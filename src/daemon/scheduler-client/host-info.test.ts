import assert from 'node:assert/strict'
import type { NetworkInterfaceInfo } from 'node:os'
import { describe, it } from 'node:test'
import { linkSpeedMbitPerSecond, uploadCapacityBytesPerSecond } from './host-info.js'

const TEST = { timeout: 5_000 }

function ipv4(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal, cidr: `${address}/24` }
}

const interfaces = { lo: [ipv4('127.0.0.1', true)], eth0: [ipv4('10.0.0.7')], eth1: [ipv4('192.168.1.7')] }
const speeds: Readonly<Record<string, number>> = { eth0: 10_000, eth1: 1_000 }
const system = { interfaces, speedOf: (name: string) => speeds[name] }

function limit(rateLimit: number, capacity = 0): { rateLimit: number; capacity: number } {
  return { rateLimit, capacity }
}

describe('upload capacity', TEST, () => {
  it('is the speed of the interface that holds the advertised address', TEST, () => {
    assert.equal(uploadCapacityBytesPerSecond(limit(0), '10.0.0.7', system), 1_250_000_000)
    assert.equal(uploadCapacityBytesPerSecond(limit(0), '192.168.1.7', system), 125_000_000)
  })

  it('is the upload rate limit where that is lower, or where the speed is unknown', TEST, () => {
    assert.equal(uploadCapacityBytesPerSecond(limit(50_000_000), '10.0.0.7', system), 50_000_000)
    assert.equal(uploadCapacityBytesPerSecond(limit(50_000_000), '127.0.0.1', system), 50_000_000)
    assert.equal(uploadCapacityBytesPerSecond(limit(500_000_000), '192.168.1.7', system), 125_000_000)
  })

  it('is 0 (unknown) without a limit on an interface without a speed, or an address no interface holds', TEST, () => {
    assert.equal(uploadCapacityBytesPerSecond(limit(0), '127.0.0.1', system), 0)
    assert.equal(uploadCapacityBytesPerSecond(limit(0), '10.9.9.9', system), 0)
  })

  it('is upload.capacity where it is set, in place of the interface\'s speed, and the rate limit where that is lower', TEST, () => {
    assert.equal(uploadCapacityBytesPerSecond(limit(0, 3_125_000_000), '127.0.0.1', system), 3_125_000_000)
    assert.equal(uploadCapacityBytesPerSecond(limit(0, 3_125_000_000), '192.168.1.7', system), 3_125_000_000, 'the setting overrides a speed the interface reports')
    assert.equal(uploadCapacityBytesPerSecond(limit(50_000_000, 3_125_000_000), '10.0.0.7', system), 50_000_000)
  })

  it('reads no speed for loopback or an interface that does not exist', TEST, () => {
    assert.equal(linkSpeedMbitPerSecond('lo'), undefined)
    assert.equal(linkSpeedMbitPerSecond('no-such-interface0'), undefined)
  })
})
