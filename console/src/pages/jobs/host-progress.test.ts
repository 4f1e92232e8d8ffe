import { expect, it } from 'vitest'
import { hostProgressOf, progressText } from './host-progress'
import { mergeHostRows, NO_ROWS } from './host-rows'
import { hostRow } from './job-fixtures'

it('words progress as whole percent: by bytes, else by pieces, 100% only when done', () => {
  const cases: ReadonlyArray<[Parameters<typeof progressText>[0], string]> = [
    [{ state: 'PENDING', completedBytes: 0, contentLength: 0, finishedPieces: 0, totalPieces: 0 }, '0%'],
    [{ state: 'RUNNING', completedBytes: 421, contentLength: 1000, finishedPieces: 0, totalPieces: 0 }, '42%'],
    [{ state: 'RUNNING', completedBytes: 999, contentLength: 1000, finishedPieces: 0, totalPieces: 0 }, '99%'],
    [{ state: 'RUNNING', completedBytes: 1000, contentLength: 1000, finishedPieces: 0, totalPieces: 0 }, '99%'],
    [{ state: 'RUNNING', completedBytes: 0, contentLength: 0, finishedPieces: 3, totalPieces: 4 }, '75%'],
    [{ state: 'SUCCESS', completedBytes: 0, contentLength: 0, finishedPieces: 0, totalPieces: 0 }, '100%'],
    [{ state: 'FAILURE', completedBytes: 250, contentLength: 1000, finishedPieces: 0, totalPieces: 0 }, '25%'],
  ]
  for (const [progress, text] of cases) expect(progressText(progress), JSON.stringify(progress)).toBe(text)
})

it('merges rows by host and URL, a later change over an earlier one, never the reverse', () => {
  let rows = mergeHostRows(NO_ROWS, [hostRow({ host_id: 'h1', completed_bytes: 10, updated_at: '2026-12-01T07:00:01.000Z' })])
  rows = mergeHostRows(rows, [hostRow({ host_id: 'h1', completed_bytes: 20, updated_at: '2026-12-01T07:00:02.000Z' })])
  rows = mergeHostRows(rows, [hostRow({ host_id: 'h1', completed_bytes: 5, updated_at: '2026-12-01T07:00:00.000Z' })])
  rows = mergeHostRows(rows, [hostRow({ host_id: 'h1', url: 'https://files.example/b', completed_bytes: 7 })])
  expect([...rows.values()].map((row) => [row.host_id, row.url, row.completed_bytes])).toEqual([
    ['h1', 'https://files.example/a', 20],
    ['h1', 'https://files.example/b', 7],
  ])
  expect(mergeHostRows(rows, [])).toBe(rows)
})

it('makes one table row per host over its URLs: a failure wins, rates only of downloads in flight', () => {
  const rows = mergeHostRows(NO_ROWS, [
    hostRow({ host_id: 'h2', hostname: 'b', state: 'SUCCESS', completed_bytes: 100, content_length: 100, bytes_per_second: 999 }),
    hostRow({ host_id: 'h2', hostname: 'b', url: 'https://files.example/b', completed_bytes: 50, content_length: 100, bytes_per_second: 40 }),
    hostRow({ host_id: 'h1', hostname: 'a', state: 'FAILURE', code: 'SOURCE_STATUS', description: 'origin answered 404' }),
    hostRow({ host_id: 'h1', hostname: 'a', url: 'https://files.example/b', state: 'SUCCESS' }),
  ])
  const table = hostProgressOf(rows.values())
  expect(table.map((host) => [host.hostname, host.state, progressText(host), host.bytesPerSecond, host.error])).toEqual([
    ['a', 'FAILURE', '0%', 0, 'SOURCE_STATUS: origin answered 404'],
    ['b', 'RUNNING', '75%', 40, ''],
  ])
})
