import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createUser } from '../admin/users.js';
import { AppError } from '../domain/errors.js';
import { hashPassword } from '../domain/passwords.js';
import type { ApiKey, Storage } from '../storage/ports.js';
import { requireScope } from './auth.js';
import { NoContent, Role, User, UserList } from '../domain/contract/index.js';
import { adminErrors, answers, bodyErrors } from './responses.js';
import { EmailSchema, NameSchema, NewPassword, presentUser } from './user-schemas.js';

export interface UserRoutesOptions {
  storage: Storage;
  resolveKey: (key: string) => Promise<ApiKey | null>;
  now: () => number;
  /** Cached lookups are dropped and streams re-checked (after sessions were ended). */
  forgetSecrets: () => void;
}

const CreateBody = Type.Object({ email: EmailSchema, name: Type.Optional(NameSchema), role: Role, password: NewPassword }, { additionalProperties: false });
const PasswordBody = Type.Object({ password: NewPassword }, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };
const tags = ['users'];
const noUser = () => new AppError('no_such_id', {}, { params: { what: 'user' } });

/**
 * `/v1/users`: the people who sign in to the dashboard (SPEC "Dashboard"), `admin` scope on every route (an
 * admin key, or an admin's session). Removing a user or setting their password ends their sessions.
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
    schema: { tags, summary: 'Remove a user and end their sessions', description: '409 `last_admin` for the last admin.', params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404, 409) },
  }, async (request, reply) => {
    const outcome = await storage.users.remove(request.params.id);
    if (outcome === 'not_found') throw noUser();
    if (outcome === 'last_admin') throw new AppError('last_admin');
    options.forgetSecrets();
    return reply.code(204).send();
  });

  app.post<WithId & { Body: Static<typeof PasswordBody> }>('/v1/users/:id/password', {
    schema: { tags, summary: "Set a user's password and end their sessions", params: Params, body: PasswordBody, response: answers({ 204: NoContent }, ...adminErrors, ...bodyErrors, 404) },
  }, async (request, reply) => {
    if (!(await storage.users.setPassword(request.params.id, await hashPassword(request.body.password), now()))) throw noUser();
    options.forgetSecrets();
    return reply.code(204).send();
  });
}
