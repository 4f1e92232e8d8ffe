import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

/** First line of every file Damselfly writes, so undo knows what is its own. */
export const MARKER = '# written by damselfly config; undo with: damselfly config <runtime> --undo'
const BACKUP_SUFFIX = '.damselfly-backup'

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(() => true, () => false)
}

/**
 * Writes a runtime's config file atomically, keeping the file it replaces as `<path>.damselfly-backup`
 * (once: a second write keeps the original backup). Returns what happened, for the user.
 */
export async function writeManaged(path: string, content: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true })
  const backup = `${path}${BACKUP_SUFFIX}`
  let note = `wrote ${path}`
  if ((await exists(path)) && !(await exists(backup))) {
    await copyFile(path, backup)
    note += ` (the previous file is kept as ${backup})`
  }
  const temp = `${path}.damselfly-tmp`
  await writeFile(temp, content, { mode: 0o644 })
  await rename(temp, path)
  return note
}

/** Undoes {@link writeManaged}: restores the backup, or removes the file when there was none before. */
export async function undoManaged(path: string): Promise<string> {
  const backup = `${path}${BACKUP_SUFFIX}`
  if (await exists(backup)) {
    await rename(backup, path)
    return `restored ${path} from ${backup}`
  }
  if (!(await exists(path))) return `nothing to undo at ${path}`
  await rm(path)
  return `removed ${path}`
}
