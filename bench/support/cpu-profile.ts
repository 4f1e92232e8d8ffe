/** The parts of a V8 `.cpuprofile` (DevTools protocol `Profiler.Profile`) a summary needs. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
    readonly children?: readonly number[]
  }>
  readonly startTime: number
  readonly endTime: number
  readonly samples?: readonly number[]
  readonly timeDeltas?: readonly number[]
}

/** Time spent in one function (or one file), in milliseconds. */
export interface ProfileEntry {
  readonly name: string
  /** Samples whose top frame is this entry. */
  readonly selfMs: number
  /** Samples with this entry anywhere on the stack, each counted once. */
  readonly totalMs: number
}

export interface ProfileSummary {
  readonly profiledMs: number
  /** Samples in `(idle)`: the event loop waiting for I/O. */
  readonly idleMs: number
  readonly functions: readonly ProfileEntry[]
  readonly files: readonly ProfileEntry[]
}

/** `node_modules/<package>` or the path below the repository (`dist/scheduler/task.js`), for reading. */
function shortUrl(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path)
  }
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path
}

/**
 * Self and total time per function and per file (a package counts as one file), heaviest first.
 * Each sample's time is its time delta, so a sampling interval that drifts does not skew it.
 */
export function summarizeProfile(profile: CpuProfile, root: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parentOf = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
  const functionKey = (id: number): string => {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) return '?'
    if (frame.url === '') return frame.functionName || '(anonymous)'
    return `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url, root)}:${frame.lineNumber + 1}`
  }
  const fileKey = (id: number): string => {
    const frame = byId.get(id)?.callFrame
    return frame === undefined || frame.url === '' ? (frame?.functionName ?? '?') : shortUrl(frame.url, root)
  }
  const functions = new Map<string, { self: number; total: number }>()
  const files = new Map<string, { self: number; total: number }>()
  const add = (table: Map<string, { self: number; total: number }>, key: string, self: number, total: number): void => {
    const entry = table.get(key) ?? { self: 0, total: 0 }
    entry.self += self
    entry.total += total
    table.set(key, entry)
  }
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let idleUs = 0
  for (const [i, sample] of samples.entries()) {
    // The delta before sample i+1 is how long sample i's stack was current.
    const us = deltas[i + 1] ?? 0
    if (byId.get(sample)?.callFrame.functionName === '(idle)') idleUs += us
    add(functions, functionKey(sample), us, 0)
    add(files, fileKey(sample), us, 0)
    const seenFunctions = new Set<string>()
    const seenFiles = new Set<string>()
    for (let id: number | undefined = sample; id !== undefined; id = parentOf.get(id)) {
      const fn = functionKey(id)
      const file = fileKey(id)
      if (!seenFunctions.has(fn)) add(functions, fn, 0, us)
      if (!seenFiles.has(file)) add(files, file, 0, us)
      seenFunctions.add(fn)
      seenFiles.add(file)
    }
  }
  const entries = (table: Map<string, { self: number; total: number }>): ProfileEntry[] =>
    [...table].map(([name, { self, total }]) => ({ name, selfMs: self / 1000, totalMs: total / 1000 })).sort((a, b) => b.selfMs - a.selfMs)
  return {
    profiledMs: (profile.endTime - profile.startTime) / 1000,
    idleMs: idleUs / 1000,
    functions: entries(functions),
    files: entries(files),
  }
}
