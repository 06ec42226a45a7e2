import type { Kysely, Selectable } from 'kysely';
import type { ApiKeyId } from '../../domain/ids.js';
import type { ApiKey, ApiKeys, Scope } from '../ports.js';
import type { ApiKeysTable, Database } from '../schema.js';

export function createApiKeys(db: Kysely<Database>): ApiKeys {
  return {
    async create(k) {
      await db
        .insertInto('api_keys')
        .values({ id: k.id, name: k.name, scope: k.scope, key_hash: k.keyHash, key_hint: k.keyHint, created_at: k.createdAt })
        .execute();
    },

    async findActiveByHash(hash) {
      const row = await db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
      return row ? toApiKey(row) : null;
    },

    async get(id) {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toApiKey(row) : null;
    },

    async list() {
      return (await db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute()).map(toApiKey);
    },

    async revoke(id, at) {
      const result = await db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async recordUse(id, at) {
      await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)])).execute();
    },
  };
}

function toApiKey(r: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: r.id as ApiKeyId,
    name: r.name,
    scope: r.scope as Scope,
    keyHint: r.key_hint,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  };
}
