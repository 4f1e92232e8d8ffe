import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Credential } from '../auth/authenticator.js'

/** The console's session cookie. */
export const SESSION_COOKIE = 'damselfly_session'

/**
 * The secret a request presents: `Authorization: Bearer`, then HTTP Basic with the token as the
 * password, then `?access_token=` (Dragonfly's Open API accepts it), then the session cookie.
 * Harbor's OAUTH mode sends the first, its BASIC mode the second.
 */
export function credentialOf(request: FastifyRequest): Credential | undefined {
  const authorization = request.headers.authorization
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]
  if (bearer !== undefined) return { token: bearer, from: 'bearer' }
  const basic = authorization === undefined ? undefined : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization)?.[1]
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const separator = decoded.indexOf(':')
    if (separator >= 0 && separator < decoded.length - 1) return { token: decoded.slice(separator + 1), from: 'basic' }
  }
  const query = request.query as Record<string, unknown> | undefined
  const accessToken = query?.['access_token']
  if (typeof accessToken === 'string' && accessToken !== '') return { token: accessToken, from: 'query' }
  const cookie = readCookie(request.headers.cookie, SESSION_COOKIE)
  return cookie === undefined ? undefined : { token: cookie, from: 'cookie' }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

/** HttpOnly so scripts cannot read it, SameSite=Strict so other sites cannot send it, Secure over TLS. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, maxAgeMs: number): void {
  const attributes = [`${SESSION_COOKIE}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(maxAgeMs / 1000)}`]
  if (request.protocol === 'https') attributes.push('Secure')
  void reply.header('set-cookie', attributes.join('; '))
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  const attributes = [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0']
  if (request.protocol === 'https') attributes.push('Secure')
  void reply.header('set-cookie', attributes.join('; '))
}

/**
 * Whether an unsafe request comes from a page of this manager: its Origin (or, failing that,
 * its Referer) names the Host it was sent to. A cross-site form or script cannot forge either.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const host = request.headers.host
  const source = request.headers.origin ?? request.headers.referer
  if (host === undefined || source === undefined) return false
  try {
    // Through URL on both sides, so `Host: localhost:80` and `Origin: http://localhost` agree.
    return new URL(source).host === new URL(`${request.protocol}://${host}`).host
  } catch {
    return false
  }
}
