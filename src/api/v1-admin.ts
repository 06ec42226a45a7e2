import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createApiKey, createSource, rotateSourceToken } from '../admin/credentials.js';
import type { Config } from '../config/index.js';
import { ownUrl } from './own-url.js';
import { AppError } from '../domain/errors.js';
import { iso } from '../domain/presenters.js';
import type { ApiKey, ApiKeys, CredentialKind, Source, Sources } from '../storage/ports.js';
import { ApiKeyList, CreatedApiKey, CreatedSource, NoContent, RotatedSource, SourceList, type ApiKeyInfo, type Source as SourceView } from '../domain/contract/index.js';
import { requireScope } from './auth.js';
import { idParam } from './id-param.js';
import { adminErrors, answers, bodyErrors, serializeWithJsonStringify } from './responses.js';

export interface AdminRoutesOptions {
  storage: { sources: Sources; keys: ApiKeys };
  resolveKey: (key: string) => Promise<ApiKey | null>;
  config: Readonly<Config>;
  now: () => number;
  /** Forgets cached token and key lookups (after a revocation or rotation, so it applies at once on this node). */
  forgetSecrets: (changed: CredentialKind) => Promise<void>;
}

const Name = Type.String({ minLength: 1, maxLength: 200 });
const SourceBody = Type.Object({ name: Name }, { additionalProperties: false });
const KeyBody = Type.Object({ name: Name, scope: Type.Union([Type.Literal('read'), Type.Literal('admin')]) }, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
type WithId = { Params: Static<typeof Params> };

/**
 * `/v1/sources` and `/v1/keys` (SPEC "Administration"): `admin` scope on every route. Secrets (source
 * tokens, API keys) are in the answer that creates them, and a new source token in the answer to a
 * rotation; never again: the database holds only their SHA-256 digests, and listings show a hint.
 */
export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const { storage, config, now } = options;
  app.addHook('onRequest', requireScope('admin', options.resolveKey));
  serializeWithJsonStringify(app);

  const ingestUrl = (token: string) => ownUrl(app, config, `/hooks/convolo/${token}`);
  const presentSource = (s: Source): SourceView => ({
    id: s.id,
    name: s.name,
    token_hint: s.tokenHint,
    status: s.revokedAt === null ? 'active' : 'revoked',
    created_at: iso(s.createdAt),
    revoked_at: iso(s.revokedAt),
    // After a rotation, until when the previous token is still accepted; null once that has passed.
    previous_token_expires_at: s.revokedAt === null && s.previousTokenExpiresAt !== null && s.previousTokenExpiresAt > now() ? iso(s.previousTokenExpiresAt) : null,
  });
  const presentKey = (k: ApiKey): ApiKeyInfo => ({
    id: k.id,
    name: k.name,
    scope: k.scope,
    key_hint: k.keyHint,
    status: k.revokedAt === null ? 'active' : 'revoked',
    created_at: iso(k.createdAt),
    revoked_at: iso(k.revokedAt),
    last_used_at: iso(k.lastUsedAt),
  });
  const noSource = () => new AppError('no_such_id', {}, { params: { what: 'source' } });
  const noKey = () => new AppError('no_such_id', {}, { params: { what: 'API key' } });

  app.post<{ Body: Static<typeof SourceBody> }>('/v1/sources', { schema: { body: SourceBody, response: answers({ 201: CreatedSource }, ...adminErrors, ...bodyErrors) } }, async (request, reply) => {
    const at = now();
    const { id, token } = await createSource(storage, request.body.name, at);
    return reply.code(201).send({ id, name: request.body.name, token, ingest_url: ingestUrl(token), created_at: iso(at) });
  });

  app.get('/v1/sources', { schema: { response: answers({ 200: SourceList }, ...adminErrors) } }, async () => ({ data: (await storage.sources.list()).map(presentSource) }));

  app.post<WithId>('/v1/sources/:id/rotate', { schema: { params: Params, response: answers({ 200: RotatedSource }, ...adminErrors, 404, 409) } }, async (request) => {
    const id = idParam('src', request.params.id, noSource);
    const rotated = await rotateSourceToken(storage, id, now());
    if (!rotated) {
      if (await storage.sources.get(id)) throw new AppError('source_revoked');
      throw noSource();
    }
    // The cache may hold "no source" for the new token's digest only if someone guessed it; clearing is
    // cheap and keeps the rule simple: every change to a secret clears this node's lookups.
    await options.forgetSecrets('sources');
    return { ...presentSource(rotated.source), token: rotated.token, ingest_url: ingestUrl(rotated.token) };
  });

  // Idempotent: revoking a revoked source answers 204 again; an unknown id is 404.
  app.delete<WithId>('/v1/sources/:id', { schema: { params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404) } }, async (request, reply) => {
    const id = idParam('src', request.params.id, noSource);
    if (!(await storage.sources.revoke(id, now())) && !(await storage.sources.get(id))) throw noSource();
    await options.forgetSecrets('sources');
    return reply.code(204).send();
  });

  app.post<{ Body: Static<typeof KeyBody> }>('/v1/keys', { schema: { body: KeyBody, response: answers({ 201: CreatedApiKey }, ...adminErrors, ...bodyErrors) } }, async (request, reply) => {
    const at = now();
    const { name, scope } = request.body;
    const { id, key } = await createApiKey(storage, name, scope, at);
    return reply.code(201).send({ id, name, scope, key, created_at: iso(at) });
  });

  app.get('/v1/keys', { schema: { response: answers({ 200: ApiKeyList }, ...adminErrors) } }, async () => ({ data: (await storage.keys.list()).map(presentKey) }));

  /**
   * A key cannot revoke itself (409 conflict): revoke it with another admin key. That way an
   * administrator never locks everyone out by mistake, since the key making the request stays active,
   * there is always at least one admin key left.
   */
  app.delete<WithId>('/v1/keys/:id', { schema: { params: Params, response: answers({ 204: NoContent }, ...adminErrors, 404, 409) } }, async (request, reply) => {
    if (request.apiKey?.id === request.params.id) throw new AppError('key_revokes_itself');
    const id = idParam('key', request.params.id, noKey);
    if (!(await storage.keys.revoke(id, now())) && !(await storage.keys.get(id))) throw noKey();
    await options.forgetSecrets('keys');
    return reply.code(204).send();
  });
}
