// Pure: the console's audit filters import this through the API's schemas.

/** Who acted: a signed-in user, a personal access token (named after its user), nobody known, or the manager itself. */
export const ACTOR_TYPES = ['user', 'pat', 'anonymous', 'system'] as const
export type ActorType = (typeof ACTOR_TYPES)[number]

/** Whether the audited request succeeded. */
export const AUDIT_STATES = ['success', 'failure'] as const
export type AuditState = (typeof AUDIT_STATES)[number]
