import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { formatPlatform, parsePlatform, platformMatches, type ImagePlatform } from './image-platform.js'

const TEST = { timeout: 5_000 }

describe('parsePlatform', TEST, () => {
  const valid: ReadonlyArray<[string, ImagePlatform]> = [
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    [' Linux/ARM/v7 ', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }],
  ]
  for (const [text, expected] of valid) {
    it(`reads ${JSON.stringify(text)}`, TEST, () => {
      assert.deepEqual(parsePlatform(text), expected)
    })
  }
  for (const text of ['linux', 'linux/', '/amd64', 'linux/arm64/v8/extra', 'linux amd64', 'linux/amd64?', '']) {
    it(`refuses ${JSON.stringify(text)} naming the shape`, TEST, () => {
      assert.throws(() => parsePlatform(text), (error: unknown) => error instanceof DamselflyError && error.code === 'INVALID_ARGUMENT' && error.message.includes('os/arch[/variant]'))
    })
  }
})

describe('platformMatches', TEST, () => {
  const cases: ReadonlyArray<{ wanted: string; candidate: ImagePlatform; matches: boolean }> = [
    { wanted: 'linux/amd64', candidate: { os: 'linux', architecture: 'amd64' }, matches: true },
    { wanted: 'linux/amd64', candidate: { os: 'linux', architecture: 'arm64' }, matches: false },
    { wanted: 'linux/amd64', candidate: { os: 'windows', architecture: 'amd64' }, matches: false },
    { wanted: 'linux/arm64', candidate: { os: 'linux', architecture: 'arm64', variant: 'v8' }, matches: true },
    { wanted: 'linux/arm64/v8', candidate: { os: 'linux', architecture: 'arm64' }, matches: true },
    { wanted: 'linux/arm64/v8', candidate: { os: 'linux', architecture: 'arm64', variant: 'v9' }, matches: false },
    { wanted: 'linux/arm/v7', candidate: { os: 'linux', architecture: 'arm', variant: 'v6' }, matches: false },
    { wanted: 'linux/arm/v7', candidate: { os: 'linux', architecture: 'arm', variant: 'v7' }, matches: true },
    { wanted: 'linux/arm', candidate: { os: 'linux', architecture: 'arm', variant: 'v6' }, matches: true },
    { wanted: 'linux/arm/v7', candidate: { os: 'linux', architecture: 'arm' }, matches: false },
    { wanted: 'linux/amd64', candidate: { os: 'Linux', architecture: 'AMD64' }, matches: true },
    { wanted: 'linux/amd64', candidate: { os: 'unknown', architecture: 'unknown' }, matches: false },
  ]
  for (const { wanted, candidate, matches } of cases) {
    it(`${wanted} ${matches ? 'takes' : 'refuses'} ${formatPlatform(candidate)}`, TEST, () => {
      assert.equal(platformMatches(parsePlatform(wanted), candidate), matches)
    })
  }
})
