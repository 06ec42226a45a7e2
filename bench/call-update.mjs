#!/usr/bin/env node
// What an end_call's write of its stored call costs on SQLite (issue 15), in the two shapes the append has
// used: the upsert setting every column (before), and an UPDATE of only the columns the merge changed
// (storage/sqlite/append.ts, changedColumnsUpdate). A fresh database with Switchboard's schema
// (`switchboard migrate`) holds `calls` in-progress calls with spread values (random phone numbers, five
// widgets, start times 100 ms apart); then 3,000 of the older ones end, 18 to a transaction (the ingest's
// batch), synchronous off so that only the work shows. Prints, per shape, CPU µs and WAL bytes per update.
// The ingest bench's fixture gives every call the same phone, widget and start, so its index entries stay
// together and it cannot show this; the production spread does.
//
//   node bench/call-update.mjs [calls=60000] [rounds=2]      (needs `npx tsc -p tsconfig.build.json`)
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { callColumns } = await import(pathToFileURL(path.join(ROOT, 'dist', 'storage', 'shared', 'call-rows.js')).href);
const count = Number(process.argv[2] ?? 60000);
const rounds = Number(process.argv[3] ?? 2);
const ENDS = 3000;
const BATCH = 18;

const lead = JSON.stringify({ lead_id: '01FJMF4H421TYD6VAEW63BZM06', name: 'x'.repeat(300), custom_params: { a: 'b'.repeat(200) } });
const agent = JSON.stringify({ id: 7, name: 'Agent', phone: '+46700000000', email: 'a@example.com' });
const t0 = 1_760_000_000_000;

function started(i) {
  const phone = String(46_000_000_000 + Math.floor(Math.random() * 1e9));
  const row = Object.fromEntries(callColumns.map((c) => [c, null]));
  return Object.assign(row, {
    source_id: 'src_bench', call_id: `${i.toString(36)}${Math.random().toString(36).slice(2)}`, user_id: 1, widget_key: `w${i % 5}`,
    widget_name: 'W', status: 'in_progress', timezone: 'Europe/Stockholm', is_delayed_call: 0, called_lead_phone: `+${phone}`,
    lead, started_at: t0 + i * 100, lead_created_at: t0 + i * 100 - 5000, speed_to_lead_sec: 5, first_event_at: t0 + i * 100,
    last_event_at: t0 + i * 100, event_count: 1, merge_rank: 1, lead_phone_digits: phone, called_phone_digits: phone,
  });
}

function ended(r, i) {
  return {
    ...r, status: 'answered', agent, agent_id: 7, agent_answered_at: r.started_at + 3000, lead_answered_at: r.started_at + 6000,
    ended_at: r.started_at + 60000, answer_duration_sec: 3, lead_answer_duration_sec: 6, talk_duration_sec: 54, total_duration_sec: 60,
    disconnected_by: 'agent', recording_link: `https://rec.example/${i}`, time_to_connect_sec: 11, last_event_at: r.started_at + 60000,
    event_count: 2, merge_rank: 2,
  };
}

function run(shape) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-call-update-'));
  const file = path.join(dir, 'calls.db');
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'index.js'), 'migrate', '--db', `sqlite:${file}`], { stdio: 'ignore' });
    const db = new Database(file);
    db.pragma('journal_mode = wal');
    db.pragma('synchronous = off');
    db.pragma('wal_autocheckpoint = 0');
    const all = ['source_id', 'call_id', ...callColumns];
    const upsert = db.prepare(`insert into calls (${all.join(', ')}) values (${all.map((c) => `@${c}`).join(', ')})
      on conflict (call_id, source_id) do update set ${callColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`);
    const rows = Array.from({ length: count }, (_, i) => started(i));
    const insert = db.transaction((batch) => { for (const r of batch) upsert.run(r); });
    for (let i = 0; i < rows.length; i += 500) insert(rows.slice(i, i + 500));
    db.pragma('wal_checkpoint(TRUNCATE)');
    const from = Math.floor(count / 3);
    const ends = rows.slice(from, from + ENDS).map(ended);
    const changed = callColumns.filter((c) => ends[0][c] !== rows[from][c]);
    const update = db.prepare(`update calls set ${changed.map((c) => `${c} = @${c}`).join(', ')} where call_id = @call_id and source_id = @source_id`);
    const write = db.transaction((batch) => { for (const r of batch) (shape === 'every column' ? upsert : update).run(r); });
    const walBefore = statSync(`${file}-wal`).size;
    const cpu = process.cpuUsage();
    for (let i = 0; i < ends.length; i += BATCH) write(ends.slice(i, i + BATCH));
    const used = process.cpuUsage(cpu);
    const wal = statSync(`${file}-wal`).size - walBefore;
    db.close();
    return { shape, cpuUsPerUpdate: Math.round((used.user + used.system) / ENDS * 10) / 10, walBytesPerUpdate: Math.round(wal / ENDS), changedColumns: shape === 'every column' ? callColumns.length : changed.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let r = 0; r < rounds; r++) {
  for (const shape of ['every column', 'changed columns']) process.stdout.write(`${JSON.stringify(run(shape))}\n`);
}
