/** A registry account, sent as HTTP Basic to the registry or to its token service. */
export interface RegistryCredentials {
  readonly username: string
  readonly password: string
}

const BASIC = /^basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i

/** The `Authorization` value for `credentials`: `Basic base64(username:password)`. */
export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`
}

/** The account an `Authorization: Basic ...` value carries; undefined for any other value or a malformed one. */
export function parseBasicAuthorization(value: string | undefined): RegistryCredentials | undefined {
  const encoded = value === undefined ? undefined : BASIC.exec(value.trim())?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
