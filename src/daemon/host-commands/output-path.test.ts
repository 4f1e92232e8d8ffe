import assert from 'node:assert/strict'
import { mkdir, mkdtemp, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { assertRejectsCode } from '../../protocol/damselfly-error-fixtures.js'
import { resolveOutputPath } from './output-path.js'

const TEST = { timeout: 10_000 }

describe('resolveOutputPath', TEST, () => {
  let base: string
  let outputDir: string
  let outside: string

  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'damselfly-output-path-')))
    outputDir = join(base, 'out')
    outside = join(base, 'elsewhere')
    await mkdir(outputDir)
    await mkdir(outside)
    await mkdir(join(outputDir, 'inside'))
    await symlink(outside, join(outputDir, 'escape'))
    await symlink(join(outputDir, 'inside'), join(outputDir, 'alias'))
    await writeFile(join(outputDir, 'a-file'), 'x')
  })
  after(async () => {
    await rm(base, { recursive: true, force: true })
  })

  const refusals: ReadonlyArray<{ name: string; path: string; message: RegExp; dir?: (dirs: { outputDir: string; base: string }) => string }> = [
    { name: 'writing to paths turned off (no outputDir)', path: 'model.bin', message: /writing to paths is off on this host: set distribution\.outputDir/, dir: () => '' },
    { name: 'an outputDir that does not exist', path: 'model.bin', message: /distribution\.outputDir .* cannot be used: ENOENT/, dir: ({ base: root }) => join(root, 'missing') },
    { name: 'an empty path', path: '', message: /the output path is empty/ },
    { name: 'an absolute path', path: '/etc/passwd', message: /is absolute/ },
    { name: 'a .. segment', path: 'inside/../../elsewhere/x', message: /has a \.\. segment/ },
    { name: 'a leading .. segment', path: '../x', message: /has a \.\. segment/ },
    { name: 'a NUL', path: 'model\0.bin', message: /contains a NUL character/ },
    { name: 'a trailing slash', path: 'inside/', message: /names a directory, not a file/ },
    { name: 'a final .', path: 'inside/.', message: /names a directory, not a file/ },
    { name: 'a symbolic link out of outputDir', path: 'escape/model.bin', message: /leaves distribution\.outputDir through .*escape/ },
    { name: 'a file where a directory is needed', path: 'a-file/model.bin', message: /a-file on the output path is not a directory/ },
    { name: 'a path past the length limit', path: 'x'.repeat(4097), message: /longer than 4096 characters/ },
  ]
  for (const { name, path, message, dir } of refusals) {
    it(`refuses ${name} with OUTPUT_INVALID`, TEST, async () => {
      await assertRejectsCode(resolveOutputPath(dir === undefined ? outputDir : dir({ outputDir, base }), path), 'OUTPUT_INVALID', message)
    })
  }

  it('creates nothing outside outputDir when refusing a link escape', TEST, async () => {
    await assertRejectsCode(resolveOutputPath(outputDir, 'escape/deeper/model.bin'), 'OUTPUT_INVALID', /leaves distribution\.outputDir/)
    await assert.rejects(stat(join(outside, 'deeper')), { code: 'ENOENT' })
  })

  const accepted: ReadonlyArray<{ name: string; path: string; expected: string[] }> = [
    { name: 'a file at the top', path: 'model.bin', expected: ['model.bin'] },
    { name: 'nested directories, created', path: 'models/v1/weights.bin', expected: ['models', 'v1', 'weights.bin'] },
    { name: '. and empty segments', path: './models//v2/./weights.bin', expected: ['models', 'v2', 'weights.bin'] },
    { name: 'a symbolic link that stays inside', path: 'alias/model.bin', expected: ['inside', 'model.bin'] },
  ]
  for (const { name, path, expected } of accepted) {
    it(`accepts ${name}`, TEST, async () => {
      const resolved = await resolveOutputPath(outputDir, path)
      assert.equal(resolved, join(outputDir, ...expected))
      assert.ok((await stat(join(resolved, '..'))).isDirectory(), 'the directories on the way exist')
    })
  }

  it('answers the same path when asked again', TEST, async () => {
    assert.equal(await resolveOutputPath(outputDir, 'again/x.bin'), await resolveOutputPath(outputDir, 'again/x.bin'))
  })
})
