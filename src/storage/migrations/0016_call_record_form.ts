import { sql, type Kysely } from 'kysely';

/**
 * 0016: how an event's call record (`call_after`) is stored — as the JSON object of the record, as before, or
 * as a JSON array of its values ("tuple"), ~45 % shorter (docs/benchmarks.md, 2026-12-04). This version reads
 * both; versions before it read only the object.
 *
 * - SQLite writes the tuple from this version on: one process owns the file, so no earlier version reads it
 *   meanwhile. Nothing changes in the schema; this migration's record is what makes an earlier version refuse
 *   to open the file (Kysely: "previously executed migration … is missing") rather than misread its records.
 * - PostgreSQL: nodes of the previous version may run beside this one during a rolling upgrade, and would
 *   misread a tuple. The one row of `switchboard_record_form` says which form appends write: `tuple` on a
 *   database no node has used yet (no source, no event: a first start; an older node refuses to start once
 *   this is recorded — the one gap is an older node that started at the same moment on the same new
 *   database and got past its own migrations before this one ran), `object` otherwise, until
 *   `switchboard migrate --compact-records` sets `tuple` once the last node of an earlier version stopped.
 *
 * Shipped migrations never change: this file imports nothing of the project (only kysely).
 */
export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  await db.schema
    .createTable('switchboard_record_form')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('form', 'text', (c) => c.notNull().check(sql`form in ('object', 'tuple')`))
    .execute();
  await sql`insert into switchboard_record_form (id, form)
    select 1, case when exists (select 1 from sources) or exists (select 1 from events) then 'object' else 'tuple' end`.execute(db);
}
