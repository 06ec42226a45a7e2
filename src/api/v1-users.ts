import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createUser, inviteUser } from '../admin/users.js';
import type { Config } from '../config/index.js';
import { iso } from '../domain/presenters.js';
import { AppError } from '../domain/errors.js';
import { hashPassword } from '../domain/passwords.js';
import type { ApiKey, CredentialKind, Invitation as StoredInvitation, Storage } from '../storage/ports.js';
import { idParam } from './id-param.js';
import { ownUrl } from './own-url.js';
import { requireScope } from './auth.js';
import { CreatedInvitation, InvitationList, NoContent, Role, User, UserList, type Invitation } from '../domain/contract/index.js';
import { adminErrors, answers, bodyErrors } from './responses.js';
import { EmailSchema, NameSchema, NewPassword, presentUser } from './user-schemas.js';

export interface UserRoutesOptions {
  storage: Storage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
  /** Cached lookups are dropped and streams re-checked (after sessions were ended). */
  forgetSecrets: (changed: CredentialKind) => Promise<void>;
}

const CreateBody = Type.Object({ email: EmailSchema, name: Type.Optional(NameSchema), role: Role, password: NewPassword }, { additionalProperties: false });
const RoleBody = Type.Object({ role: Role }, { additionalProperties: false });
const InviteBody = Type.Object({ email: EmailSchema, role: Role }, { additionalProperties: false });
const PasswordBody = Type.Object({ password: NewPassword }, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };
const tags = ['users'];
const noUser = () => new AppError('no_such_id', {}, { params: { what: 'user' } });
const noInvitation = () => new AppError('no_such_id', {}, { params: { what: 'invitation' } });
const presentInvitation = (i: StoredInvitation): Invitation => ({ id: i.id, email: i.email, role: i.role, created_at: iso(i.createdAt), expires_at: iso(i.expiresAt) });

/**
 * `/v1/users`: the people who sign in to the dashboard (SPEC "Dashboard"), `admin` scope on every route (an
 * admin key, or an admin's session). Removing a user or setting their password ends their sessions; a new
 * role applies to their sessions' next request (sessions read the role with their user). `/v1/invitations`:
 * one-time links for a person to join with a role (accepted at `/v1/auth/invitation`).
 */
export async function userRoutes(app: FastifyInstance, options: UserRoutesOptions): Promise<void> {
  const { storage, now } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));

  app.get('/v1/users', {
    schema: { tags, summary: 'List users, oldest first', response: answers({ 200: UserList }, ...adminErrors) },
  }, async () => ({ data: (await storage.users.list()).map(presentUser) }));

  app.post<{ Body: Static<typeof CreateBody> }>('/v1/users', {
    schema: { tags, summary: 'Create a user', description: '409 `email_taken` when a user has this email (compared case-insensitively).', body: CreateBody, response: answers({ 201: User }, ...adminErrors, ...bodyErrors, 409) },
  }, async (request, reply) => {
    const user = await createUser(storage, request.body, now());
    if (!user) throw new AppError('email_taken');
    return reply.code(201).send(presentUser(user));
  });

  app.delete<WithId>('/v1/users/:id', {
    schema: { tags, summary: 'Remove a user and end their sessions', description: 'Pending invitations to their email, and those they created, end too. 409 `last_admin` for the last admin.', params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404, 409) },
  }, async (request, reply) => {
    const outcome = await storage.users.remove(request.params.id);
    if (outcome === 'not_found') throw noUser();
    if (outcome === 'last_admin') throw new AppError('last_admin');
    await options.forgetSecrets('sessions');
    return reply.code(204).send();
  });

  app.patch<WithId & { Body: Static<typeof RoleBody> }>('/v1/users/:id', {
    schema: { tags, summary: "Change a user's role", description: 'Applies to their signed-in sessions at once, on every node. An admin made a viewer loses the pending invitations they created for the admin role. 409 `last_admin` when it would leave no admin.', params: Params, body: RoleBody, response: answers({ 200: User }, ...adminErrors, ...bodyErrors, 404, 409) },
  }, async (request) => {
    const outcome = await storage.users.setRole(request.params.id, request.body.role, now());
    if (outcome === 'not_found') throw noUser();
    if (outcome === 'last_admin') throw new AppError('last_admin');
    await options.forgetSecrets('sessions');
    const user = await storage.users.get(request.params.id);
    if (!user) throw noUser();
    return presentUser(user);
  });

  app.post<WithId & { Body: Static<typeof PasswordBody> }>('/v1/users/:id/password', {
    schema: { tags, summary: "Set a user's password and end their sessions", params: Params, body: PasswordBody, response: answers({ 204: NoContent }, ...adminErrors, ...bodyErrors, 404) },
  }, async (request, reply) => {
    if (!(await storage.users.setPassword(request.params.id, await hashPassword(request.body.password), now()))) throw noUser();
    await options.forgetSecrets('sessions');
    return reply.code(204).send();
  });

  app.get('/v1/invitations', {
    schema: { tags, summary: 'List pending invitations (neither used nor expired), oldest first', response: answers({ 200: InvitationList }, ...adminErrors) },
  }, async () => ({ data: (await storage.invitations.listPending(now())).map(presentInvitation) }));

  app.post<{ Body: Static<typeof InviteBody> }>('/v1/invitations', {
    schema: {
      tags, summary: 'Invite a person by a one-time link',
      description: 'The answer holds the link (`url`, `<public URL>/setup?invite=<token>`), shown this once: it works once, for 7 days; the person sets their name and password and is signed in with `role`. 409 `email_taken` when a user has this email.',
      body: InviteBody, response: answers({ 201: CreatedInvitation }, ...adminErrors, ...bodyErrors, 409),
    },
  }, async (request, reply) => {
    const principal = request.principal!;
    const created = await inviteUser(storage, { ...request.body, createdBy: principal.kind === 'user' ? principal.id : null }, now());
    if (created.outcome === 'email_taken') throw new AppError('email_taken');
    // Made a viewer, or removed, since this request's session was read.
    if (created.outcome === 'inviter_not_admin') throw new AppError('admin_only');
    const { invitation, token } = created;
    return reply.code(201).send({ ...presentInvitation(invitation), token, url: ownUrl(app, options.config, `/setup?invite=${token}`) });
  });

  app.delete<WithId>('/v1/invitations/:id', {
    schema: { tags, summary: 'Revoke an invitation (its link stops working)', params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404) },
  }, async (request, reply) => {
    if (!(await storage.invitations.remove(idParam('inv', request.params.id, noInvitation)))) throw noInvitation();
    return reply.code(204).send();
  });
}
