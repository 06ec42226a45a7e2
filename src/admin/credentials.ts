import { newId, type ApiKeyId, type SourceId } from '../domain/ids.js';
import { generateSecret, hashSecret, maskSecret } from '../domain/secrets.js';
import type { ApiKeys, Scope, Source, Sources, Storage } from '../storage/ports.js';

/**
 * Creating sources and API keys: the secret is generated here, stored only as its hash, and returned in
 * plain text exactly once, to whoever asked for it.
 */
export async function createSource(storage: { sources: Sources }, name: string, now = Date.now()): Promise<{ id: SourceId; token: string }> {
  const token = generateSecret('source_token');
  const id = newId('src');
  await storage.sources.create({ id, name, tokenHash: hashSecret(token), tokenHint: maskSecret(token), createdAt: now });
  return { id, token };
}

export async function createApiKey(storage: { keys: ApiKeys }, name: string, scope: Scope, now = Date.now()): Promise<{ id: ApiKeyId; key: string }> {
  const key = generateSecret('api_key');
  const id = newId('key');
  await storage.keys.create({ id, name, scope, keyHash: hashSecret(key), keyHint: maskSecret(key), createdAt: now });
  return { id, key };
}

/** How long a source's previous token keeps working after a rotation (SPEC "Administration"). */
export const sourceTokenGraceMs = 24 * 3_600_000;

/**
 * A new token for an active source; the current one keeps working for `sourceTokenGraceMs`, so Convolo's
 * webhook settings can be changed without losing calls. Null when no active source has this id.
 */
export async function rotateSourceToken(storage: { sources: Sources }, id: SourceId, now = Date.now()): Promise<{ source: Source; token: string } | null> {
  const token = generateSecret('source_token');
  const source = await storage.sources.rotate(id, { tokenHash: hashSecret(token), tokenHint: maskSecret(token) }, now + sourceTokenGraceMs);
  return source ? { source, token } : null;
}

export interface FirstStart {
  sourceId: SourceId;
  sourceToken: string;
  adminKey: string;
}

/** On an empty database: a default source and an admin key, returned once so they can be printed once. */
export async function bootstrap(storage: Pick<Storage, 'isEmpty' | 'sources' | 'keys'>): Promise<FirstStart | null> {
  if (!(await storage.isEmpty())) return null;
  const source = await createSource(storage, 'default');
  const { key } = await createApiKey(storage, 'admin (first start)', 'admin');
  return { sourceId: source.id, sourceToken: source.token, adminKey: key };
}
