import { describe, expect, it } from 'vitest'
import { manifestUrlOf } from './manifest-url-of'
import { EMPTY_SEARCH, searchProblem, taskArgsOf } from './task-search'

const TASK_ID = 'ab'.repeat(32)

describe('manifestUrlOf', () => {
  it.each([
    ['reg.example/library/alpine:3.19', 'https://reg.example/v2/library/alpine/manifests/3.19'],
    ['localhost:5000/app', 'https://localhost:5000/v2/app/manifests/latest'],
    ['alpine', 'https://registry-1.docker.io/v2/library/alpine/manifests/latest'],
    ['bitnami/redis:7', 'https://registry-1.docker.io/v2/bitnami/redis/manifests/7'],
    [`reg.example/app@sha256:${'c'.repeat(64)}`, `https://reg.example/v2/app/manifests/sha256:${'c'.repeat(64)}`],
    ['http://127.0.0.1:5000/v2/app/manifests/1', 'http://127.0.0.1:5000/v2/app/manifests/1'],
  ])('reads %s as %s', (image, url) => {
    expect(manifestUrlOf(image)).toBe(url)
  })
})

describe('the search form', () => {
  it('sends only what its mode names, trimmed', () => {
    const form = { ...EMPTY_SEARCH, taskId: ` ${TASK_ID} `, url: 'https://files.test/a', tag: 't', image: 'alpine' }
    expect(taskArgsOf(form)).toEqual({ task_id: TASK_ID })
    expect(taskArgsOf({ ...form, mode: 'url', filteredQueryParams: 'X-Sig&X-Exp' })).toEqual({ url: 'https://files.test/a', tag: 't', filtered_query_params: 'X-Sig&X-Exp' })
    expect(taskArgsOf({ ...form, mode: 'image', platform: 'linux/arm64', username: 'robot', password: ' pw ' })).toEqual({
      type: 'image', url: 'https://registry-1.docker.io/v2/library/alpine/manifests/latest', platform: 'linux/arm64', username: 'robot', password: ' pw ',
    })
  })

  it('refuses what the API refuses, in the API\'s words', () => {
    expect(searchProblem({ ...EMPTY_SEARCH, taskId: 'ABC' })).toBe('body.args.task_id: must be 64 lowercase hex digits')
    expect(searchProblem({ ...EMPTY_SEARCH, mode: 'url', url: 'ftp://files.test/a' })).toBe('body.args.url: must be an http or https URL')
    expect(searchProblem({ ...EMPTY_SEARCH, mode: 'image', image: 'alpine', platform: 'amd64' })).toMatch(/^body\.args\.platform: must be os\/arch/)
    expect(searchProblem({ ...EMPTY_SEARCH, mode: 'url' })).toBe('body.args.url: give the URL')
  })

  it('takes a well-formed search of each mode', () => {
    expect(searchProblem({ ...EMPTY_SEARCH, taskId: TASK_ID })).toBeUndefined()
    expect(searchProblem({ ...EMPTY_SEARCH, mode: 'url', url: 'https://files.test/a?X-Sig=1' })).toBeUndefined()
    expect(searchProblem({ ...EMPTY_SEARCH, mode: 'image', image: 'reg.example/app:1', platform: 'linux/amd64', username: 'u', password: 'p' })).toBeUndefined()
  })
})
