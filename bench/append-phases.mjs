#!/usr/bin/env node
// Where the SQLite append's time goes, phase by phase (issue 15, the writer thread): the same statements and
// plan as storage/sqlite/append.ts, in one thread on a migrated file, batches of `size` fresh end_call events
// (the ingest bench's fixture, a new call_id each), each phase timed (wall µs per event: without the fsync,
// wall is the thread's CPU) beside the process's CPU per event, then the WAL frames each commit wrote.
//
//   node bench/append-phases.mjs [size=50] [batches=300]          (needs `npx tsc -p tsconfig.build.json`)
//   SWITCHBOARD_BENCH_DIST=/tmp/base/dist ...   another build
//   SYNC=OFF ...                                 no fsync (the commit's CPU alone)
//   WHO=1 ...                                    WAL frames per commit by table and index (dbstat)
//   SWITCHBOARD_BENCH_CALL_IDS=scattered ...     call_ids as Convolo's (random-looking)
//   SWITCHBOARD_BENCH_SPREAD=1 ...               the other fields as a busy account's (lib/append-db.mjs)
//   DROP_INDEXES=a,b ...                         without those indexes
//   MULTI=ec ...                                 events (e) and calls (c) in multi-row statements of up to 64 rows
//                                                (measured and not kept: docs/benchmarks.md, the writer's round)
import { readFileSync, statSync } from 'node:fs';
import { dist, openWriterDatabase } from './lib/append-db.mjs';

const size = Number(process.argv[2] ?? 50), batches = Number(process.argv[3] ?? 300);
const ap = await dist('storage/shared/append-plan.js');
const { callColumns, callToRow, rowToCall } = await dist('storage/shared/call-rows.js');
const { eventColumns, toRow } = await dist('storage/shared/event-rows.js');
// A build with migration 0017 numbers the events as its append does (storage/sqlite/append.ts).
const { numberFresh } = await dist('storage/sqlite/append.js');
const { rowToFilters } = await dist('storage/shared/destination-rows.js');
const { db, file, batch: makeBatch, close } = await openWriterDatabase('sb-append-phases-');
db.pragma(`synchronous = ${process.env.SYNC ?? 'FULL'}`);
// A build with migration 0017 keys the events that write their call by the call's first seq (call_seq): its
// statements are used when the file has that column (storage/sqlite/append.ts).
const byCallRow = db.prepare('select 1 from pragma_table_info(?) where name = ?').get('events', 'call_seq') !== undefined;
const insertEvent = byCallRow
  ? db.prepare(`insert into events (${eventColumns.join(', ')}, seq, call_seq) values (${eventColumns.map((c) => `@${c}`).join(', ')}, ?, ?)`)
  : db.prepare(`insert into events (${eventColumns.join(', ')}) values (${eventColumns.map((c) => `@${c}`).join(', ')})`);
const lastSeq = byCallRow
  ? db.prepare(`select max(coalesce((select seq from sqlite_sequence where name = 'events'), 0), coalesce((select max(seq) from events), 0))`).pluck()
  : null;
const findEvent = byCallRow
  ? { get: (callId, sourceId, bodyHash, firstSeq) => (firstSeq == null ? findByCallId.get(callId, sourceId, bodyHash) : findByCallRow.get(firstSeq, bodyHash)) }
  : db.prepare('select id, seq from events where call_id = ? and source_id = ? and body_hash = ?');
const findByCallId = byCallRow ? db.prepare('select id, seq from events where call_id = ? and source_id = ? and body_hash = ? and call_seq is null') : null;
const findByCallRow = byCallRow ? db.prepare('select id, seq from events where call_seq = ? and body_hash = ?') : null;
const findCall = db.prepare('select * from calls where call_id = ? and source_id = ?');
const allCallColumns = ['source_id', 'call_id', ...callColumns];
const upsertCall = byCallRow
  ? db.prepare(`insert into calls (${allCallColumns.join(', ')}, first_seq) values (${allCallColumns.map((c) => `@${c}`).join(', ')}, ?)`)
  : db.prepare(`insert into calls (${allCallColumns.join(', ')}) values (${allCallColumns.map((c) => `@${c}`).join(', ')})
     on conflict (call_id, source_id) do update set ${callColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`);
const activeDestinations = db.prepare('select * from destinations where deleted_at is null and disabled_at is null');
const MULTI = process.env.MULTI ?? '';
const cache = new Map();
function multi(table, cols, n, tail = '') {
  const k = `${table} ${n}`;
  let st = cache.get(k);
  if (!st) {
    const row = `(${cols.map(() => '?').join(', ')})`;
    st = db.prepare(`insert into ${table} (${cols.join(', ')}) values ${Array(n).fill(row).join(', ')}${tail}`);
    cache.set(k, st);
  }
  return st;
}
const callTail = ` on conflict (call_id, source_id) do update set ${callColumns.map((c) => `${c} = excluded.${c}`).join(', ')}`;
// rows: arrays of values, in chunks of powers of two up to 64 (a handful of statements prepared once each)
function insertMany(table, cols, rows, tail) {
  let last = 0;
  for (let at = 0; at < rows.length; ) {
    let n = 64; while (n > rows.length - at) n >>= 1;
    const params = [];
    for (let i = at; i < at + n; i++) for (const v of rows[i]) params.push(v);
    last = Number(multi(table, cols, n, tail).run(params).lastInsertRowid);
    at += n;
  }
  return last;
}
const begin = db.prepare('begin immediate'), commit = db.prepare('commit');
const T = {};
let t = 0;
const lap = (k) => { const n = performance.now(); T[k] = (T[k] ?? 0) + (n - t); t = n; };
function append(batch) {
  t = performance.now();
  begin.run(); lap('begin');
  const existing = new Map();
  const stored = new Map();
  for (const { sourceId, callId } of ap.callKeysToLoad(batch)) {
    const row = findCall.get(callId, sourceId);
    if (row) existing.set(ap.callKey(sourceId, callId), rowToCall(row));
    if (row) stored.set(ap.callKey(sourceId, callId), row);
  }
  lap('findCall');
  const known = new Map();
  // The stored calls: a build that reads them leaves out a new call's start or end (an older one ignores them).
  for (const c of ap.duplicateCandidates(batch, existing)) {
    const r = findEvent.get(c.callId, c.sourceId, c.bodyHash, c.writesCall ? stored.get(ap.callKey(c.sourceId, c.callId)).first_seq : null);
    if (r) known.set(ap.eventKey(c.sourceId, c.bodyHash), { id: r.id, seq: r.seq });
  }
  lap('findEvent');
  const plan = ap.planAppend(batch, known, existing);
  lap('plan');
  const text = ap.callText ? ap.callText(plan, 'tuple') : { callAfter: ap.callAfterJson(plan), callRow: callToRow };
  const callAfter = text.callAfter;
  lap('callText');
  const rows = plan.fresh.map(({ event }, i) => toRow(event, callAfter[i]));
  lap('toRow');
  let seqs, newCalls;
  if (MULTI.includes('e')) {
    const last = insertMany('events', eventColumns, rows.map((r) => eventColumns.map((c) => r[c])));
    seqs = rows.map((_, i) => last - rows.length + 1 + i);
  } else if (byCallRow) {
    const numbered = numberFresh(plan.fresh, lastSeq.get(), stored);
    rows.forEach((r, i) => insertEvent.run(r, numbered.seqs[i], numbered.callSeqs[i]));
    seqs = numbered.seqs;
    newCalls = numbered.newCalls;
  } else seqs = rows.map((r) => Number(insertEvent.run(r).lastInsertRowid));
  lap('insertEvent');
  const results = ap.recordInserted(plan, seqs);
  const crows = plan.touched.map(text.callRow);
  lap('callToRow');
  if (MULTI.includes('c')) insertMany('calls', allCallColumns, crows.map((r) => allCallColumns.map((c) => r[c] ?? null)), callTail);
  // The batches hold new calls only (a new call_id each): an insert, with the call's key.
  else if (byCallRow) plan.touched.forEach((call, i) => upsertCall.run(crows[i], newCalls.get(ap.callKey(call.source_id, call.call_id))));
  else for (const r of crows) upsertCall.run(r);
  lap('upsertCall');
  ap.queueOutbox(plan, seqs, activeDestinations.all().map(rowToFilters));
  lap('outbox');
  commit.run(); lap('commit');
  return results;
}
const batch = () => makeBatch(size);
for (let i = 0; i < 40; i++) append(batch());
for (const k of Object.keys(T)) T[k] = 0;
db.pragma('wal_checkpoint(TRUNCATE)');
const prepared = Array.from({ length: batches }, batch);
const cpu0 = process.cpuUsage();
for (const b of prepared) append(b);
const cpu = process.cpuUsage(cpu0);
const ev = batches * size;
const frameBytes = db.pragma('page_size', { simple: true }) + 24;
const frames = (statSync(file + '-wal').size - 32) / frameBytes;
if (process.env.WHO) {
  const wal = readFileSync(file + '-wal');
  const owner = new Map();
  try { for (const r of db.prepare('select name, pageno from dbstat').all()) owner.set(r.pageno, r.name); } catch (e) { console.log('no dbstat', e.message); }
  const count = new Map();
  for (let off = 32; off + frameBytes <= wal.length; off += frameBytes) { const pg = wal.readUInt32BE(off); const n = owner.get(pg) ?? `?${pg <= 2 ? pg : ''}`; count.set(n, (count.get(n) ?? 0) + 1); }
  console.log([...count].sort((a, b) => b[1] - a[1]).map(([n, c]) => `${n} ${(c / batches).toFixed(1)}`).join(', '));
}
console.log('frames/commit', (frames / batches).toFixed(1), 'KB WAL/event', (frames * frameBytes / ev / 1024).toFixed(1));
console.log(Object.entries(T).map(([k, v]) => `${k} ${((v * 1000) / ev).toFixed(1)}`).join(' | '), `| cpu ${((cpu.user + cpu.system) / ev).toFixed(1)} (sys ${(cpu.system / ev).toFixed(1)})`);
close();
