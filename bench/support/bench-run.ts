import { ChildProcesses } from './child-processes.js'

/**
 * What one bench run holds, released once whether the run ends, fails or is interrupted: the
 * children first, then every held resource in reverse order, then the work directory.
 */
export class BenchRun {
  readonly children = new ChildProcesses()
  work: { path: string; remove: () => Promise<void> } | undefined
  private readonly held: Array<() => Promise<void>> = []
  private released: Promise<void> | undefined

  /** Keeps `resource` until {@link BenchRun.release}, which then calls `release` on it; returns it. */
  hold<T>(resource: T, release: (resource: T) => Promise<void>): T {
    this.held.push(() => release(resource))
    return resource
  }

  /** On SIGINT or SIGTERM, says so, releases everything and exits 130. */
  releaseOnSignals(): void {
    const interrupted = (signal: NodeJS.Signals): void => {
      console.error(`\n${signal}: stopping children and removing temp files`)
      void this.release().finally(() => process.exit(130))
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      await this.children.stopAll()
      for (const release of this.held.reverse()) await release()
      await this.work?.remove()
    })()
    return this.released
  }
}
