import assert from 'node:assert/strict'
import { appendFile, chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import type { Clock } from '../common/clock.js'
import { silentLogger } from '../common/logger.js'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import type { ContentStore, StoredTask } from './content-store.js'
import { completeTask, contentStoreContract, readRange, testContent, testDescriptor, testTaskId, writeTestPiece } from './content-store.contract.js'
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

/** Permission bits of a file. */
async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

async function storedSeal(metadataPath: string): Promise<unknown> {
  return (JSON.parse(await readFile(metadataPath, 'utf8')) as { contentSeal?: unknown }).contentSeal
}

/**
 * How a user holding a hard link to a complete task's content file may change it. The file is made
 * writable first, as its owner could, so the change also happens when the tests do not run as root.
 */
const TAMPERINGS: Record<string, (path: string) => Promise<void>> = {
  'a byte appended': async (path) => {
    await chmod(path, 0o644)
    await appendFile(path, 'x')
  },
  'a byte rewritten in place': async (path) => {
    const before = await stat(path)
    await chmod(path, 0o644)
    const handle = await open(path, 'r+')
    try {
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, 10)
      byte[0] = (byte[0] ?? 0) ^ 0xff
      await handle.write(byte, 0, 1, 10)
    } finally {
      await handle.close()
    }
    // Set apart explicitly: a coarse file system clock may leave the write's time equal to the seal's.
    const laterSeconds = before.mtimeMs / 1000 + 5
    await utimes(path, laterSeconds, laterSeconds)
    assert.equal((await stat(path)).size, before.size)
  },
  'the file removed': (path) => rm(path),
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

  it('writes a task\'s content file one write at a time, however many pieces arrive at once', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    // Every FileHandle shares one prototype: count the vectored writes under way, each held a turn of the loop.
    const probe = await open(join(dataDir, 'probe'), 'w')
    const prototype = Object.getPrototypeOf(probe) as { writev: (...args: unknown[]) => Promise<unknown> }
    await probe.close()
    const writev = prototype.writev
    let underWay = 0
    let mostUnderWay = 0
    prototype.writev = async function (this: unknown, ...args: unknown[]) {
      mostUnderWay = Math.max(mostUnderWay, ++underWay)
      try {
        await new Promise((resolve) => setImmediate(resolve))
        return await writev.apply(this, args)
      } finally {
        underWay--
      }
    }
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      await Promise.all([0, 1, 2, 3, 4].map((number) => writeTestPiece(task, content, number)))
      await task.finish()
      assert.equal(mostUnderWay, 1)
      assert.deepEqual(await readFile(taskPaths(dataDir, testTaskId('a')).content), content)
    } finally {
      prototype.writev = writev
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
      assert.deepEqual(await readRange(loaded, 0, 4499), content)
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
      assert.deepEqual(await readRange(loaded!, 2000, 2999), content.subarray(2000, 3000))
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

  for (const [change, tamper] of Object.entries(TAMPERINGS)) {
    for (const restart of [false, true]) {
      it(`tells that a complete task's content changed: ${change}${restart ? ', after a restart' : ''}`, TIMEOUT, async () => {
        const { dataDir, openStore, cleanup } = await fixture()
        try {
          const store = await openStore()
          let task: StoredTask | undefined = await completeTask(store, 'a', content)
          if (restart) {
            await store.close()
            task = (await openStore()).get(testTaskId('a'))
          }
          assert.ok(task)
          assert.equal(await task.contentIntact(), true)
          await tamper(taskPaths(dataDir, testTaskId('a')).content)
          assert.equal(await task.contentIntact(), false)
        } finally {
          await cleanup()
        }
      })
    }
  }

  it('keeps everything it stores readable by the daemon\'s user only', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const paths = taskPaths(dataDir, testTaskId('p'))
      const task = await store.create(testDescriptor('p'))
      await writeTestPiece(task, content, 0)
      for (const dir of [dataDir, dirname(paths.content), dirname(paths.metadata)]) assert.equal(await modeOf(dir), 0o700, dir)
      for (const file of [paths.content, paths.metadata, paths.journal]) assert.equal(await modeOf(file), 0o600, file)
      for (const number of [1, 2, 3, 4]) await writeTestPiece(task, content, number)
      await task.finish()
      assert.equal(await modeOf(paths.content), 0o400)
      assert.equal(await modeOf(paths.metadata), 0o600)
      await store.close()
    } finally {
      await cleanup()
    }
  })

  it('makes a complete task\'s content file read-only and records its size and modification time', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const paths = taskPaths(dataDir, testTaskId('a'))
      const task = await store.create(testDescriptor('a'))
      for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(task, content, number)
      assert.notEqual((await modeOf(paths.content)) & 0o200, 0, 'writable while incomplete')
      assert.equal(await storedSeal(paths.metadata), undefined)
      await task.finish()
      assert.equal(await modeOf(paths.content), 0o400)
      const seal = { sizeBytes: content.length, mtimeMs: (await stat(paths.content)).mtimeMs }
      assert.deepEqual(await storedSeal(paths.metadata), seal)
      await task.recordVerifiedDigest(`sha256:${'0'.repeat(64)}`)
      await store.close()
      const reopened = await openStore()
      assert.deepEqual(await storedSeal(paths.metadata), seal)
      assert.deepEqual(await readRange(reopened.get(testTaskId('a'))!, 0, 4499), content)
      assert.equal(await reopened.delete(testTaskId('a')), true)
      await assert.rejects(stat(paths.content), { code: 'ENOENT' })
    } finally {
      await cleanup()
    }
  })

  it('checks a task finished before seals were recorded by its length only', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      await completeTask(await openStore(), 'a', content)
      const paths = taskPaths(dataDir, testTaskId('a'))
      const { contentSeal, ...older } = JSON.parse(await readFile(paths.metadata, 'utf8')) as { contentSeal?: unknown }
      assert.ok(contentSeal)
      await writeFile(paths.metadata, JSON.stringify(older))
      const task = (await openStore()).get(testTaskId('a'))
      assert.ok(task)
      assert.equal(task.complete, true)
      await utimes(paths.content, 1_000_000, 1_000_000)
      assert.equal(await task.contentIntact(), true, 'a changed modification time alone goes unnoticed')
      await appendFile(paths.content, 'x')
      assert.equal(await task.contentIntact(), false)
    } finally {
      await cleanup()
    }
  })

  it('holds content of 0 bytes intact while no bytes are there, with or without a file', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const empty = await completeTask(store, 'empty', Buffer.alloc(0))
      const emptyPaths = taskPaths(dataDir, testTaskId('empty'))
      assert.equal(await modeOf(emptyPaths.content), 0o400)
      const later = Date.now() / 1000 + 5
      await utimes(emptyPaths.content, later, later)
      assert.equal(await empty.contentIntact(), true, 'an empty file has no bytes to change')
      await rm(emptyPaths.content)
      assert.equal(await empty.contentIntact(), true)
      await writeFile(emptyPaths.content, 'x')
      assert.equal(await empty.contentIntact(), false)

      const fileless = await store.create(testDescriptor('fileless', { contentLengthBytes: 0 }))
      const filelessPaths = taskPaths(dataDir, testTaskId('fileless'))
      await rm(filelessPaths.content)
      await fileless.finish()
      assert.equal(fileless.complete, true)
      assert.equal(await storedSeal(filelessPaths.metadata), undefined)
      assert.equal(await fileless.contentIntact(), true)
    } finally {
      await cleanup()
    }
  })

  it('refuses to finish a task whose content file is gone', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(task, content, number)
      await rm(taskPaths(dataDir, testTaskId('a')).content)
      await assert.rejects(task.finish(), (error) => isDamselflyError(error, 'STORAGE_FAILED'))
      assert.equal(task.complete, false)
    } finally {
      await cleanup()
    }
  })

  it('leaves a task created anew while the old one finished writable and incomplete', TIMEOUT, async () => {
    const { dataDir, openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const paths = taskPaths(dataDir, testTaskId('a'))
      const old = await store.create(testDescriptor('a'))
      for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(old, content, number)
      const finishing = old.finish().then(() => undefined, (error: unknown) => error)
      const renewed = await store.create(testDescriptor('a', { etag: '"v2"' }))
      const failure = await finishing
      assert.ok(failure === undefined || isDamselflyError(failure, 'TASK_NOT_FOUND'), 'finishing a replaced task fails only because it is gone')
      assert.notEqual((await modeOf(paths.content)) & 0o200, 0)
      const metadata = JSON.parse(await readFile(paths.metadata, 'utf8')) as { complete: boolean; descriptor: { etag: string } }
      assert.deepEqual([metadata.complete, metadata.descriptor.etag], [false, '"v2"'])
      for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(renewed, content, number)
      await renewed.finish()
      assert.equal(await renewed.contentIntact(), true)
      assert.deepEqual(await readFile(paths.content), content)
    } finally {
      await cleanup()
    }
  })

  it('on close, waits for writes under way, records no piece after it, and refuses later writes', TIMEOUT, async () => {
    const { openStore, cleanup } = await fixture()
    try {
      const store = await openStore()
      const task = await store.create(testDescriptor('a'))
      await writeTestPiece(task, content, 4)
      const writes = Promise.allSettled([0, 1, 2].map((number) => writeTestPiece(task, content, number)))
      await store.close()
      // A piece still being written when the store closed fails; one whose record was under way is kept.
      const settled = await writes
      for (const result of settled) if (result.status === 'rejected') assert.ok(isDamselflyError(result.reason, 'SHUTTING_DOWN'))
      const recorded = [4, ...[0, 1, 2].filter((number) => settled[number]?.status === 'fulfilled')].sort()
      await assert.rejects(writeTestPiece(task, content, 3), (error) => isDamselflyError(error, 'SHUTTING_DOWN'))
      await assert.rejects(store.create(testDescriptor('b')), (error) => isDamselflyError(error, 'SHUTTING_DOWN'))
      const reopened = (await openStore()).get(testTaskId('a'))
      assert.deepEqual([...(reopened?.pieces() ?? [])].map((piece) => piece.number).sort(), recorded)
    } finally {
      await cleanup()
    }
  })
})
