import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Clock } from '../common/clock.js'
import { createLogger, silentLogger } from '../common/logger.js'
import { testDescriptor, testTaskId } from './content-store.contract.js'
import type { DiskSpace } from './disk-space.js'
import { GarbageCollector, type EvictionReason, type GarbageCollectorInit } from './garbage-collector.js'
import { MemoryContentStore } from './memory-content-store.js'
import { writeWholePiece } from './piece-writer.js'

const TIMEOUT = { timeout: 5_000 }
const NOW_MS = 1_700_000_000_000
const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

interface TaskSpec {
  readonly label: string
  readonly bytes: number
  readonly accessedAgoMs: number
  readonly inUse?: boolean
  readonly incomplete?: boolean
}

function fakeClock(): Clock & { nowMsValue: number } {
  return { nowMsValue: NOW_MS, nowMs() { return this.nowMsValue }, sleep: () => Promise.resolve() }
}

/** A store holding `tasks`, each last accessed `accessedAgoMs` before NOW_MS, and a collector over it whose disk never changes, as a lagging statfs. */
async function setup(tasks: readonly TaskSpec[], options: { disk?: DiskSpace; init?: Partial<GarbageCollectorInit>; lines?: unknown[] } = {}) {
  const clock = fakeClock()
  const store = new MemoryContentStore({ logger: silentLogger(), clock })
  await store.open()
  for (const spec of tasks) {
    clock.nowMsValue = NOW_MS - spec.accessedAgoMs
    const task = await store.create(testDescriptor(spec.label, { contentLengthBytes: spec.bytes, pieceLengthBytes: spec.bytes }))
    const bytes = Buffer.alloc(spec.bytes, spec.label)
    await writeWholePiece(task, 0, [bytes])
    if (spec.incomplete !== true) await task.finish()
    if (spec.inUse === true) task.acquire()
  }
  clock.nowMsValue = NOW_MS
  const evicted: Array<[EvictionReason, number]> = []
  const lines = options.lines
  const logger = lines === undefined ? silentLogger() : createLogger({ level: 'info', name: 'test', destination: { write: (line: string) => lines.push(JSON.parse(line)) } })
  const disk = options.disk ?? { totalBytes: 10_000, freeBytes: 9_000 }
  const gc = new GarbageCollector(
    { store, clock, logger, diskSpace: () => Promise.resolve(disk), onEvict: (reason, bytes) => evicted.push([reason, bytes]) },
    { dataDir: '/data', intervalMs: MINUTE_MS, taskTtlMs: HOUR_MS, highThresholdPercent: 80, lowThresholdPercent: 60, ...options.init },
  )
  return { store, gc, clock, evicted }
}

function labelsOf(tasks: readonly TaskSpec[]): Map<string, string> {
  return new Map(tasks.map((task) => [testTaskId(task.label), task.label]))
}

/** `[label, reason]` of every 'task evicted' log line, in order. */
function evictionsLogged(lines: readonly unknown[], labels: Map<string, string>): Array<[string | undefined, unknown]> {
  return (lines as Array<{ msg?: unknown; taskId?: unknown; reason?: unknown }>)
    .filter((line) => line.msg === 'task evicted')
    .map((line) => [labels.get(String(line.taskId)), line.reason])
}

const FOUR_TASKS: readonly TaskSpec[] = [
  { label: 'd', bytes: 1000, accessedAgoMs: 20 * MINUTE_MS },
  { label: 'a', bytes: 1000, accessedAgoMs: 50 * MINUTE_MS },
  { label: 'c', bytes: 1000, accessedAgoMs: 30 * MINUTE_MS },
  { label: 'b', bytes: 1000, accessedAgoMs: 40 * MINUTE_MS },
]

const PASS_CASES: ReadonlyArray<{
  name: string
  tasks: readonly TaskSpec[]
  disk?: DiskSpace
  init?: Partial<GarbageCollectorInit>
  evicted: ReadonlyArray<readonly [string, EvictionReason]>
}> = [
  {
    name: 'evicts tasks not accessed within the TTL, complete or not, oldest first',
    tasks: [
      { label: 'fresh', bytes: 100, accessedAgoMs: 59 * MINUTE_MS },
      { label: 'stale-partial', bytes: 100, accessedAgoMs: 2 * HOUR_MS, incomplete: true },
      { label: 'stale', bytes: 100, accessedAgoMs: 3 * HOUR_MS },
    ],
    evicted: [['stale', 'ttl'], ['stale-partial', 'ttl']],
  },
  {
    name: 'never evicts a task in use, even past its TTL',
    tasks: [{ label: 'held', bytes: 100, accessedAgoMs: 5 * HOUR_MS, inUse: true }],
    evicted: [],
  },
  {
    name: 'leaves the disk alone at or below the high threshold',
    tasks: FOUR_TASKS,
    disk: { totalBytes: 10_000, freeBytes: 2_000 },
    evicted: [],
  },
  {
    name: 'above the high threshold evicts least recently used down to the low one',
    tasks: FOUR_TASKS,
    disk: { totalBytes: 10_000, freeBytes: 1_000 },
    evicted: [['a', 'disk-usage'], ['b', 'disk-usage'], ['c', 'disk-usage']],
  },
  {
    name: 'skips a task in use when evicting for disk usage',
    tasks: FOUR_TASKS.map((task) => (task.label === 'b' ? { ...task, inUse: true } : task)),
    disk: { totalBytes: 10_000, freeBytes: 1_000 },
    evicted: [['a', 'disk-usage'], ['c', 'disk-usage'], ['d', 'disk-usage']],
  },
  {
    name: 'counts what the TTL freed before evicting for disk usage',
    tasks: [...FOUR_TASKS, { label: 'stale', bytes: 1000, accessedAgoMs: 2 * HOUR_MS }],
    disk: { totalBytes: 10_000, freeBytes: 500 },
    evicted: [['stale', 'ttl'], ['a', 'disk-usage'], ['b', 'disk-usage'], ['c', 'disk-usage']],
  },
  {
    name: 'treats the quota as a disk: above high percent of it, evicts down to low percent',
    tasks: [...FOUR_TASKS, { label: 'e', bytes: 1000, accessedAgoMs: 10 * MINUTE_MS }],
    init: { quotaBytes: 5_000 },
    evicted: [['a', 'quota'], ['b', 'quota']],
  },
  {
    name: 'leaves a store within its quota alone',
    tasks: FOUR_TASKS,
    init: { quotaBytes: 5_000 },
    evicted: [],
  },
]

const MAKE_ROOM_CASES: ReadonlyArray<{
  name: string
  tasks: readonly TaskSpec[]
  freeBytes: number
  neededBytes: number
  reserveBytes: number
  made: boolean
  evicted: readonly string[]
}> = [
  { name: 'evicts nothing when there is room', tasks: FOUR_TASKS, freeBytes: 3_000, neededBytes: 2_000, reserveBytes: 1_000, made: true, evicted: [] },
  { name: 'evicts least recently used until there is room', tasks: FOUR_TASKS, freeBytes: 1_000, neededBytes: 1_500, reserveBytes: 500, made: true, evicted: ['a'] },
  { name: 'counts the reserve as needed', tasks: FOUR_TASKS, freeBytes: 1_000, neededBytes: 1_500, reserveBytes: 600, made: true, evicted: ['a', 'b'] },
  {
    name: 'fails when only tasks in use could make room',
    tasks: FOUR_TASKS.map((task) => (task.label === 'd' ? task : { ...task, inUse: true })),
    freeBytes: 0, neededBytes: 1_500, reserveBytes: 0, made: false, evicted: [],
  },
  { name: 'evicts nothing when every unused task together is not enough', tasks: FOUR_TASKS, freeBytes: 1_000, neededBytes: 4_500, reserveBytes: 600, made: false, evicted: [] },
  { name: 'evicts every unused task when exactly that is enough', tasks: FOUR_TASKS, freeBytes: 1_000, neededBytes: 4_400, reserveBytes: 600, made: true, evicted: ['a', 'b', 'c', 'd'] },
]

void describe('GarbageCollector', () => {
  for (const testCase of PASS_CASES) {
    void it(testCase.name, TIMEOUT, async () => {
      const options = { ...(testCase.disk && { disk: testCase.disk }), ...(testCase.init && { init: testCase.init }) }
      const { store, gc, evicted } = await setup(testCase.tasks, options)
      const labels = labelsOf(testCase.tasks)
      const evictions = await gc.runOnce()
      assert.deepEqual(evictions.map((eviction) => [labels.get(eviction.taskId), eviction.reason]), testCase.evicted)
      assert.deepEqual(evicted, evictions.map((eviction) => [eviction.reason, eviction.bytes]))
      const kept = testCase.tasks.filter((task) => !testCase.evicted.some(([label]) => label === task.label))
      assert.deepEqual(store.list().map((task) => labels.get(task.descriptor.taskId)).sort(), kept.map((task) => task.label).sort())
    })
  }

  for (const testCase of MAKE_ROOM_CASES) {
    void it(`makeRoom ${testCase.name}`, TIMEOUT, async () => {
      const lines: unknown[] = []
      const { gc } = await setup(testCase.tasks, { disk: { totalBytes: 10_000, freeBytes: testCase.freeBytes }, lines })
      assert.equal(await gc.makeRoom(testCase.neededBytes, testCase.reserveBytes), testCase.made)
      assert.deepEqual(evictionsLogged(lines, labelsOf(testCase.tasks)), testCase.evicted.map((label) => [label, 'make-room']))
    })
  }

  it('logs one line per eviction', TIMEOUT, async () => {
    const lines: unknown[] = []
    const { gc } = await setup(FOUR_TASKS, { disk: { totalBytes: 10_000, freeBytes: 1_000 }, lines })
    await gc.runOnce()
    const evicted = lines.filter((line) => (line as { msg?: unknown }).msg === 'task evicted') as Array<Record<string, unknown>>
    assert.deepEqual(
      evicted.map(({ taskId, reason, bytes }) => ({ taskId, reason, bytes })),
      ['a', 'b', 'c'].map((label) => ({ taskId: testTaskId(label), reason: 'disk-usage', bytes: 1000 })),
    )
  })

  it('runs on its interval once started and stops cleanly', TIMEOUT, async () => {
    const { store, gc } = await setup([{ label: 'stale', bytes: 100, accessedAgoMs: 2 * HOUR_MS }], { init: { intervalMs: 5 } })
    await gc.start()
    await gc.start()
    while (store.list().length > 0) await new Promise((resolve) => setTimeout(resolve, 5))
    await gc.stop()
    await gc.stop()
  })

  it('refuses thresholds out of order', TIMEOUT, () => {
    const store = new MemoryContentStore({ logger: silentLogger() })
    const init = { dataDir: '/data', intervalMs: 1000, taskTtlMs: 1000, highThresholdPercent: 50, lowThresholdPercent: 60 }
    assert.throws(() => new GarbageCollector({ store, logger: silentLogger() }, init), { code: 'INVALID_ARGUMENT' })
  })
})
