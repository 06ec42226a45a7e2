import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyId, SourceId } from '../domain/ids.js';
import { hashSecret } from '../domain/secrets.js';
import { openStorage } from '../storage/open.js';
import type { Storage } from '../storage/ports.js';
import { createApiKey, createSource, rotateSourceToken, sourceTokenGraceMs } from './credentials.js';

describe('source tokens and API keys in storage', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openStorage(`sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-cred-')), 'switchboard.db')}`);
    await storage.migrate();
  });
  afterAll(() => storage.close());
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const found = async (token: string, at: number) => (await storage.sources.findByTokenHash(hashSecret(token), at))?.id ?? null;

  it('keeps one previous token, for the grace period only', async () => {
    const { id, token: first } = await createSource(storage, 's', t0);
    const second = (await rotateSourceToken(storage, id, t0))!;
    expect(second.source).toMatchObject({ id, previousTokenExpiresAt: t0 + sourceTokenGraceMs, tokenHint: `${second.token.slice(0, 8)}…` });
    expect(await found(first, t0 + sourceTokenGraceMs - 1)).toBe(id);
    expect(await found(first, t0 + sourceTokenGraceMs)).toBeNull();
    expect(await found(second.token, t0 + 10 * sourceTokenGraceMs)).toBe(id);

    // A second rotation within the grace: the first token is dropped, the second is now the previous one.
    const third = (await rotateSourceToken(storage, id, t0 + 1000))!;
    expect(await found(first, t0 + 2000)).toBeNull();
    expect(await found(second.token, t0 + 2000)).toBe(id);
    expect(await found(third.token, t0 + 2000)).toBe(id);

    expect(await storage.sources.revoke(id, t0 + 3000)).toBe(true);
    expect(await storage.sources.revoke(id, t0 + 4000)).toBe(false);
    expect(await found(second.token, t0 + 5000)).toBeNull();
    expect(await found(third.token, t0 + 5000)).toBeNull();
    expect(await rotateSourceToken(storage, id, t0 + 5000)).toBeNull();
    expect((await storage.sources.get(id))?.revokedAt).toBe(t0 + 3000);
    expect(await storage.sources.get('src_nope' as SourceId)).toBeNull();
  });

  it('revokes a key once', async () => {
    const { id, key } = await createApiKey(storage, 'k', 'read', t0);
    expect((await storage.keys.findActiveByHash(hashSecret(key)))?.id).toBe(id);
    expect(await storage.keys.revoke(id, t0 + 1)).toBe(true);
    expect(await storage.keys.revoke(id, t0 + 2)).toBe(false);
    expect(await storage.keys.findActiveByHash(hashSecret(key))).toBeNull();
    expect(await storage.keys.get(id)).toMatchObject({ id, scope: 'read', revokedAt: t0 + 1 });
    expect(await storage.keys.revoke('key_nope' as ApiKeyId, t0)).toBe(false);
  });
});
