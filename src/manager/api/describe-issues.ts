import type { z } from 'zod'

/**
 * A one-line reason naming the field: `body.scopes.cidrs[0]: must be an address block ...`.
 * Zod only, so the console words a form's problem exactly as the API would.
 */
export function describeIssues(part: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 3).map((issue) => {
    const path = issue.path.map((key) => typeof key === 'number' ? `[${key}]` : `.${String(key)}`).join('')
    return `${part}${path}: ${issue.message}`
  }).join('; ')
}
