// Pure: the console's forms import this through the API's schemas.

/** Dragonfly's words for a user who may sign in and one who may not. */
export const USER_STATES = ['enable', 'disable'] as const
export type UserState = (typeof USER_STATES)[number]
