import { Type } from '@sinclair/typebox';
import { iso } from '../domain/presenters.js';
import { passwordLimits } from '../domain/passwords.js';
import type { User } from '../storage/ports.js';

/** The schemas of the sign-in and user routes (v1-auth.ts, v1-users.ts), request and response. */
export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('admin')], { description: 'viewer: reads everything (as a read key); admin: also changes things' });

export const UserSchema = Type.Object({
  id: Type.String({ description: 'usr_…' }),
  email: Type.String({ description: 'trimmed and lowercased' }),
  name: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  created_at: Type.String({ format: 'date-time' }),
});

export const SessionAnswer = Type.Object({
  user: UserSchema,
  expires_at: Type.String({ format: 'date-time', description: 'when the session ends at the latest (it also ends after SWITCHBOARD_SESSION_IDLE_MIN unused)' }),
});

/** An email as given: surrounding spaces are trimmed and it is lowercased before use. */
export const EmailSchema = Type.String({ minLength: 3, maxLength: 254, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' });
export const NewPassword = Type.String({ minLength: passwordLimits.minLength, maxLength: passwordLimits.maxLength, description: `${passwordLimits.minLength}–${passwordLimits.maxLength} characters` });
export const NameSchema = Type.String({ maxLength: 200 });

export const ErrorAnswer = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true });

export function presentUser(u: User) {
  return { id: u.id, email: u.email, name: u.name, role: u.role, created_at: iso(u.createdAt) };
}
