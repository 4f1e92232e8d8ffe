import { lstat, mkdir, realpath } from 'node:fs/promises'
import { isAbsolute, join, relative, sep } from 'node:path'
import { DamselflyError } from '../../protocol/damselfly-error.js'

/** Longest `output_path` taken, in UTF-16 code units (Linux's PATH_MAX is 4096 bytes). */
export const MAX_OUTPUT_PATH_LENGTH = 4096

function refuse(message: string, cause?: unknown): DamselflyError {
  return new DamselflyError('OUTPUT_INVALID', message, cause === undefined ? {} : { cause })
}

function within(root: string, path: string): boolean {
  const rest = relative(root, path)
  return rest === '' || (!rest.startsWith(`..${sep}`) && rest !== '..' && !isAbsolute(rest))
}

/**
 * Where a manager's download writes its content: `relativePath` under `outputDir`, with the
 * directories on the way created (mode 0o755) when missing. Refuses with OUTPUT_INVALID, before
 * anything is fetched, when `outputDir` is empty (writing to paths is off), does not exist or is
 * no directory, and when the path is empty, absolute, too long, holds a NUL, a `..` segment or
 * names a directory (`.`, a trailing `/`), or when an existing directory on the way resolves
 * (symbolic links followed) outside `outputDir`. The file itself may be a symbolic link: the
 * content is renamed over the link, never written through it. Safe to repeat.
 *
 * A directory swapped for a link between this check and the rename is not caught: whoever may
 * write inside `outputDir` is trusted that far.
 */
export async function resolveOutputPath(outputDir: string, relativePath: string): Promise<string> {
  if (outputDir === '') throw refuse('writing to paths is off on this host: set distribution.outputDir')
  if (relativePath === '') throw refuse('the output path is empty')
  if (relativePath.length > MAX_OUTPUT_PATH_LENGTH) throw refuse(`the output path is longer than ${MAX_OUTPUT_PATH_LENGTH} characters`)
  if (relativePath.includes('\0')) throw refuse('the output path contains a NUL character')
  if (isAbsolute(relativePath)) throw refuse(`the output path ${JSON.stringify(relativePath)} is absolute; it must be relative to distribution.outputDir`)
  const segments = relativePath.split('/')
  if (segments.includes('..')) throw refuse(`the output path ${JSON.stringify(relativePath)} has a .. segment`)
  const name = segments.pop()
  if (name === undefined || name === '' || name === '.') throw refuse(`the output path ${JSON.stringify(relativePath)} names a directory, not a file`)
  let root: string
  try {
    root = await realpath(outputDir)
    if (!(await lstat(root)).isDirectory()) throw refuse(`distribution.outputDir ${outputDir} is not a directory`)
  } catch (error) {
    if (error instanceof DamselflyError) throw error
    throw refuse(`distribution.outputDir ${outputDir} cannot be used: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, error)
  }
  let dir = root
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue
    const next = join(dir, segment)
    const found = await lstat(next).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw refuse(`cannot inspect ${next}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, error)
    })
    if (found === undefined) {
      try {
        await mkdir(next, { mode: 0o755 })
      } catch (error) {
        // Another download may have created it meanwhile; it is checked as an existing one below.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw refuse(`cannot create ${next}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, error)
      }
    }
    const resolved = await realpath(next).catch((error: unknown) => {
      throw refuse(`cannot resolve ${next}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, error)
    })
    if (!within(root, resolved)) throw refuse(`the output path ${JSON.stringify(relativePath)} leaves distribution.outputDir through ${next}`)
    if (!(await lstat(resolved)).isDirectory()) throw refuse(`${next} on the output path is not a directory`)
    dir = resolved
  }
  return join(dir, name)
}
