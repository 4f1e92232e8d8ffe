/** A textarea's entries, one a line: trimmed, blank lines dropped. */
export function linesOf(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '')
}
