import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionService } from '../admin/sessions.js';
import { acceptInvitation, checkPassword, normalizeEmail, setUpFirstAdmin } from '../admin/users.js';
import { AppError } from '../domain/errors.js';
import { hashPassword, passwordLimits } from '../domain/passwords.js';
import { iso } from '../domain/presenters.js';
import { hashSecret } from '../domain/secrets.js';
import type { CredentialKind, Storage, User } from '../storage/ports.js';
import { clientAddress } from './auth-misses.js';
import type { LoginLimits } from './login-limits.js';
import { clearedSessionCookie, configuredOrigin, originOf, sessionSetCookie } from './session-auth.js';
import { InvitationCheck, NoContent, SessionAnswer, SetupCheck } from '../domain/contract/index.js';
import { answers, bodyErrors } from './responses.js';
import { EmailSchema, NameSchema, NewPassword, presentUser } from './user-schemas.js';

export interface AuthRoutesOptions {
  storage: Storage;
  sessions: SessionService;
  limits: LoginLimits;
  publicUrl: string;
  now: () => number;
  /** Cached lookups are dropped and streams re-checked (after sessions were ended). */
  forgetSecrets: (changed: CredentialKind) => Promise<void>;
}

const LoginBody = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: passwordLimits.maxLength }),
}, { additionalProperties: false });
const Token = Type.String({ minLength: 1, maxLength: 128 });
const SetupQuery = Type.Object({ token: Token });
const SetupBody = Type.Object({ token: Token, email: EmailSchema, password: NewPassword, name: Type.Optional(NameSchema) }, { additionalProperties: false });
const InvitationBody = Type.Object({ token: Token, password: NewPassword, name: Type.Optional(NameSchema) }, { additionalProperties: false });
const PasswordBody = Type.Object({ current_password: Type.String({ minLength: 1, maxLength: passwordLimits.maxLength }), new_password: NewPassword }, { additionalProperties: false });
const security = [{ session: [] }];
const tags = ['sign-in'];

/**
 * The dashboard's sign-in (SPEC "Dashboard"): `/v1/auth/login`, `session`, `logout`, `password`, and the
 * first admin's `setup`. A session lives in the `sb_session` cookie (session-auth.ts says where it is
 * accepted); these routes need no API key. Requests that sign in (login, setup) from a page of another
 * origin are refused (`Origin` present and not ours: 403 csrf_refused); clients without `Origin` (curl) may.
 */
export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { storage, sessions, limits, now } = options;
  const ownOrigin = configuredOrigin(options.publicUrl);
  const secure = options.publicUrl.startsWith('https:');

  const refuseForeignOrigin = async (request: FastifyRequest) => {
    if (originOf(request, ownOrigin) === 'foreign') throw new AppError('csrf_refused');
  };
  async function signIn(reply: FastifyReply, user: User, status: number) {
    const { token, expiresAt } = await sessions.start(user.id);
    void reply.header('set-cookie', sessionSetCookie(token, Math.floor((expiresAt - now()) / 1000), secure));
    return reply.code(status).send({ user: presentUser(user), expires_at: iso(expiresAt) });
  }
  /** The session of a request that changes it (logout, password): same-origin only. */
  function ownSession(request: FastifyRequest) {
    const found = request.cookieSession;
    if (found && !found.writeAllowed) throw new AppError('csrf_refused');
    return found;
  }

  app.post<{ Body: Static<typeof LoginBody> }>('/v1/auth/login', {
    onRequest: refuseForeignOrigin,
    schema: {
      tags, security: [], summary: 'Sign in with an email and a password',
      description: 'Sets the `sb_session` cookie (HttpOnly, SameSite=Strict, Path=/, Secure over https). A wrong email and a wrong password get the same 401 `invalid_credentials`. Failed attempts are limited per account and per address (429 `rate_limited`).',
      body: LoginBody, response: answers({ 200: SessionAnswer }, ...bodyErrors, 401, 403, 429),
    },
  }, async (request, reply) => {
    const account = normalizeEmail(request.body.email);
    const attempt = limits.begin(account, clientAddress(request.ip));
    const user = await checkPassword(storage, account, request.body.password).catch((error: unknown) => {
      attempt.abandoned();
      throw error;
    });
    if (!user) throw new AppError('invalid_credentials');
    attempt.succeeded();
    return signIn(reply, user, 200);
  });

  app.get('/v1/auth/session', {
    schema: { tags, security, summary: 'The signed-in user of the session cookie', response: answers({ 200: SessionAnswer }, 401, 429) },
  }, async (request) => {
    const found = request.cookieSession;
    if (!found) throw new AppError('not_signed_in');
    return { user: presentUser(found.user), expires_at: iso(found.session.expiresAt) };
  });

  app.post('/v1/auth/logout', {
    schema: { tags, security, summary: 'End the session', description: 'Deletes the session server-side and clears the cookie; 204 even without a session.', response: answers({ 204: NoContent }, 403, 429) },
  }, async (request, reply) => {
    const found = ownSession(request);
    if (found) {
      await sessions.end(found.token);
      await options.forgetSecrets('sessions');
    }
    return reply.code(204).header('set-cookie', clearedSessionCookie(secure)).send();
  });

  app.post<{ Body: Static<typeof PasswordBody> }>('/v1/auth/password', {
    schema: {
      tags, security, summary: 'Change your own password',
      description: 'Needs the session cookie and the current password; every other session of the user ends.',
      body: PasswordBody, response: answers({ 204: NoContent }, ...bodyErrors, 401, 403, 429),
    },
  }, async (request, reply) => {
    const found = ownSession(request);
    if (!found) throw new AppError('not_signed_in');
    const account = found.user.email;
    const attempt = limits.begin(account, clientAddress(request.ip));
    const user = await checkPassword(storage, account, request.body.current_password).catch((error: unknown) => {
      attempt.abandoned();
      throw error;
    });
    if (!user) throw new AppError('wrong_password');
    attempt.abandoned(); // the right password: not a failure (and, unlike a sign-in, it clears nothing)
    await storage.users.setPassword(found.user.id, await hashPassword(request.body.new_password), now(), hashSecret(found.token));
    await options.forgetSecrets('sessions');
    return reply.code(204).send();
  });

  app.get<{ Querystring: Static<typeof SetupQuery> }>('/v1/auth/setup', {
    schema: {
      tags, security: [], summary: 'Whether a setup link still works',
      description: '410 `setup_token_invalid` when the token is unknown, used or expired; 409 `setup_done` once a user exists.',
      querystring: SetupQuery, response: answers({ 200: SetupCheck }, 409, 410, 429),
    },
  }, async (request) => {
    if ((await storage.users.count()) > 0) throw new AppError('setup_done');
    if (!(await storage.setupTokens.isUsable(hashSecret(request.query.token), now()))) throw new AppError('setup_token_invalid');
    return { valid: true as const };
  });

  app.post<{ Body: Static<typeof SetupBody> }>('/v1/auth/setup', {
    onRequest: refuseForeignOrigin,
    schema: {
      tags, security: [], summary: 'Create the first admin with the setup link',
      description: 'The token (from the link printed at the first start) works once; signs the new admin in (sets the cookie).',
      body: SetupBody, response: answers({ 201: SessionAnswer }, ...bodyErrors, 403, 409, 410, 429),
    },
  }, async (request, reply) => {
    const { token, email, password, name } = request.body;
    const result = await setUpFirstAdmin(storage, token, { email, password, name }, now());
    if (result.outcome === 'token_invalid') throw new AppError('setup_token_invalid');
    if (result.outcome === 'setup_done') throw new AppError('setup_done');
    return signIn(reply, result.user!, 201);
  });

  app.get<{ Querystring: Static<typeof SetupQuery> }>('/v1/auth/invitation', {
    schema: {
      tags, security: [], summary: 'What an invitation link offers (its email and role)',
      description: '410 `invitation_invalid` when the token is unknown, used, revoked or expired.',
      querystring: SetupQuery, response: answers({ 200: InvitationCheck }, 410, 429),
    },
  }, async (request) => {
    const pending = await storage.invitations.findPending(hashSecret(request.query.token), now());
    if (!pending) throw new AppError('invitation_invalid');
    return { email: pending.email, role: pending.role, expires_at: iso(pending.expiresAt) };
  });

  app.post<{ Body: Static<typeof InvitationBody> }>('/v1/auth/invitation', {
    onRequest: refuseForeignOrigin,
    schema: {
      tags, security: [], summary: 'Join with an invitation link',
      description: "Creates the invitation's user (its email and role, the name and password given) and signs them in (sets the cookie). The link works once: then 410 `invitation_invalid`; 409 `email_taken` when a user got that email meanwhile.",
      body: InvitationBody, response: answers({ 201: SessionAnswer }, ...bodyErrors, 403, 409, 410, 429),
    },
  }, async (request, reply) => {
    const { token, password, name } = request.body;
    const result = await acceptInvitation(storage, token, { password, name }, now());
    if (result.outcome === 'token_invalid') throw new AppError('invitation_invalid');
    if (result.outcome === 'email_taken') throw new AppError('email_taken');
    return signIn(reply, result.user!, 201);
  });
}
