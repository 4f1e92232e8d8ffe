import { describe, expect, it } from 'vitest'
import { auditQuery, localTimeToRfc3339, NO_AUDIT_FILTER } from './audit-query'

describe('auditQuery', () => {
  it('sends only the filters given, the times as RFC 3339 UTC of the reader\'s local time', () => {
    const request = auditQuery({ ...NO_AUDIT_FILTER, actorName: ' alice ', method: 'DELETE', object: 'cluster', since: '2026-12-01T07:30', until: '2026-12-02T00:00' }, 2, 50)
    expect(request).toEqual({
      query: {
        page: '2',
        per_page: '50',
        actor_name: 'alice',
        object: 'cluster',
        method: 'DELETE',
        since: new Date(2026, 11, 1, 7, 30).toISOString(),
        until: new Date(2026, 11, 2, 0, 0).toISOString(),
      },
    })
  }, 5_000)

  it('sends just the page when nothing is filtered', () => {
    expect(auditQuery(NO_AUDIT_FILTER, 1, 50)).toEqual({ query: { page: '1', per_page: '50' } })
  }, 5_000)

  it('refuses an empty or reversed time range', () => {
    expect(auditQuery({ ...NO_AUDIT_FILTER, since: '2026-12-02T00:00', until: '2026-12-01T00:00' }, 1, 50)).toEqual({ problem: 'Since must be before Until' })
    expect(auditQuery({ ...NO_AUDIT_FILTER, since: 'yesterday' }, 1, 50)).toEqual({ problem: 'Since: not a date and time' })
  }, 5_000)

  it('refuses what the API\'s schema refuses, in the API\'s words', () => {
    const request = auditQuery({ ...NO_AUDIT_FILTER, method: 'GET' }, 1, 50)
    expect('problem' in request && request.problem).toMatch(/^query\.method: /)
    const tooLong = auditQuery({ ...NO_AUDIT_FILTER, actorName: 'a'.repeat(256) }, 1, 50)
    expect('problem' in tooLong && tooLong.problem).toMatch(/^query\.actor_name: /)
  }, 5_000)
})

describe('localTimeToRfc3339', () => {
  it('reads a datetime-local value in the local zone', () => {
    expect(localTimeToRfc3339('2026-03-04T05:06')).toBe(new Date(2026, 2, 4, 5, 6).toISOString())
    expect(localTimeToRfc3339('')).toBeUndefined()
    expect(localTimeToRfc3339('not a time')).toBeUndefined()
  }, 5_000)

  it('converts to UTC from the reader\'s zone', () => {
    const zone = process.env['TZ']
    process.env['TZ'] = 'Asia/Shanghai'
    try {
      expect(localTimeToRfc3339('2026-03-04T05:06')).toBe('2026-03-03T21:06:00.000Z')
    } finally {
      if (zone === undefined) delete process.env['TZ']
      else process.env['TZ'] = zone
    }
  }, 5_000)
})
