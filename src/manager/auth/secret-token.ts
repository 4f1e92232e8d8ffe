import { createHash, randomBytes } from 'node:crypto'

/**
 * What a bearer token is: a session's or a personal access token. The prefix tells the manager
 * which table to look in, and lets secret scanners recognise a leaked token.
 */
export const TOKEN_PREFIXES = { session: 'dfs_', pat: 'dfp_' } as const
export type TokenKind = keyof typeof TOKEN_PREFIXES

/** 256 random bits: not guessable, so a plain sha256 is enough to store it (no salt, no slow hash). */
export function newSecretToken(kind: TokenKind): { token: string; hash: string } {
  const token = `${TOKEN_PREFIXES[kind]}${randomBytes(32).toString('base64url')}`
  return { token, hash: hashToken(token) }
}

/** The sha256 hex the database keeps in place of a token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Which kind a presented token claims to be; undefined for anything else. */
export function tokenKind(token: string): TokenKind | undefined {
  if (token.startsWith(TOKEN_PREFIXES.session)) return 'session'
  if (token.startsWith(TOKEN_PREFIXES.pat)) return 'pat'
  return undefined
}
