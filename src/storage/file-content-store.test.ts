import assert from 'node:assert/strict'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import type { Clock } from '../common/clock.js'
import { silentLogger } from '../common/logger.js'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import type { ContentStore } from './content-store.js'
import { contentStoreContract, readAll, testContent, testDescriptor, testTaskId, writeTestPiece } from './content-store.contract.js'
import { FileContentStore } from './file-content-store.js'
import { taskPaths } from './file-layout.js'

const TIMEOUT = { timeout: 10_000 }

function fakeClock(startMs: number): Clock & { nowMsValue: number } {
  return { nowMsValue: startMs, nowMs() { return this.nowMsValue }, sleep: () => Promise.resolve() }
}

/** A data directory and the stores opened on it; `after()` closes them all and removes the directory. */
async function fixture(clock?: Clock): Promise<{ dataDir: string; openStore: () => Promise<FileContentStore>; cleanup: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'damselfly-store-'))
  const stores: FileContentStore[] = []
  return {
    dataDir,
    openStore: async () => {
      const store = new FileContentStore(clock === undefined ? { logger: silentLogger() } : { logger: silentLogger(), clock }, { dataDir })
      stores.push(store)
      await store.open()
      return store
    },
    cleanup: async () => {
      await Promise.all(stores.map((store) => store.close()))
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

contentStoreContract('file', async () => {
  const { openStore, cleanup } = await fixture()
  let current: ContentStore = await openStore()
  return {
    store: current,
    reopen: async () => {
      await current.close()
      current = await openStore()
      return current
    },
    cleanup,
  }
})

void describe('FileContentStore', () => {
  const content = testContent(4500)

  it('keeps content and metadata where the layout says, and folds the journal on completion', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      const paths = taskPaths(dataDir, testTaskId('a'))
      assert.equal(task.contentPath, join(dataDir, 'content', 'tasks', testTaskId('a').slice(0, 3), testTaskId('a')))
      assert.equal(paths.content, task.contentPath)
      for (const number of [1, 0]) await writeTestPiece(task, content, number)
      const lines = (await readFile(paths.journal, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)
      assert.deepEqual(lines, [
        { n: 1, o: 1000, l: 1000, d: task.piece(1)?.digest },
        { n: 0, o: 0, l: 1000, d: task.piece(0)?.digest },
      ])
      for (const number of [2, 3, 4]) await writeTestPiece(task, content, number)
      await task.finish()
      await assert.rejects(stat(paths.journal), { code: 'ENOENT' })
      const metadata = JSON.parse(await readFile(paths.metadata, 'utf8')) as { complete: boolean; pieces: unknown[] }
      assert.equal(metadata.complete, true)
      assert.equal(metadata.pieces.length, 5)
      assert.deepEqual(await readFile(paths.content), content)
    } finally {
      await cleanup()
    }
  })

  it('ignores a torn last journal line', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      for (const number of [0, 1]) await writeTestPiece(task, content, number)
      await store.close()
      await appendFile(taskPaths(dataDir, testTaskId('a')).journal, '{"n":2,"o":2000,"l":10')
      const loaded = (await openStore()).get(testTaskId('a'))
      assert.ok(loaded)
      assert.deepEqual([...loaded.pieces()].map((piece) => piece.number), [0, 1])
      for (const number of [2, 3, 4]) await writeTestPiece(loaded, content, number)
      await loaded.finish()
      assert.deepEqual(await readAll(loaded.createReadStream(0, 4499)), content)
    } finally {
      await cleanup()
    }
  })

  it('resumes what a process that never closed the store had written', TIMEOUT, async () => {
    const { openStore, cleanup } = await fixture()
    try {
      const crashed = await openStore()
      const task = await crashed.create(testDescriptor('a'))
      for (const number of [4, 2]) await writeTestPiece(task, content, number)
      const loaded = (await openStore()).get(testTaskId('a'))
      assert.deepEqual([...(loaded?.pieces() ?? [])].map((piece) => piece.number), [4, 2])
      assert.deepEqual(await readAll(loaded!.createReadStream(2000, 2999)), content.subarray(2000, 3000))
    } finally {
      await cleanup()
    }
  })

  it('drops journaled pieces the content file does not hold, and a complete task missing bytes', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const partial = await store.create(testDescriptor('partial'))
      for (const number of [0, 1, 2]) await writeTestPiece(partial, content, number)
      const complete = await store.create(testDescriptor('complete'))
      for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(complete, content, number)
      await complete.finish()
      await store.close()
      await truncate(taskPaths(dataDir, testTaskId('partial')).content, 2500)
      await truncate(taskPaths(dataDir, testTaskId('complete')).content, 4000)
      const reopened = await openStore()
      assert.deepEqual([...(reopened.get(testTaskId('partial'))?.pieces() ?? [])].map((piece) => piece.number), [0, 1])
      assert.equal(reopened.get(testTaskId('complete')), undefined)
      await assert.rejects(stat(taskPaths(dataDir, testTaskId('complete')).content), { code: 'ENOENT' })
    } finally {
      await cleanup()
    }
  })

  it('removes stray files when it opens', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      await store.create(testDescriptor('kept'))
      await store.close()
      const noContent = taskPaths(dataDir, testTaskId('no-content'))
      const unparseable = taskPaths(dataDir, testTaskId('unparseable'))
      const noMetadata = taskPaths(dataDir, testTaskId('no-metadata'))
      const kept = taskPaths(dataDir, testTaskId('kept'))
      const strays = [
        [noContent.metadata, '{}'], [noContent.journal, ''],
        [unparseable.metadata, '{"version":1,'], [unparseable.content, 'x'],
        [noMetadata.content, 'x'], [noMetadata.journal, ''],
        [kept.metadataTemp, '{}'], [join(dirname(kept.content), 'notes.txt'), 'x'],
        [join(dataDir, 'content', 'tasks', 'zzz', 'file'), 'x'],
      ] as const
      for (const [path, text] of strays) {
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, text)
      }
      const reopened = await openStore()
      assert.deepEqual(reopened.list().map((task) => task.descriptor.taskId), [testTaskId('kept')])
      for (const [path] of strays) await assert.rejects(stat(path), { code: 'ENOENT' }, path)
      assert.deepEqual((await readdir(dirname(kept.metadata))).sort(), [`${testTaskId('kept')}.json`])
    } finally {
      await cleanup()
    }
  })

  it('persists the last access time, at most once a minute', TIMEOUT, async () => {
    const clock = fakeClock(1_700_000_000_000)
    const { openStore, cleanup } = await fixture(clock)
    try {
      await (await openStore()).create(testDescriptor('a'))
      clock.nowMsValue += 120_000
      const store = await openStore()
      assert.equal(store.list()[0]?.lastAccessMs, 1_700_000_000_000)
      const task = store.get(testTaskId('a'))
      task?.touch()
      const persistedMs = clock.nowMsValue
      clock.nowMsValue += 1_000
      task?.touch()
      assert.equal(store.list()[0]?.lastAccessMs, clock.nowMsValue)
      await store.close()
      assert.equal((await openStore()).list()[0]?.lastAccessMs, persistedMs)
    } finally {
      await cleanup()
    }
  })

  it('waits for writes under way on close and refuses later ones', TIMEOUT, async () => {
    const { openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      const writes = Promise.all([0, 1, 2].map((number) => writeTestPiece(task, content, number)))
      await store.close()
      await writes
      await assert.rejects(writeTestPiece(task, content, 3), (error) => isDamselflyError(error, 'SHUTTING_DOWN'))
      await assert.rejects(store.create(testDescriptor('b')), (error) => isDamselflyError(error, 'SHUTTING_DOWN'))
      assert.equal((await openStore()).get(testTaskId('a'))?.finishedPieceCount, 3)
    } finally {
      await cleanup()
    }
  })
})
