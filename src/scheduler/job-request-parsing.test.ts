import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import { HostSelection_Scope, type RunDownloadsRequest } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { taskIdFor } from '../protocol/task-id.js'
import { MAX_JOB_DOWNLOADS, MAX_SELECTED_HOST_NAMES, parseRunDownloads, parseTaskQuery } from './job-request-parsing.js'
import { download } from './resource-fixtures.js'

const TEST = { timeout: 10_000 }

function request(overrides: Partial<RunDownloadsRequest> = {}): RunDownloadsRequest {
  return {
    jobId: 'job-1',
    downloads: [download({ url: 'http://origin.test/a' })],
    selection: { scope: HostSelection_Scope.SCOPE_ALL_PEERS, hosts: [], count: 0, percentage: 0 },
    rateLimitBytesPerSecond: 0,
    outputPath: '',
    progressIntervalMs: 0,
    ...overrides,
  }
}
const selection = (overrides: Partial<NonNullable<RunDownloadsRequest['selection']>>): RunDownloadsRequest['selection'] => ({
  scope: HostSelection_Scope.SCOPE_ALL_PEERS, hosts: [], count: 0, percentage: 0, ...overrides,
})

describe('parseRunDownloads', TEST, () => {
  it('keeps a valid request, with each download\'s task id from its filtered URL', TEST, () => {
    const job = parseRunDownloads(request({
      downloads: [download({ url: 'http://origin.test/a?sig=1', filteredQueryParams: ['sig'] }), download({ url: 'http://origin.test/b', tag: 't', pieceLength: 4096 })],
      selection: selection({ scope: HostSelection_Scope.SCOPE_SINGLE_SEED_PEER, hosts: ['10.0.0.1'] }),
      rateLimitBytesPerSecond: 1024,
      outputPath: 'images/a.tar',
      progressIntervalMs: 500,
    }))
    assert.deepEqual(job.downloads.map((d) => d.taskId), [
      taskIdFor({ url: 'http://origin.test/a' , filteredQueryParams: [] }),
      taskIdFor({ url: 'http://origin.test/b', tag: 't', pieceLengthBytes: 4096, filteredQueryParams: [] }),
    ])
    assert.deepEqual(job.selection, { scope: 'single-seed-peer', hosts: ['10.0.0.1'], count: 0, percentage: 0 })
    assert.equal(job.rateLimitBytesPerSecond, 1024)
    assert.equal(job.outputPath, 'images/a.tar')
    assert.equal(job.progressIntervalMs, 500)
  })

  it('accepts the bounds: 1000 downloads, 1000 names, 100 per cent', TEST, () => {
    const job = parseRunDownloads(request({
      downloads: Array.from({ length: MAX_JOB_DOWNLOADS }, (_, i) => download({ url: `http://origin.test/${i}` })),
      selection: selection({ hosts: Array.from({ length: MAX_SELECTED_HOST_NAMES }, (_, i) => `host-${i}`), percentage: 100 }),
    }))
    assert.equal(job.downloads.length, MAX_JOB_DOWNLOADS)
  })

  const refused: ReadonlyArray<{ name: string; request: RunDownloadsRequest; message: RegExp }> = [
    { name: 'no download', request: request({ downloads: [] }), message: /downloads must hold 1 to 1000 downloads, got 0/ },
    { name: 'too many downloads', request: request({ downloads: Array.from({ length: MAX_JOB_DOWNLOADS + 1 }, () => download()) }), message: /downloads must hold 1 to 1000 downloads, got 1001/ },
    { name: 'a download without URL', request: request({ downloads: [download(), download({ url: '' })] }), message: /downloads\[1\]: download url is missing/ },
    { name: 'a malformed URL', request: request({ downloads: [download({ url: 'not a url' })] }), message: /downloads\[0\]: malformed URL/ },
    { name: 'a priority out of range', request: request({ downloads: [download({ priority: 7 })] }), message: /downloads\[0\]: priority must be 0\.\.6, got 7/ },
    { name: 'a fractional piece length', request: request({ downloads: [download({ pieceLength: 1.5 })] }), message: /downloads\[0\]: piece_length must be a non-negative integer/ },
    { name: 'no selection', request: request({ selection: undefined }), message: /selection is missing/ },
    { name: 'no scope', request: request({ selection: selection({ scope: HostSelection_Scope.SCOPE_UNSPECIFIED }) }), message: /selection\.scope must be/ },
    { name: 'an unknown scope', request: request({ selection: selection({ scope: HostSelection_Scope.UNRECOGNIZED }) }), message: /selection\.scope must be .*got -1/ },
    { name: 'count and percentage', request: request({ selection: selection({ count: 2, percentage: 50 }) }), message: /selection\.count and selection\.percentage are both set/ },
    { name: 'a percentage above 100', request: request({ selection: selection({ percentage: 101 }) }), message: /selection\.percentage must be 0\.\.100, got 101/ },
    { name: 'a negative count', request: request({ selection: selection({ count: -1 }) }), message: /selection\.count must be a non-negative integer/ },
    { name: 'too many hosts listed', request: request({ selection: selection({ hosts: Array.from({ length: MAX_SELECTED_HOST_NAMES + 1 }, (_, i) => `h${i}`) }) }), message: /selection\.hosts lists at most 1000 names, got 1001/ },
    { name: 'an empty host name', request: request({ selection: selection({ hosts: ['a', ''] }) }), message: /selection\.hosts\[1\] must be 1 to 253 characters/ },
    { name: 'a host name too long', request: request({ selection: selection({ hosts: ['h'.repeat(254)] }) }), message: /selection\.hosts\[0\] must be 1 to 253 characters/ },
    { name: 'an output path too long', request: request({ outputPath: 'p'.repeat(4097) }), message: /output_path must be at most 4096 characters/ },
    { name: 'an output path with NUL', request: request({ outputPath: 'a\0b' }), message: /output_path must not hold a NUL character/ },
    { name: 'a job id too long', request: request({ jobId: 'j'.repeat(513) }), message: /job_id must be at most 512 characters/ },
    { name: 'a fractional rate limit', request: request({ rateLimitBytesPerSecond: 0.5 }), message: /rate_limit_bytes_per_second must be a non-negative integer/ },
  ]
  for (const c of refused) {
    it(`refuses ${c.name}`, TEST, () => {
      assertThrowsCode(() => parseRunDownloads(c.request), 'INVALID_ARGUMENT', /^run downloads: /, c.message)
    })
  }
})

describe('parseTaskQuery', TEST, () => {
  const taskId = 'c'.repeat(64)

  it('waits 5 s by default, and as long as asked up to 60 s', TEST, () => {
    assert.deepEqual(parseTaskQuery({ taskId, timeoutMs: 0 }, 'stat task'), { taskId, timeoutMs: 5_000 })
    assert.deepEqual(parseTaskQuery({ taskId, timeoutMs: 60_000 }, 'stat task'), { taskId, timeoutMs: 60_000 })
  })

  const refused: ReadonlyArray<{ name: string; taskId: string; timeoutMs: number; message: RegExp }> = [
    { name: 'an empty task id', taskId: '', timeoutMs: 0, message: /delete task: task_id must be 64 lowercase hex characters/ },
    { name: 'an uppercase task id', taskId: 'C'.repeat(64), timeoutMs: 0, message: /delete task: task_id must be 64 lowercase hex characters/ },
    { name: 'a short task id', taskId: 'c'.repeat(63), timeoutMs: 0, message: /delete task: task_id must be 64 lowercase hex characters/ },
    { name: 'a timeout above 60 s', taskId, timeoutMs: 60_001, message: /delete task: timeout_ms must be at most 60000, got 60001/ },
  ]
  for (const c of refused) {
    it(`refuses ${c.name}`, TEST, () => {
      assertThrowsCode(() => parseTaskQuery({ taskId: c.taskId, timeoutMs: c.timeoutMs }, 'delete task'), 'INVALID_ARGUMENT', c.message)
    })
  }
})
