import type { Kysely } from 'kysely';
import type { Dialect } from '../migrations.js';
import type { Database } from '../schema.js';
import { lastSeqOf } from './event-log.js';

/** Events deleted per transaction: a big prune never holds the database for long at once. */
const chunk = 2000;

/**
 * Retention (SWITCHBOARD_RETENTION_DAYS, `switchboard prune`): deletes, a chunk at a time, a prefix of the log
 * with its events' deliveries and attempt logs, then the calls whose last event came before `before` (one
 * statement; a daily job, so the scan of the calls table is acceptable). The prefix: every event before the
 * oldest seq received since `before` (all of them if none was). An event received before it but numbered
 * after that one (a quarantined body reprocessed long after it came keeps its arrival time) stays until what
 * came before it goes too: the log stays a suffix, so a stream's gap check (relay/hub.ts) reads only its oldest
 * seq. Shared by both dialects. On PostgreSQL it takes only events that have their seq (an event is pruned days
 * after the sequencer reached it), and deletes their rows and their seqs (`events` is a view of both: 0018).
 */
export async function prune(db: Kysely<Database>, dialect: Dialect, before: number): Promise<{ events: number; calls: number; deliveries: number; undelivered: Record<string, number> }> {
  const deleted = { events: 0, calls: 0, deliveries: 0, undelivered: {} as Record<string, number> };
  // Read once: the events appended meanwhile come after it (numbered later, or received since `before`).
  const kept = await db.selectFrom('events').select('seq').where('received_at', '>=', before).where('seq', 'is not', null)
    .orderBy('seq').limit(1).executeTakeFirst();
  const end = kept ? Number(kept.seq) : (await lastSeqOf(db, dialect)) + 1;
  for (;;) {
    const rows = await db.selectFrom('events').select(['seq', 'id']).where('seq', '<', end).where('seq', 'is not', null)
      .orderBy('seq').limit(chunk).execute();
    if (rows.length === 0) break;
    await db.transaction().execute(async (trx) => {
      const eventIds = rows.map((r) => r.id);
      const deliveries = await trx.selectFrom('deliveries').select(['id', 'destination_id', 'status']).where('event_id', 'in', eventIds).execute();
      const deliveryIds = deliveries.map((r) => r.id);
      // Those still pending (a paused or failing destination's backlog) go too, counted by destination: the caller says so.
      for (const r of deliveries) if (r.status === 'pending') deleted.undelivered[r.destination_id] = (deleted.undelivered[r.destination_id] ?? 0) + 1;
      for (let i = 0; i < deliveryIds.length; i += chunk) {
        const ids = deliveryIds.slice(i, i + chunk);
        await trx.deleteFrom('delivery_attempts').where('delivery_id', 'in', ids).execute();
        deleted.deliveries += Number((await trx.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst()).numDeletedRows);
      }
      const seqs = rows.map((r) => Number(r.seq));
      if (dialect === 'postgres') {
        deleted.events += Number((await trx.deleteFrom('event_rows').where('id', 'in', eventIds).executeTakeFirst()).numDeletedRows);
        await trx.deleteFrom('event_seqs').where('seq', 'in', seqs).execute();
      } else {
        deleted.events += Number((await trx.deleteFrom('events').where('seq', 'in', seqs).executeTakeFirst()).numDeletedRows);
      }
    });
    if (rows.length < chunk) break;
  }
  deleted.calls = Number((await db.deleteFrom('calls').where('last_event_at', '<', before).executeTakeFirst()).numDeletedRows);
  return deleted;
}
