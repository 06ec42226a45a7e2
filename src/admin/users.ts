import { randomBytes } from 'node:crypto';
import { newId, type UserId } from '../domain/ids.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from '../domain/passwords.js';
import { hashSecret } from '../domain/secrets.js';
import type { Invitation, Role, Storage, User } from '../storage/ports.js';

/** Emails compare case-insensitively: stored and looked up trimmed and lowercased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewUser {
  email: string;
  name?: string | null | undefined;
  role: Role;
  password: string;
}

/** A user as the API and the sessions see it: without the password's hash. */
function withoutHash({ passwordHash: _, ...user }: User & { passwordHash: string }): User {
  return user;
}

async function userRow(input: NewUser, at: number): Promise<User & { passwordHash: string }> {
  const name = input.name?.trim();
  return {
    id: newId('usr'),
    email: normalizeEmail(input.email),
    name: name ? name : null,
    role: input.role,
    createdAt: at,
    passwordHash: await hashPassword(input.password),
  };
}

/**
 * A new dashboard user; null when the email is taken.
 *
 * @example
 * await createUser(storage, { email: 'Ann@Example.com', role: 'viewer', password: 'a long passphrase' }); // email 'ann@example.com'
 */
export async function createUser(storage: Storage, input: NewUser, at = Date.now()): Promise<User | null> {
  const row = await userRow(input, at);
  return (await storage.users.create(row)) ? withoutHash(row) : null;
}

/**
 * The user with this email and password, else null. An unknown email costs one scrypt like a wrong password
 * (against a dummy hash), so neither the answer nor its time tells which emails have accounts.
 */
export async function checkPassword(storage: Storage, email: string, password: string): Promise<User | null> {
  const found = await storage.users.findByEmail(normalizeEmail(email));
  const matches = await verifyPassword(password, found?.passwordHash ?? (await dummyPasswordHash()));
  return found && matches ? withoutHash(found) : null;
}

/** The secret of a one-time link (setup, invitation): 32 random bytes, base64url; stored only as its digest. */
const oneTimeToken = () => randomBytes(32).toString('base64url');

/** How long a setup link works. */
export const setupTokenTtlMs = 24 * 3_600_000;

/**
 * While no user exists: a new one-time setup token for the first admin (valid `setupTokenTtlMs`, stored as
 * its digest). Earlier unused tokens stay valid until they expire. Null once a user exists.
 */
export async function createSetupToken(storage: Storage, at = Date.now()): Promise<string | null> {
  if ((await storage.users.count()) > 0) return null;
  const token = oneTimeToken();
  await storage.setupTokens.create({ tokenHash: hashSecret(token), createdAt: at, expiresAt: at + setupTokenTtlMs });
  return token;
}

/** Uses a setup token to create the first admin (see SetupTokens.createFirstAdmin). */
export async function setUpFirstAdmin(storage: Storage, token: string, input: Omit<NewUser, 'role'>, at = Date.now()) {
  const row = await userRow({ ...input, role: 'admin' }, at);
  const outcome = await storage.setupTokens.createFirstAdmin(hashSecret(token), at, row);
  return outcome === 'created' ? { outcome, user: withoutHash(row) } : { outcome };
}

/** How long an invitation link works. */
export const invitationTtlMs = 7 * 86_400_000;

/**
 * An invitation for `email` to join with `role`: the token (for the link) is returned this once, stored as
 * its digest, works once within `invitationTtlMs`. `email_taken` when a user has this email already.
 * `createdBy`, the inviting user (null: an API key), is kept: their removal, or an admin inviter's demotion
 * for an admin invitation, ends it (Users.remove, Users.setRole); `inviter_not_admin` when they were removed
 * or made a viewer before it was stored (Invitations.create).
 *
 * @example
 * const created = await inviteUser(storage, { email: 'ann@example.com', role: 'viewer', createdBy: null });
 * if (created.outcome === 'created') console.log(created.token); // link: /setup?invite=<token>
 */
export async function inviteUser(storage: Storage, input: { email: string; role: Role; createdBy: UserId | null }, at = Date.now()) {
  const email = normalizeEmail(input.email);
  if (await storage.users.findByEmail(email)) return { outcome: 'email_taken' as const };
  const token = oneTimeToken();
  const invitation: Invitation = { id: newId('inv'), email, role: input.role, createdAt: at, expiresAt: at + invitationTtlMs, createdBy: input.createdBy };
  if (!(await storage.invitations.create({ ...invitation, tokenHash: hashSecret(token) }))) return { outcome: 'inviter_not_admin' as const };
  return { outcome: 'created' as const, invitation, token };
}

/** Uses an invitation: creates its user with the invitation's email and role (see Invitations.accept). */
export async function acceptInvitation(storage: Storage, token: string, input: { name?: string | undefined; password: string }, at = Date.now()) {
  const hash = hashSecret(token);
  const pending = await storage.invitations.findPending(hash, at);
  if (!pending) return { outcome: 'token_invalid' as const };
  const row = await userRow({ ...input, email: pending.email, role: pending.role }, at);
  const outcome = await storage.invitations.accept(hash, at, row);
  return outcome === 'created' ? { outcome, user: withoutHash(row) } : { outcome };
}
