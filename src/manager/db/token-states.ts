// Pure: the console's forms import this through the API's schemas.

/** Dragonfly's words: an `inactive` token is revoked. */
export const TOKEN_STATES = ['active', 'inactive'] as const
export type TokenState = (typeof TOKEN_STATES)[number]
