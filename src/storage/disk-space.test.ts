import assert from 'node:assert/strict'
import { tmpdir } from 'node:os'
import { describe, it } from 'node:test'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import { diskSpace, ensureFreeSpace } from './disk-space.js'

const TIMEOUT = { timeout: 5_000 }
const MIB = 1024 * 1024
const GIB = 1024 * MIB

void describe('diskSpace', () => {
  it('measures the file system holding a path', TIMEOUT, async () => {
    const { totalBytes, freeBytes } = await diskSpace(tmpdir())
    assert.ok(totalBytes > 0 && freeBytes >= 0 && freeBytes <= totalBytes)
  })

  it('fails with STORAGE_FAILED for a path that does not exist', TIMEOUT, async () => {
    await assert.rejects(diskSpace('/nonexistent/damselfly'), (error) => isDamselflyError(error, 'STORAGE_FAILED') && error.cause !== undefined)
  })
})

void describe('ensureFreeSpace', () => {
  const measure = (freeBytes: number) => () => Promise.resolve({ totalBytes: 100 * GIB, freeBytes })
  const cases = [
    { name: 'passes with room beyond the reserve', freeBytes: 2 * GIB, neededBytes: GIB - 1, reserveBytes: GIB, message: undefined },
    { name: 'passes with exactly enough', freeBytes: 2 * GIB, neededBytes: GIB, reserveBytes: GIB, message: undefined },
    {
      name: 'fails when the reserve would be touched',
      freeBytes: 120 * MIB, neededBytes: 300 * MIB, reserveBytes: GIB,
      message: 'not enough disk space in /data: need 300.0 MiB, 120.0 MiB free (keeping 1.0 GiB reserved)',
    },
    {
      name: 'fails by one byte',
      freeBytes: 2 * GIB, neededBytes: GIB + 1, reserveBytes: GIB,
      message: 'not enough disk space in /data: need 1.0 GiB, 2.0 GiB free (keeping 1.0 GiB reserved)',
    },
  ]
  for (const { name, freeBytes, neededBytes, reserveBytes, message } of cases) {
    void it(name, TIMEOUT, async () => {
      const check = ensureFreeSpace('/data', neededBytes, reserveBytes, measure(freeBytes))
      if (message === undefined) await check
      else await assert.rejects(check, (error) => isDamselflyError(error, 'NO_SPACE') && error.message === message)
    })
  }
})
