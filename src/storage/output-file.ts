import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { copyFile, link, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { DamselflyError } from '../protocol/damselfly-error.js'

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  switch (code) {
    case 'EROFS':
      return 'read-only file system'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOSPC':
      return 'no space left on device'
    default:
      return code ?? (error as Error).message
  }
}

/**
 * The output of one download: written to a temporary file beside the target and renamed over it
 * only when the download succeeded, so a failure never leaves a partial file at the target path.
 * dfget writes its `--output` with it, and the daemon the `output_path` of a manager's download.
 */
export class OutputFile {
  private constructor(
    readonly path: string,
    readonly tempPath: string,
  ) {}

  /**
   * Checks the target and creates the temporary file, failing with OUTPUT_INVALID naming the
   * problem. `writer` names the temporary file (`.<name>.<writer>-<random>`), so a leftover says who left it.
   */
  static async prepare(target: string, overwrite: boolean, writer = 'dfget'): Promise<OutputFile> {
    const path = resolve(target)
    const dir = dirname(path)
    const dirStat = await stat(dir).catch(() => undefined)
    if (dirStat === undefined) throw new DamselflyError('OUTPUT_INVALID', `output directory ${dir} does not exist`)
    if (!dirStat.isDirectory()) throw new DamselflyError('OUTPUT_INVALID', `output directory ${dir} is not a directory`)
    const existing = await stat(path).catch(() => undefined)
    if (existing?.isDirectory()) throw new DamselflyError('OUTPUT_INVALID', `output path ${path} is a directory`)
    if (existing !== undefined && !overwrite) throw new DamselflyError('OUTPUT_INVALID', `output file ${path} exists (use --overwrite to replace it)`)
    const tempPath = join(dir, `.${basename(path)}.${writer}-${randomBytes(4).toString('hex')}`)
    try {
      const handle = await open(tempPath, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644)
      await handle.close()
    } catch (cause) {
      throw new DamselflyError('OUTPUT_INVALID', `cannot write to output directory ${dir}: ${reason(cause)}`, { cause })
    }
    return new OutputFile(path, tempPath)
  }

  /**
   * Makes the temporary file the daemon's stored content: a hard link where the file system allows
   * (no byte copied, no space used), else a copy (a clone where supported). False when neither works.
   */
  async adopt(contentPath: string): Promise<boolean> {
    await rm(this.tempPath, { force: true })
    try {
      await link(contentPath, this.tempPath)
      return true
    } catch {
      // Another file system, or a store this user may not link: try a copy.
    }
    try {
      await copyFile(contentPath, this.tempPath, constants.COPYFILE_FICLONE)
      return true
    } catch {
      return false
    }
  }

  async commit(): Promise<void> {
    try {
      await rename(this.tempPath, this.path)
    } catch (cause) {
      throw new DamselflyError('OUTPUT_INVALID', `cannot move the download to ${this.path}: ${reason(cause)}`, { cause })
    }
  }

  async discard(): Promise<void> {
    await rm(this.tempPath, { force: true })
  }

  /** Wraps a write failure of the temporary file in a one-line error. */
  writeError(cause: unknown): DamselflyError {
    return new DamselflyError('OUTPUT_INVALID', `cannot write ${this.path}: ${reason(cause)}`, { cause })
  }
}
