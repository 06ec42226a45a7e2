import type { Kysely, Selectable } from 'kysely';
import type { SourceId } from '../../domain/ids.js';
import type { Source, Sources } from '../ports.js';
import type { Database, SourcesTable } from '../schema.js';

export function createSources(db: Kysely<Database>): Sources {
  return {
    async create(s) {
      await db
        .insertInto('sources')
        .values({ id: s.id, name: s.name, token_hash: s.tokenHash, token_hint: s.tokenHint, created_at: s.createdAt })
        .execute();
    },

    async findByTokenHash(hash, now) {
      const row = await db
        .selectFrom('sources')
        .selectAll()
        .where('revoked_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb('token_hash', '=', hash),
            eb.and([eb('previous_token_hash', '=', hash), eb('previous_token_expires_at', '>', now)]),
          ]),
        )
        .executeTakeFirst();
      return row ? toSource(row) : null;
    },

    async get(id) {
      const row = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toSource(row) : null;
    },

    async list() {
      return (await db.selectFrom('sources').selectAll().orderBy('created_at').orderBy('id').execute()).map(toSource);
    },

    async rotate(id, token, previousExpiresAt) {
      // One statement: the right-hand sides read the row as it was, so the current token moves to
      // previous_token_hash as the new one takes its place, with no window where neither is stored.
      const row = await db
        .updateTable('sources')
        .set((eb) => ({
          previous_token_hash: eb.ref('token_hash'),
          previous_token_expires_at: previousExpiresAt,
          token_hash: token.tokenHash,
          token_hint: token.tokenHint,
        }))
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row ? toSource(row) : null;
    },

    async revoke(id, at) {
      const result = await db.updateTable('sources').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}

function toSource(r: Selectable<SourcesTable>): Source {
  return {
    id: r.id as SourceId,
    name: r.name,
    tokenHint: r.token_hint,
    previousTokenExpiresAt: r.previous_token_expires_at === null ? null : Number(r.previous_token_expires_at),
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}
