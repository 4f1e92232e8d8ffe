import { expect, it } from 'vitest'
import { someCluster } from './cluster-fixtures'
import { clusterPatchOf, EMPTY_CLUSTER_FORM, formValuesOf, isEmptyPatch, newClusterBodyOf } from './cluster-form-values'

const EAST = someCluster()

it('sends nothing when nothing changed, however the lists were retyped', () => {
  const before = formValuesOf(EAST)
  expect(isEmptyPatch(clusterPatchOf(before, before))).toBe(true)
  expect(isEmptyPatch(clusterPatchOf(before, { ...before, cidrs: '\n 10.1.0.0/16 \n\n10.2.0.0/16\n', name: ' east ' }))).toBe(true)
})

it('sends only the fields that changed, inside their sections', () => {
  const before = formValuesOf(EAST)
  const patch = clusterPatchOf(before, { ...before, location: 'us|west', candidateParentLimit: '6', blockedTags: 'nightly\nlatest' })
  expect(patch).toEqual({
    scopes: { location: 'us|west' },
    scheduler_cluster_config: { candidate_parent_limit: 6 },
    blocklist: { tags: ['nightly', 'latest'] },
  })
})

it('sends an emptied list as empty, and leaves an emptied number out (the API keeps it)', () => {
  const before = formValuesOf(EAST)
  expect(clusterPatchOf(before, { ...before, hostnames: '', peerLoadLimit: '' })).toEqual({ scopes: { hostnames: [] } })
  expect(clusterPatchOf(before, { ...before, bio: '' })).toEqual({ bio: '' })
})

it('creates with what was typed and leaves blank numbers to the API\'s defaults', () => {
  expect(newClusterBodyOf({ ...EMPTY_CLUSTER_FORM, name: ' west ', cidrs: '10.3.0.0/16\n', jobRateLimit: '20' })).toEqual({
    name: 'west', bio: '',
    scopes: { idc: '', location: '', cidrs: ['10.3.0.0/16'], hostnames: [] },
    scheduler_cluster_config: { job_rate_limit: 20 },
    blocklist: { applications: [], urls: [], tags: [] },
  })
})
