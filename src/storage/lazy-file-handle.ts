import { open, type FileHandle } from 'node:fs/promises'

/** A file this store creates is readable by the daemon's user only. */
const FILE_MODE = 0o600

interface Generation {
  readonly handle: Promise<FileHandle>
  readonly users: Set<Promise<unknown>>
}

/**
 * A file handle opened on first use and kept for later ones. `close()` detaches it at once, so a
 * later use opens a fresh one, and closes it once the uses already under way have settled.
 */
export class LazyFileHandle {
  private current: Generation | undefined

  constructor(private readonly init: { path: string; flags: string; handle?: FileHandle }) {
    if (init.handle !== undefined) this.current = { handle: Promise.resolve(init.handle), users: new Set() }
  }

  async use<T>(operation: (handle: FileHandle) => Promise<T>): Promise<T> {
    const generation = this.current ?? this.openGeneration()
    const run = generation.handle.then(operation)
    generation.users.add(run)
    try {
      return await run
    } finally {
      generation.users.delete(run)
    }
  }

  async close(): Promise<void> {
    const generation = this.current
    if (generation === undefined) return
    this.current = undefined
    await Promise.allSettled(generation.users)
    // A handle that failed to open was reported to the use that asked for it; nothing to close.
    const handle = await generation.handle.catch(() => undefined)
    await handle?.close()
  }

  private openGeneration(): Generation {
    const generation: Generation = { handle: open(this.init.path, this.init.flags, FILE_MODE), users: new Set() }
    this.current = generation
    generation.handle.catch(() => {
      // Forget a failed open so the next use tries again.
      if (this.current === generation) this.current = undefined
    })
    return generation
  }
}
