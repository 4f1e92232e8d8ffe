/** A command-line value that must be a whole number of at least 1; throws naming the flag otherwise. */
export function positiveInteger(text: string, flag: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got ${JSON.stringify(text)}`)
  return value
}
