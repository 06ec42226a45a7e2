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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.resolve(process.env.SWITCHBOARD_BENCH_DIST ?? path.join(ROOT, 'dist'));
const dist = (p) => import(pathToFileURL(path.join(DIST, p)).href);
const size = Number(process.argv[2] ?? 50);
const batches = Number(process.argv[3] ?? 400);

const { openStorage } = await dist('storage/open.js');
const { openConnection } = await dist('storage/sqlite/connection.js');
const { createSqliteAppend } = await dist('storage/sqlite/append.js');
const { newId } = await dist('domain/ids.js');
const { createHash, randomBytes } = await import('node:crypto');

const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-append-cpu-'));
const file = path.join(dir, 'a.db');
try {
  const storage = await openStorage(`sqlite:${file}`);
  await storage.migrate();
  const sourceId = newId('src');
  await storage.sources.create({ id: sourceId, name: 'bench', tokenHash: 'x', tokenHint: 'x', createdAt: Date.now() });
  await storage.close();
  // As the writer thread opens it (writer-worker.ts).
  const db = openConnection(file);
  db.pragma('cache_size = -16384');
  db.pragma('wal_autocheckpoint = 0');
  for (const name of (process.env.DROP_INDEXES ?? '').split(',').filter(Boolean)) db.exec(`drop index ${name}`);
  const append = createSqliteAppend(db);
  const template = readFileSync(path.join(ROOT, 'bench', 'fixtures', 'end_call.json'), 'utf8');
  const prefix = randomBytes(9).toString('hex');
  let n = 0;
  const batch = () =>
    Array.from({ length: size }, () => {
      const body = Buffer.from(template.replace(/("call_id"\s*:\s*")[^"]*(")/, `$1${prefix}${String(n++).padStart(14, '0')}$2`));
      return {
        id: newId('evt'), sourceId, callId: `${prefix}${String(n - 1).padStart(14, '0')}`, type: 'end_call', status: 'ok', errorCode: null,
        errorDetail: null, contentType: 'application/json', body, bodyHash: createHash('sha256').update(body).digest('hex'),
        bodySize: body.length, bodyTruncated: false, receivedAt: Date.now(),
      };
    });
  for (let i = 0; i < 40; i++) append(batch()); // warm-up
  const prepared = Array.from({ length: batches }, batch);
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
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
