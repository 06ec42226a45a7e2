#!/usr/bin/env node
// The SQLite append alone, in one thread, without HTTP (issue 15): a migrated database file, then batches of
// `size` fresh end_call events (the ingest bench's fixture, a new call_id each) through createSqliteAppend
// (the writer thread's code: dedupe, call merge, events, calls, outbox), synchronous=FULL as in production.
// Prints CPU per event (user + system of this process) and the wall time per batch; --cpu-prof on the node
// command line profiles just this.
//
//   node bench/append-cpu.mjs [size=50] [batches=400]      (needs `npx tsc -p tsconfig.build.json`)
//   DROP_INDEXES=calls_agent_list,calls_source_list node bench/append-cpu.mjs   # the cost of those indexes
//   SWITCHBOARD_BENCH_DIST=/tmp/base/dist node bench/append-cpu.mjs             # another build
import { dist, openWriterDatabase } from './lib/append-db.mjs';

const size = Number(process.argv[2] ?? 50);
const batches = Number(process.argv[3] ?? 400);

const { createSqliteAppend } = await dist('storage/sqlite/append.js');
const { db, batch, close } = await openWriterDatabase('sb-append-cpu-');
try {
  const append = createSqliteAppend(db);
  for (let i = 0; i < 40; i++) append(batch(size)); // warm-up
  const prepared = Array.from({ length: batches }, () => batch(size));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of prepared) append(b);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const events = batches * size;
  console.log(
    `${((cpu.user + cpu.system) / events).toFixed(1)} µs CPU per event (user ${(cpu.user / events).toFixed(1)}, system ${(cpu.system / events).toFixed(1)}), ` +
      `${(wall / batches).toFixed(2)} ms wall per batch of ${size}`,
  );
} finally {
  close();
}
