import { z } from 'zod'
import { USER_STATES } from '../db/user-states.js'
import { idText, name, newPassword, pagingQuery } from './input-schemas.js'

// The console checks its user forms with these same schemas: nothing here may need Node.

export const email = z.email().max(255)

/** A role named in a user's path; whether it exists is the route's question. */
export const userRoleName = z.string().min(1).max(64)

export const userRoleParams = z.object({ id: idText, role: userRoleName })

/** `GET /api/v1/users`: paging and filters. */
export const usersQuery = pagingQuery.extend({ name: z.string().max(255).optional(), email: z.string().max(255).optional(), state: z.enum(USER_STATES).optional() })

/** `POST /api/v1/users`: the guest role unless roles are given. */
export const newUserBody = z.object({
  name,
  password: newPassword,
  email: email.optional(),
  roles: z.array(userRoleName).max(64).default(['guest']),
  must_change_password: z.boolean().default(false),
})

/** `PATCH /api/v1/users/:id`: one's own email, or (with `user` write) anyone's state. */
export const userPatchBody = z.object({ email: email.optional(), state: z.enum(USER_STATES).optional() })

/** `POST /api/v1/users/:id/reset_password`: `old_password` only when changing one's own. */
export const resetPasswordBody = z.object({ old_password: z.string().max(1024).optional(), new_password: newPassword })
