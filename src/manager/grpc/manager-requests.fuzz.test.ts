import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from '../../protocol/damselfly-error-fixtures.js'
import { SourceType } from '../../protocol/generated/damselfly/manager/v1/manager.js'
import { MAX_HOSTS_PER_REPORT, parseKeepAlive, parseListSchedulers, parseRegisterScheduler, parseRegisterSeedPeer, parseReportHosts } from './manager-requests.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

// Hostile and ordinary values alike: the parsers must accept what the protocol allows, refuse the rest with INVALID_ARGUMENT.
const text = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('', 'node-1', 'a'.repeat(256), '10.0.0.1', '::1', 'nul\u0000', 'tab\there'))
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), text)
const uint = fc.oneof(fc.nat(), fc.constantFrom(0, 65_535, 65_536, 2 ** 31, 2 ** 32 - 1))
const hostIdText = fc.oneof(text, fc.stringMatching(/^[0-9a-f]{32}$/))

const printable = (value: string): boolean => Array.from({ length: value.length }, (_, i) => value.charCodeAt(i)).every((code) => code >= 0x20 && code !== 0x7f)
const validHostname = (value: string): boolean => value.length >= 1 && value.length <= 255 && printable(value)
const validLabel = (value: string): boolean => value.length <= 255 && printable(value)
const validHostId = (value: string): boolean => value.length <= 128 && /^[A-Za-z0-9._:-]*$/.test(value)

describe('manager request parsing (fuzzed)', TEST, () => {
  it('takes a scheduler registration exactly when every field is within its bounds', () => {
    fc.assert(fc.property(
      fc.record({ hostname: text, ip, port: uint, idc: text, location: text, features: fc.array(text, { maxLength: 70 }), hostId: hostIdText, clusterId: uint }),
      (request) => {
        const outcome = outcomeOf(() => parseRegisterScheduler(request), 'INVALID_ARGUMENT')
        const valid = validHostname(request.hostname) && isIP(request.ip) !== 0 && request.port >= 1 && request.port <= 65_535
          && validLabel(request.idc) && validLabel(request.location) && request.features.length <= 64 && request.features.every(validLabel)
          && validHostId(request.hostId) && request.clusterId <= 2 ** 31 - 1
        assert.equal(outcome.accepted, valid, JSON.stringify(request).slice(0, 300))
        if (!outcome.accepted) assert.match(outcome.error.message, /^register scheduler: /)
      },
    ), RUNS)
  })

  it('takes a seed peer of Dragonfly\'s types only, super when unset', () => {
    fc.assert(fc.property(
      fc.record({ hostname: fc.constant('seed'), ip: fc.constant('10.0.0.9'), port: fc.constant(65002), type: fc.oneof(text, fc.constantFrom('super', 'strong', 'weak', '')), idc: fc.constant(''), location: fc.constant(''), hostId: fc.constant(''), clusterId: fc.constant(0) }),
      (request) => {
        const outcome = outcomeOf(() => parseRegisterSeedPeer(request), 'INVALID_ARGUMENT')
        assert.equal(outcome.accepted, ['super', 'strong', 'weak', ''].includes(request.type))
        if (outcome.accepted) assert.equal(outcome.value.type, request.type === '' ? 'super' : request.type)
      },
    ), RUNS)
  })

  it('takes a keepalive only from a known kind of member of a named cluster', () => {
    fc.assert(fc.property(
      fc.record({ sourceType: fc.constantFrom(SourceType.SOURCE_TYPE_UNSPECIFIED, SourceType.SOURCE_TYPE_SCHEDULER, SourceType.SOURCE_TYPE_SEED_PEER, SourceType.UNRECOGNIZED), hostname: text, ip, clusterId: uint }),
      (request) => {
        const outcome = outcomeOf(() => parseKeepAlive(request), 'INVALID_ARGUMENT')
        const valid = (request.sourceType === SourceType.SOURCE_TYPE_SCHEDULER || request.sourceType === SourceType.SOURCE_TYPE_SEED_PEER)
          && validHostname(request.hostname) && isIP(request.ip) !== 0 && request.clusterId >= 1 && request.clusterId <= 2 ** 31 - 1
        assert.equal(outcome.accepted, valid)
      },
    ), RUNS)
  })

  it('lets a daemon ask for schedulers with an empty or valid address', () => {
    fc.assert(fc.property(
      fc.record({ hostname: text, ip, idc: text, location: text, version: text, hostId: hostIdText }),
      (request) => {
        const outcome = outcomeOf(() => parseListSchedulers(request), 'INVALID_ARGUMENT')
        const valid = validLabel(request.hostname) && (request.ip === '' || isIP(request.ip) !== 0) && validLabel(request.idc)
          && validLabel(request.location) && validLabel(request.version) && validHostId(request.hostId)
        assert.equal(outcome.accepted, valid)
      },
    ), RUNS)
  })

  it('refuses a host report with a host it cannot record, and one too large', () => {
    const host = fc.record({ hostId: hostIdText, hostname: text, ip, port: uint, idc: text, location: text, version: text, os: text, type: fc.oneof(text, fc.constantFrom('normal', 'seed')) })
    fc.assert(fc.property(fc.array(host, { maxLength: 4 }), (hosts) => {
      const outcome = outcomeOf(() => parseReportHosts({ hostname: 's', ip: '10.0.0.1', clusterId: 1, hosts }), 'INVALID_ARGUMENT')
      const valid = hosts.every((h) => h.hostId !== '' && validHostId(h.hostId) && validHostname(h.hostname) && isIP(h.ip) !== 0 && h.port <= 65_535
        && validLabel(h.idc) && validLabel(h.location) && h.version.length <= 64 && printable(h.version) && h.os.length <= 64 && printable(h.os) && (h.type === 'normal' || h.type === 'seed'))
      assert.equal(outcome.accepted, valid)
    }), RUNS)
    const many = Array.from({ length: MAX_HOSTS_PER_REPORT + 1 }, (_, i) => ({ hostId: `h${i}`, hostname: 'n', ip: '10.0.0.2', port: 1, idc: '', location: '', version: '', os: '', type: 'normal' }))
    assert.equal(outcomeOf(() => parseReportHosts({ hostname: 's', ip: '10.0.0.1', clusterId: 1, hosts: many }), 'INVALID_ARGUMENT').accepted, false)
  })
})
