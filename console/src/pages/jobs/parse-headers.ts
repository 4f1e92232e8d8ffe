import { linesOf } from './lines-of'

/**
 * The "Headers" textarea, `Name: value` a line, as the API's `headers` record; the first line
 * without a colon is a problem. Names and values are checked by the API's schema afterwards.
 */
export function parseHeaders(text: string): { readonly headers: Record<string, string> } | { readonly problem: string } {
  const headers: Record<string, string> = {}
  for (const [index, line] of linesOf(text).entries()) {
    const colon = line.indexOf(':')
    if (colon <= 0) return { problem: `Headers: line ${index + 1} must read Name: value` }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return { headers }
}
