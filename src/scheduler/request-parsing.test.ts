import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import type { Host } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { parseHostAnnounce } from './request-parsing.js'

const TEST = { timeout: 10_000 }

function host(overrides: Partial<Host>): Host {
  return {
    id: 'host-a', ip: '10.0.0.1', hostname: 'a', uploadPort: 65002, idc: '', location: '', seed: false, disableShared: false,
    concurrentUploadLimit: 50, concurrentUploadCount: 0, uploadBytesPerSecond: 0, uploadTls: true, ...overrides,
  }
}

describe('parseHostAnnounce: upload port', TEST, () => {
  const accepted: ReadonlyArray<{ name: string; host: Host }> = [
    { name: 'port 1', host: host({ uploadPort: 1 }) },
    { name: 'port 65535', host: host({ uploadPort: 65535 }) },
    { name: 'port 0 when sharing is disabled', host: host({ uploadPort: 0, disableShared: true }) },
  ]
  for (const { name, host: h } of accepted) {
    it(`accepts ${name}`, TEST, () => {
      assert.equal(parseHostAnnounce({ host: h, report: undefined }).info.uploadPort, h.uploadPort)
    })
  }

  // The wire's uint32 cannot carry the fractions and negatives, but a message built in code can.
  for (const uploadPort of [0, 65536, 2 ** 32 - 1, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses port ${uploadPort} while sharing`, TEST, () => {
      assertThrowsCode(() => parseHostAnnounce({ host: host({ uploadPort }), report: undefined }), 'INVALID_ARGUMENT', /upload_port must be 1\.\.65535 unless sharing is disabled/)
    })
  }
})
