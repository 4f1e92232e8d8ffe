import { z } from 'zod'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { SessionsRepository } from '../db/sessions-repository.js'
import type { SigninService } from '../auth/signin-service.js'
import { toRfc3339 } from './input-schemas.js'
import { defineRoute, publicAccess, type Route } from './route.js'
import { clearSessionCookie, setSessionCookie } from './session-cookie.js'

const signinBody = z.object({
  name: z.string().min(1).max(255),
  password: z.string().min(1).max(1024),
})

/** Sign-in and sign-out (Dragonfly's routes and shapes): a session token in the body and in a cookie. */
export function sessionRoutes(components: { signin: SigninService; sessions: SessionsRepository; sessionTtlMs: number }): Route[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/users/signin',
      summary: 'Sign in with a name and password; answers a session token and sets the session cookie',
      access: publicAccess('user'),
      body: signinBody,
      handler: async ({ body, request, reply, auditAs }) => {
        auditAs('anonymous', body.name)
        const session = await components.signin.signin(body.name, body.password, request.ip).catch((error: unknown) => {
          if (error instanceof DamselflyError && error.code === 'TOO_MANY_REQUESTS') void reply.header('retry-after', String(Math.ceil(components.signin.windowMs / 1000)))
          throw error
        })
        auditAs('user', session.user.name)
        setSessionCookie(request, reply, session.token, components.sessionTtlMs)
        return { token: session.token, expire: toRfc3339(session.expiresAtMs) }
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/users/signout',
      summary: 'End the session the request presents and clear the cookie',
      access: publicAccess('user'),
      beforePasswordChange: true,
      status: 204,
      handler: async ({ principal, request, reply }) => {
        if (principal.kind === 'user') await components.sessions.delete(principal.sessionHash)
        clearSessionCookie(request, reply)
      },
    }),
  ]
}
