/** One byte range, both ends inclusive, within content of a known length. */
export interface InclusiveRange {
  readonly start: number
  readonly end: number
}

/**
 * Parses a single-range `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a content
 * length. Returns undefined when there is no usable header (answer with the whole content, as
 * RFC 9110 allows for multiple or malformed ranges) and 'unsatisfiable' when the range lies
 * outside the content (answer 416).
 */
export function parseRangeHeader(header: string | undefined, contentLengthBytes: number): InclusiveRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || contentLengthBytes === 0) return 'unsatisfiable'
    return { start: Math.max(0, contentLengthBytes - suffix), end: contentLengthBytes - 1 }
  }
  const start = Number(first)
  const end = last === '' ? contentLengthBytes - 1 : Math.min(Number(last), contentLengthBytes - 1)
  // Compared exactly: past 2^53 neighbouring positions are the same double.
  if (last !== '' && BigInt(last) < BigInt(first)) return undefined
  if (start >= contentLengthBytes) return 'unsatisfiable'
  return { start, end }
}

export function contentRange(range: InclusiveRange, contentLengthBytes: number): string {
  return `bytes ${range.start}-${range.end}/${contentLengthBytes}`
}
