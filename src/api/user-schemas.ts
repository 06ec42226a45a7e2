import { Type } from '@sinclair/typebox';
import { iso } from '../domain/presenters.js';
import { passwordLimits } from '../domain/passwords.js';
import type * as contract from '../domain/contract/index.js';
import type { User } from '../storage/ports.js';

/** The request schemas of the sign-in and user routes (v1-auth.ts, v1-users.ts); their answers are in domain/contract/users.ts. */

/** An email as given: surrounding spaces are trimmed and it is lowercased before use. */
export const EmailSchema = Type.String({ minLength: 3, maxLength: 254, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' });
export const NewPassword = Type.String({ minLength: passwordLimits.minLength, maxLength: passwordLimits.maxLength, description: `${passwordLimits.minLength}–${passwordLimits.maxLength} characters` });
export const NameSchema = Type.String({ maxLength: 200 });

export function presentUser(u: User): contract.User {
  return { id: u.id, email: u.email, name: u.name, role: u.role, created_at: iso(u.createdAt) };
}
