import type { z } from 'zod'
import { describeIssues } from '@manager-api/describe-issues'

/**
 * Checks a form's value with the API's own schema for that body: undefined when the API would
 * take it, else the one line the API would answer (`body.name: ...`).
 */
export function problemWith(schema: z.ZodType, value: unknown, part: 'body' | 'query' = 'body'): string | undefined {
  const result = schema.safeParse(value)
  return result.success ? undefined : describeIssues(part, result.error.issues)
}
