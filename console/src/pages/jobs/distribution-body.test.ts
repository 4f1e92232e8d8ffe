import { expect, it } from 'vitest'
import { distributionBody, EMPTY_DISTRIBUTION, startAtOf } from './distribution-body'

const FILE = 'https://files.example/release.tar'

it('builds the API\'s body: hosts a line each, the bandwidth limit as typed, the start time in UTC', () => {
  const built = distributionBody({ ...EMPTY_DISTRIBUTION, url: FILE, hosts: 'node-a\n 10.0.0.2 \n\n', clusterIds: [1], bandwidthLimit: '50MiB', startAt: '2026-12-24T18:00', outputPath: 'release.tar' })
  expect(built).toEqual({
    body: {
      type: 'distribution',
      args: { type: 'file', url: FILE, hosts: ['node-a', '10.0.0.2'], rate_limit: '50MiB', output_path: 'release.tar' },
      scheduler_cluster_ids: [1],
      scheduled_at: new Date(2026, 11, 24, 18, 0).toISOString(),
    },
  })
})

it('reads the start time in the reader\'s zone, and leaves it out when empty', () => {
  expect(Date.parse(startAtOf('2026-01-02T03:04') ?? '')).toBe(new Date(2026, 0, 2, 3, 4).getTime())
  expect(startAtOf('')).toBeUndefined()
  expect(startAtOf('soon')).toBe('soon')
})

it('refuses in the API\'s words', () => {
  const cases: ReadonlyArray<[Partial<typeof EMPTY_DISTRIBUTION>, RegExp]> = [
    [{ url: '' }, /^body\.args: a file job needs args\.url or args\.urls/],
    [{ url: FILE, bandwidthLimit: 'fast' }, /^body\.args\.rate_limit: must be bytes per second/],
    [{ type: 'image', url: FILE, outputPath: 'x' }, /^body\.args\.output_path: only a file is written to a path/],
    [{ url: FILE, hosts: 'bad host' }, /^body\.args\.hosts\[0\]: must be an IP address or a hostname/],
    [{ url: FILE, startAt: 'soon' }, /^body\.scheduled_at: /],
  ]
  for (const [fields, problem] of cases) {
    const built = distributionBody({ ...EMPTY_DISTRIBUTION, ...fields })
    expect('problem' in built ? built.problem : 'taken', JSON.stringify(fields)).toMatch(problem)
  }
})
