/** A body's fields without the empty ones (`''`, `[]`, undefined): the API reads an absent field as its default. */
export function present(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)))
}
