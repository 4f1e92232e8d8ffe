import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { api, ApiError, whenUnauthenticated } from '../api/client'
import type { Me, PermissionAction, PermissionObject } from '../api/types'

export interface Session {
  /** The signed-in user; undefined before the first answer and when signed out. */
  readonly me: Me | undefined
  /** True until the manager said whether the cookie holds a session. */
  readonly checking: boolean
  /** Whether the user's roles grant `action` on `object` (`write` includes `read`). Only hides what would be refused: the API decides. */
  readonly can: (object: PermissionObject, action: PermissionAction) => boolean
  readonly isRoot: boolean
  readonly signIn: (name: string, password: string) => Promise<void>
  readonly signOut: () => Promise<void>
  /** Asks the manager again who the user is (after a password change, a role change). */
  readonly refresh: () => Promise<void>
}

/** The signed-in user, or undefined when the cookie holds no session. */
async function whoAmI(): Promise<Me | undefined> {
  try {
    return await api.get('/api/v1/users/me')
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) return undefined
    throw failure
  }
}

const SessionContext = createContext<Session | undefined>(undefined)

export function useSession(): Session {
  const session = useContext(SessionContext)
  if (session === undefined) throw new Error('useSession outside <SessionProvider>')
  return session
}

/** Holds who is signed in. The session itself is the HttpOnly cookie: nothing is stored here. */
export function SessionProvider({ children }: { readonly children: ReactNode }) {
  const [me, setMe] = useState<Me | undefined>(undefined)
  const [checking, setChecking] = useState(true)

  const refresh = useCallback(async () => {
    setMe(await whoAmI())
  }, [])

  useEffect(() => {
    whenUnauthenticated(() => setMe(undefined))
    whoAmI().then(setMe, () => setMe(undefined)).finally(() => setChecking(false))
  }, [])

  const value = useMemo<Session>(() => ({
    me,
    checking,
    can: (object, action) => me?.permissions.some((granted) => granted.object === object && (granted.action === action || granted.action === 'write')) ?? false,
    isRoot: me?.roles.includes('root') ?? false,
    signIn: async (name, password) => {
      await api.post('/api/v1/users/signin', { body: { name, password } })
      await refresh()
    },
    signOut: async () => {
      await api.post('/api/v1/users/signout')
      setMe(undefined)
    },
    refresh,
  }), [me, checking, refresh])

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>
}
