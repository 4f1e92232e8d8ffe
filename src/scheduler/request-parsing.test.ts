import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import type { Host } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { download } from './resource-fixtures.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { MAX_PIECE_NUMBER, parseHostAnnounce, parsePiece, parseRegistration, sameDownload } from './request-parsing.js'
import type { TaskId } from '../protocol/ids.js'

const TEST = { timeout: 10_000 }

function host(overrides: Partial<Host>): Host {
  return {
    id: 'host-a', ip: '10.0.0.1', hostname: 'a', uploadPort: 65002, idc: '', location: '', seed: false, disableShared: false,
    concurrentUploadLimit: 50, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: true, ...overrides,
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

describe('parseRegistration: protocol revision', TEST, () => {
  const named = download({ url: 'http://a.aa' })
  const register = (protocolRevision: number) => ({ download: named, pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision })
  const taskId = 'a'.repeat(64) as TaskId
  const idOf = (): TaskId => taskId

  it('accepts this revision and refuses an older one, or one that is no number (a fuzz counterexample)', TEST, () => {
    assert.equal(parseRegistration(register(SCHEDULER_PROTOCOL_REVISION), taskId, idOf).download.url, named.url)
    for (const revision of [SCHEDULER_PROTOCOL_REVISION - 1, Number.NaN]) {
      assertThrowsCode(() => parseRegistration(register(revision), taskId, idOf), 'INVALID_ARGUMENT', /older than this scheduler's/)
    }
  })
})

describe('parsePiece: piece numbers', TEST, () => {
  const digest = 'a'.repeat(64)
  it('accepts the highest piece number a peer may name, and refuses the next', TEST, () => {
    assert.equal(parsePiece({ number: MAX_PIECE_NUMBER, offset: 0, length: 1, digest }, 'report').number, MAX_PIECE_NUMBER)
    assertThrowsCode(() => parsePiece({ number: MAX_PIECE_NUMBER + 1, offset: 0, length: 1, digest }, 'report'), 'INVALID_ARGUMENT', /piece number must be at most/)
  })
})

describe('sameDownload', TEST, () => {
  it('tells apart downloads that differ in any one field, and agrees on equal ones whatever the header order', TEST, () => {
    const base = download({ headers: { a: '1', b: '2' }, filteredQueryParams: ['x'] })
    assert.equal(sameDownload(base, download({ headers: { b: '2', a: '1' }, filteredQueryParams: ['x'] })), true)
    const changed: Record<keyof typeof base, unknown> = {
      url: 'http://origin.test/other', headers: { a: '1', b: '3' }, tag: 't', application: 'app', filteredQueryParams: ['y'],
      pieceLength: 4_194_304, priority: 3, digest: `sha256:${'b'.repeat(64)}`, disableBackToSource: true,
    }
    // Every field of a Download is listed: a field added to the message must be compared too.
    assert.deepEqual(Object.keys(changed).sort(), Object.keys(base).sort())
    for (const [field, value] of Object.entries(changed)) {
      assert.equal(sameDownload(base, { ...base, [field]: value }), false, field)
    }
    assert.equal(sameDownload(base, { ...base, headers: { a: '1' } }), false, 'a header fewer')
  })
})
