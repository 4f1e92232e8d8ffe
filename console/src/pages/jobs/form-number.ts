/**
 * A number field's value for the API: undefined when empty, the number when it reads as one,
 * else the text itself, so the API's schema refuses it in its own words.
 */
export function formNumber(text: string): number | string | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  const value = Number(trimmed)
  return Number.isFinite(value) ? value : trimmed
}
