import { sql, type Kysely } from 'kysely';
import { inProgress, stale } from '../../domain/call.js';
import type { Calls } from '../ports.js';
import type { Database } from '../schema.js';
import { rowToCall } from './call-rows.js';

export function createCalls(db: Kysely<Database>): Calls {
  return {
    async get(callId, sourceId) {
      let query = db.selectFrom('calls').selectAll().where('call_id', '=', callId).orderBy('last_event_at', 'desc').limit(1);
      if (sourceId) query = query.where('source_id', '=', sourceId);
      const row = await query.executeTakeFirst();
      return row ? rowToCall(row) : null;
    },

    async markStale(before) {
      const result = await db
        .updateTable('calls')
        .set({ status: stale })
        .where('status', '=', sql.lit(inProgress)) // a literal, so SQLite can use the partial index
        .where('first_event_at', '<', before)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
