import { sql, type Kysely } from 'kysely';

/**
 * 0008: the lead and agent JSON of calls stored before the record was made well-formed (domain/well-formed.ts)
 * may hold the escapes `\u0000` and of lone surrogates, which PostgreSQL's jsonb refuses. They become
 * `\ufffd`, as the record now holds them. Only rows whose text contains `\u` are read (few); the rest of
 * the table is scanned once, by the database. Self-contained, as a migration must be: the replacement works
 * on the JSON text, not through the domain code, which may change.
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const contains = dialect === 'sqlite' ? 'instr' : 'strpos';
  const escaped = (column: string) => sql<boolean>`${sql.raw(contains)}(${sql.ref(column)}, ${'\\u'}) > 0`;
  let after: { callId: string; sourceId: string } | null = null;
  for (;;) {
    let query = db.selectFrom('calls').select(['call_id', 'source_id', 'lead', 'agent'])
      .where((eb) => eb.or([escaped('lead'), escaped('agent')])).orderBy('call_id').orderBy('source_id').limit(500);
    if (after) {
      const a: { callId: string; sourceId: string } = after;
      query = query.where((eb) => eb.or([eb('call_id', '>', a.callId), eb.and([eb('call_id', '=', a.callId), eb('source_id', '>', a.sourceId)])]));
    }
    const rows: Array<{ call_id: string; source_id: string; lead: string | null; agent: string | null }> = await query.execute();
    const rewrite = async (trx: Kysely<any>) => {
      for (const r of rows) {
        const lead = r.lead === null ? null : refusedEscapesReplaced(r.lead);
        const agent = r.agent === null ? null : refusedEscapesReplaced(r.agent);
        if (lead === r.lead && agent === r.agent) continue;
        await trx.updateTable('calls').set({ lead, agent }).where('call_id', '=', r.call_id).where('source_id', '=', r.source_id).execute();
      }
    };
    // One commit per batch: Kysely runs SQLite migrations outside a transaction (PostgreSQL's inside one).
    await (db.isTransaction ? rewrite(db) : db.transaction().execute(rewrite));
    if (rows.length < 500) return;
    after = { callId: rows.at(-1)!.call_id, sourceId: rows.at(-1)!.source_id };
  }
}

/**
 * Escapes taken left to right, so that an escaped backslash (`\\`) is never mistaken for the start of
 * `\u…`: `\\u0000` (a backslash, then the text u0000) stays.
 */
const escapes = /\\(?:\\|u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2}))/g;
function refusedEscapesReplaced(json: string): string {
  return json.replace(escapes, (escape) => (escape === '\\\\' ? escape : '\\ufffd'));
}
