import { sql, type Kysely } from 'kysely';
import type { Delivery, DeliveryOutcome, NewEvent, AppendResult } from '../ports.js';
import type { Database, DeliveriesTable } from '../schema.js';
import { completionRows } from '../shared/complete-plan.js';
import { rowToDelivery } from '../shared/destination-rows.js';
import { appendIn, unnest } from './append.js';

/**
 * The delivery worker's writes on PostgreSQL. Claims lock rows with SKIP LOCKED, so workers on several
 * nodes take disjoint deliveries without waiting for each other; the lease (`locked_until`) outlives a
 * crashed worker's transaction and lets another pick the delivery up when it runs out.
 */
export function createPostgresDeliveryWrites(db: Kysely<Database>) {
  async function claim(now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    const { rows } = await sql<DeliveriesTable>`
      update deliveries set locked_until = ${now + leaseMs}, updated_at = ${now}
      where id in (
        select d.id from deliveries d join destinations t on t.id = d.destination_id
        where d.status = 'pending' and d.next_attempt_at <= ${now} and (d.locked_until is null or d.locked_until <= ${now})
          and t.disabled_at is null and t.deleted_at is null
          and not exists (
            select 1 from deliveries p
            where p.destination_id = d.destination_id and p.order_key = d.order_key and p.status = 'pending' and p.event_seq < d.event_seq)
        order by d.next_attempt_at, d.event_seq
        limit ${limit}
        for update of d skip locked)
      returning *`.execute(db);
    return rows.map(rowToDelivery).sort((a, b) => a.eventSeq - b.eventSeq);
  }

  function complete(outcomes: readonly DeliveryOutcome[], events: readonly NewEvent[], now: number): Promise<AppendResult[]> {
    const rows = completionRows(outcomes);
    return db.transaction().execute(async (trx) => {
      if (rows.attempts.length > 0) {
        const a = unnest(rows.attempts, {
          delivery_id: 'text', attempt: 'integer', attempted_at: 'bigint', status: 'integer', latency_ms: 'double precision',
          response_body: 'text', error: 'text',
        });
        await sql`insert into delivery_attempts (${a.columns}) select ${a.columns} from ${a.source} on conflict do nothing`.execute(trx);
      }
      const u = unnest(rows.deliveries, {
        id: 'text', status: 'text', attempted: 'integer', next_attempt_at: 'bigint', last_status: 'integer', last_error: 'text', finished_at: 'bigint',
      });
      await sql`
        update deliveries d set status = t.status, attempts = d.attempts + t.attempted,
          next_attempt_at = coalesce(t.next_attempt_at, d.next_attempt_at), locked_until = null,
          last_status = case when t.attempted = 1 then t.last_status else d.last_status end,
          last_error = case when t.attempted = 1 then t.last_error else d.last_error end,
          finished_at = t.finished_at, updated_at = ${now}
        from ${u.source} where d.id = t.id and d.status = 'pending'`.execute(trx);
      for (const d of rows.destinations) {
        if (d.failure === 'cleared') await trx.updateTable('destinations').set({ failing_since: null }).where('id', '=', d.id).execute();
        if (d.failure === 'failing') {
          await trx.updateTable('destinations').set({ failing_since: sql`coalesce(failing_since, ${d.failingSince})` }).where('id', '=', d.id).execute();
        }
        if (d.disabledReason) {
          await trx.updateTable('destinations').set({ disabled_at: now, disabled_reason: d.disabledReason, updated_at: now })
            .where('id', '=', d.id).where('disabled_at', 'is', null).execute();
        }
      }
      return events.length > 0 ? appendIn(trx, events) : [];
    });
  }

  return { claim, complete };
}
