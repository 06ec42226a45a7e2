import { sql, type Kysely } from 'kysely';
import { inProgress } from '../../domain/call.js';
import type { SourceId } from '../../domain/ids.js';
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

    async staleCandidates(before, limit) {
      const rows = await db
        .selectFrom('calls')
        .select(['source_id', 'call_id'])
        // Walks calls_status_list (status, first_event_at, …) from its oldest in-progress entry (migration 0020).
        .where('status', '=', sql.lit(inProgress))
        // Convolo's call_status is open: an end_call may say "in_progress" too, and such a call is not stale
        // (its row is read to know: only the in-progress calls older than the cut-off, which the sweep then marks).
        .where('merge_rank', '<', 2)
        .where('first_event_at', '<', before)
        .orderBy('first_event_at')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ sourceId: r.source_id as SourceId, callId: r.call_id }));
    },
  };
}
