import { formatBytes } from '../../common/units.js'

/** What a download reports as bytes arrive; the quiet one does nothing. */
export interface Progress {
  /** The bytes done so far, in total. */
  update(completedBytes: number): void
  stop(): void
}

const QUIET: Progress = {
  update: () => undefined,
  stop: () => undefined,
}

/**
 * A bar with size, speed and ETA on a terminal; nothing when stderr is not a TTY or progress is
 * off. The bar library loads only when a bar is shown, to keep dfget's start fast.
 */
export async function createProgress(enabled: boolean, totalBytes: number | undefined): Promise<Progress> {
  if (!enabled || !process.stderr.isTTY) return QUIET
  const { SingleBar } = await import('cli-progress')
  const startedMs = Date.now()
  let done = 0
  const bar = new SingleBar({
    stream: process.stderr,
    format: totalBytes === undefined ? '{done} | {speed}/s' : '[{bar}] {percentage}% | {done}/{size} | {speed}/s | ETA {eta_formatted}',
    barsize: 30,
    hideCursor: true,
    etaBuffer: 50,
    fps: 5,
    clearOnComplete: false,
  })
  const payload = (): Record<string, string> => ({
    done: formatBytes(done),
    size: formatBytes(totalBytes ?? 0),
    speed: formatBytes(Math.round(done / Math.max(0.001, (Date.now() - startedMs) / 1000))),
  })
  bar.start(totalBytes ?? 0, 0, payload())
  let stopped = false
  return {
    update(completedBytes) {
      done = completedBytes
      bar.update(done, payload())
    },
    stop() {
      if (stopped) return
      stopped = true
      bar.update(done, payload())
      bar.stop()
    },
  }
}
