/**
 * The fields of `value` that are not undefined: zod leaves absent optional fields as undefined,
 * and inputs typed under `exactOptionalPropertyTypes` refuse them.
 */
export function definedFields<T extends Record<string, unknown>>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}
