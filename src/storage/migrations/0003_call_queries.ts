import { sql, type Kysely } from 'kysely';

/**
 * 0003: the call list (GET /v1/calls and its CSV export, SPEC "Query API"): newest first by
 * (first_event_at, source_id, call_id), optionally filtered. Each index below ends with that order, so a
 * filtered page is a walk down one index that stops after `limit` rows instead of sorting every match.
 * Each is one more write per call upsert on the ingest's transaction: only the filters users reach for.
 * `q` (substring search) and `from`/`to` alone use calls_list; q scans, by design (see call-queries.ts).
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely). What it took from
 * the domain is copied here as it was when the migration shipped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Digits only of the lead's phone and of called_lead_phone: `phone=` matches them exactly, whatever
  // the formatting either side (`+1 (555) 010-2030` and `15550102030` are the same number).
  await db.schema.alterTable('calls').addColumn('lead_phone_digits', 'text').execute();
  await db.schema.alterTable('calls').addColumn('called_phone_digits', 'text').execute();
  await backfillPhoneDigits(db);
  const order = ['first_event_at', 'source_id', 'call_id'];
  await db.schema.createIndex('calls_list').on('calls').columns(order).execute();
  await db.schema.createIndex('calls_status_list').on('calls').columns(['status', ...order]).execute();
  await db.schema.createIndex('calls_widget_list').on('calls').columns(['widget_key', ...order]).execute();
  await db.schema.createIndex('calls_agent_list').on('calls').columns(['agent_id', ...order]).execute();
  await db.schema.createIndex('calls_source_list').on('calls').columns(['source_id', 'first_event_at', 'call_id']).execute();
  // Partial: most calls have a lead phone, but a called number that is absent costs no index entry.
  // `phone=` asks `lead_phone_digits = ? OR called_phone_digits = ?`: both planners combine the two
  // indexes (PostgreSQL's BitmapOr, SQLite's OR-by-union), then sort the few matches.
  await db.schema.createIndex('calls_lead_phone').on('calls').columns(['lead_phone_digits', 'first_event_at'])
    .where(sql.ref('lead_phone_digits'), 'is not', null).execute();
  await db.schema.createIndex('calls_called_phone').on('calls').columns(['called_phone_digits', 'first_event_at'])
    .where(sql.ref('called_phone_digits'), 'is not', null).execute();
}

/** Fills the digits columns of calls stored before 0003 (in JavaScript: SQLite has no regexp_replace). */
async function backfillPhoneDigits(db: Kysely<any>): Promise<void> {
  let after: { callId: string; sourceId: string } | null = null;
  for (;;) {
    let query = db.selectFrom('calls').select(['call_id', 'source_id', 'lead', 'called_lead_phone']).orderBy('call_id').orderBy('source_id').limit(1000);
    if (after) {
      const a: { callId: string; sourceId: string } = after;
      query = query.where((eb) => eb.or([eb('call_id', '>', a.callId), eb.and([eb('call_id', '=', a.callId), eb('source_id', '>', a.sourceId)])]));
    }
    const rows: Array<{ call_id: string; source_id: string; lead: string | null; called_lead_phone: string | null }> = await query.execute();
    for (const r of rows) {
      const lead = r.lead === null ? null : (JSON.parse(r.lead) as Record<string, unknown>);
      await db.updateTable('calls')
        .set({ lead_phone_digits: phoneDigits(lead?.lead_phone), called_phone_digits: phoneDigits(r.called_lead_phone) })
        .where('call_id', '=', r.call_id).where('source_id', '=', r.source_id).execute();
    }
    if (rows.length < 1000) return;
    after = { callId: rows.at(-1)!.call_id, sourceId: rows.at(-1)!.source_id };
  }
}

/**
 * domain/call.ts's `phoneDigits` when 0003 shipped: the digits of a phone number, at most 64 (null: none).
 */
function phoneDigits(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const digits = String(value).replace(/\D+/g, '');
  return digits.length === 0 ? null : digits.slice(0, 64);
}
