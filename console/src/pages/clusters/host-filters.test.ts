import { expect, it } from 'vitest'
import { hostFilterQuery, NO_HOST_FILTERS } from './host-filters'

it('sends only the filters that are set, trimmed', () => {
  expect(hostFilterQuery(NO_HOST_FILTERS)).toEqual({})
  expect(hostFilterQuery({ version: ' 0.1.0 ', type: 'seed', idc: '   ', location: '', hostname: 'east-' })).toEqual({ version: '0.1.0', type: 'seed', hostname: 'east-' })
})
