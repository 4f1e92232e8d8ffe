/** A slice of a listing: skip `offset` rows, return at most `limit`. */
export interface Page {
  readonly offset: number
  readonly limit: number
}

/** One page of rows and how many match in all. */
export interface Paged<T> {
  readonly items: T[]
  readonly total: number
}

/**
 * A LIKE pattern that matches `text` anywhere, with `%`, `_` and the escape character itself
 * escaped by `!`: a backslash means different things in PostgreSQL's and MySQL's string literals.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`
}
