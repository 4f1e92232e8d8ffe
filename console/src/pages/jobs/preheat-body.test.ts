import { expect, it } from 'vitest'
import { parseHeaders } from './parse-headers'
import { EMPTY_PREHEAT, preheatBody } from './preheat-body'

const MANIFEST = 'https://registry.example/v2/library/alpine/manifests/3.19'

it('builds the API\'s body: lines become ips, headers a record, numbers numbers, empty fields left out', () => {
  const built = preheatBody({
    ...EMPTY_PREHEAT,
    url: ` ${MANIFEST} `,
    platform: 'linux/arm64',
    username: 'robot',
    password: 's3cret',
    headers: 'X-Trace: 1\n\n  Authorization:  Bearer abc:def  \n',
    scope: 'all_peers',
    ips: '10.0.0.1\n\n  node-b  \n',
    percentage: '50',
    timeoutSeconds: '600',
    clusterIds: [2, 3],
  })
  expect(built).toEqual({
    body: {
      type: 'preheat',
      args: {
        type: 'image', url: MANIFEST, platform: 'linux/arm64', username: 'robot', password: 's3cret',
        headers: { 'X-Trace': '1', Authorization: 'Bearer abc:def' },
        scope: 'all_peers', ips: ['10.0.0.1', 'node-b'], percentage: 50, timeout: 600,
      },
      scheduler_cluster_ids: [2, 3],
    },
  })
})

it('sends no cluster ids when none is checked: the default cluster', () => {
  const built = preheatBody({ ...EMPTY_PREHEAT, type: 'file', url: 'https://files.example/a.tar', pieceLength: '4194304' })
  expect(built).toEqual({ body: { type: 'preheat', args: { type: 'file', url: 'https://files.example/a.tar', piece_length: 4194304, scope: 'single_seed_peer' } } })
})

it('refuses in the API\'s words', () => {
  const cases: ReadonlyArray<[Partial<typeof EMPTY_PREHEAT>, RegExp]> = [
    [{ url: '' }, /^body\.args: an image job needs args\.url/],
    [{ url: 'ftp://registry.example/x' }, /^body\.args\.url: must be an http or https URL/],
    [{ url: MANIFEST, platform: 'linux' }, /^body\.args\.platform: must be os\/arch/],
    [{ url: MANIFEST, count: '2', percentage: '50' }, /^body\.args: give count or percentage, not both/],
    [{ url: MANIFEST, percentage: '150' }, /^body\.args\.percentage: /],
    [{ url: MANIFEST, count: 'many' }, /^body\.args\.count: /],
    [{ url: MANIFEST, ips: 'node a' }, /^body\.args\.ips\[0\]: must be an IP address or a hostname/],
    [{ url: MANIFEST, headers: 'Bad Name: x' }, /^body\.args\.headers/],
    [{ url: MANIFEST, headers: 'no colon here' }, /^Headers: line 1 must read Name: value/],
  ]
  for (const [fields, problem] of cases) {
    const built = preheatBody({ ...EMPTY_PREHEAT, ...fields })
    expect('problem' in built ? built.problem : 'taken', JSON.stringify(fields)).toMatch(problem)
  }
})

it('reads headers a line each, split at the first colon', () => {
  expect(parseHeaders('A: 1\nB:x:y\n')).toEqual({ headers: { A: '1', B: 'x:y' } })
  expect(parseHeaders('A: 1\n: nameless')).toEqual({ problem: 'Headers: line 2 must read Name: value' })
  expect(parseHeaders('  \n')).toEqual({ headers: {} })
})
