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

    async list() {
      return (await db.selectFrom('sources').selectAll().orderBy('created_at').execute()).map(toSource);
    },
  };
}

function toSource(r: Selectable<SourcesTable>): Source {
  return {
    id: r.id as SourceId,
    name: r.name,
    tokenHint: r.token_hint,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}
