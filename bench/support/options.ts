/** What the benches' command lines share. */
import { resolve } from 'node:path'

/** The file whose sections the benches write, unless told another. */
export const DEFAULT_DOC_PATH = resolve(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md')

/** A command-line value that must be a whole number of at least 1; throws naming the flag otherwise. */
export function positiveInteger(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`)
  return value
}

/** The items of a comma-separated value, trimmed, empty ones left out. */
export function commaList(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

/** Whether `name` is one of `names`, narrowing it to their type. */
export function isOneOf<Name extends string>(names: readonly Name[], name: string): name is Name {
  return (names as readonly string[]).includes(name)
}

/** With any problem found in a command line: prints them all above the usage and exits with 2. */
export function exitOnProblems(problems: readonly string[], usage: string): void {
  if (problems.length === 0) return
  console.error(`${problems.join('\n')}\n\n${usage}`)
  process.exit(2)
}

/** {@link commaList}, which must hold at least one item; throws naming the flag otherwise. */
export function nonEmptyCommaList(text: string, flag: string): string[] {
  const items = commaList(text)
  if (items.length === 0) throw new Error(`${flag} needs at least one value`)
  return items
}

/** A command-line number of seconds above 0, in milliseconds; throws naming the flag otherwise. */
export function positiveSecondsAsMs(text: string, flag: string): number {
  const seconds = Number(text)
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${flag} must be a positive number of seconds, got ${text}`)
  return seconds * 1000
}
