import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** Events deleted per transaction: a big prune never holds the database for long at once. */
const chunk = 2000;

/**
 * Retention (SWITCHBOARD_RETENTION_DAYS, `switchboard prune`): deletes, a chunk at a time, the events
 * received before `before` with their deliveries and attempt logs, then the calls whose last event came
 * before it (one statement; a daily job, so the scan of the calls table is acceptable). Shared by both
 * dialects.
 */
export async function prune(db: Kysely<Database>, before: number): Promise<{ events: number; calls: number; deliveries: number }> {
  const deleted = { events: 0, calls: 0, deliveries: 0 };
  for (;;) {
    const rows = await db.selectFrom('events').select(['seq', 'id']).where('received_at', '<', before).orderBy('seq').limit(chunk).execute();
    if (rows.length === 0) break;
    await db.transaction().execute(async (trx) => {
      const eventIds = rows.map((r) => r.id);
      const deliveryIds = (await trx.selectFrom('deliveries').select('id').where('event_id', 'in', eventIds).execute()).map((r) => r.id);
      for (let i = 0; i < deliveryIds.length; i += chunk) {
        const ids = deliveryIds.slice(i, i + chunk);
        await trx.deleteFrom('delivery_attempts').where('delivery_id', 'in', ids).execute();
        deleted.deliveries += Number((await trx.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst()).numDeletedRows);
      }
      deleted.events += Number((await trx.deleteFrom('events').where('seq', 'in', rows.map((r) => Number(r.seq))).executeTakeFirst()).numDeletedRows);
    });
    if (rows.length < chunk) break;
  }
  deleted.calls = Number((await db.deleteFrom('calls').where('last_event_at', '<', before).executeTakeFirst()).numDeletedRows);
  return deleted;
}
