import { newId, type ApiKeyId, type SourceId } from '../domain/ids.js';
import { generateSecret, hashSecret, maskSecret } from '../domain/secrets.js';
import type { Scope, Storage } from '../storage/ports.js';

/**
 * Creating sources and API keys: the secret is generated here, stored only as its hash, and returned in
 * plain text exactly once, to whoever asked for it.
 */
export async function createSource(storage: Storage, name: string, now = Date.now()): Promise<{ id: SourceId; token: string }> {
  const token = generateSecret('source_token');
  const id = newId('src');
  await storage.sources.create({ id, name, tokenHash: hashSecret(token), tokenHint: maskSecret(token), createdAt: now });
  return { id, token };
}

export async function createApiKey(storage: Storage, name: string, scope: Scope, now = Date.now()): Promise<{ id: ApiKeyId; key: string }> {
  const key = generateSecret('api_key');
  const id = newId('key');
  await storage.keys.create({ id, name, scope, keyHash: hashSecret(key), keyHint: maskSecret(key), createdAt: now });
  return { id, key };
}

export interface FirstStart {
  sourceId: SourceId;
  sourceToken: string;
  adminKey: string;
}

/** On an empty database: a default source and an admin key, returned once so they can be printed once. */
export async function bootstrap(storage: Storage): Promise<FirstStart | null> {
  if (!(await storage.isEmpty())) return null;
  const source = await createSource(storage, 'default');
  const { key } = await createApiKey(storage, 'admin (first start)', 'admin');
  return { sourceId: source.id, sourceToken: source.token, adminKey: key };
}
