// What the SQLite append benchmarks share (bench/append-cpu.mjs, append-phases.mjs, append-js-cpu.mjs): a migrated database
// file with one source, opened as the writer thread opens it (storage/sqlite/writer-worker.ts), and batches of
// fresh end_call events (the ingest bench's fixture, a new call_id each).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The build to measure: SWITCHBOARD_BENCH_DIST (a copy of another build's dist/) or this checkout's. */
export const DIST = path.resolve(process.env.SWITCHBOARD_BENCH_DIST ?? path.join(ROOT, 'dist'));
export const dist = (p) => import(pathToFileURL(path.join(DIST, p)).href);

/**
 * An end_call as one of a busy account's: 20 widgets, 50 agents, answered 60 % / no_answer 20 % / missed 20 %,
 * a lead phone of its own, started a minute before it arrives (the fixture's fields are all one value and its
 * times fixed in 2020, so the call list's indexes by widget, agent, status and phone each grow at one place).
 */
function spreadAsAnAccount(text, receivedAt) {
  const call = JSON.parse(text);
  const r = Math.random();
  call.widget_key = `widget-${Math.floor(Math.random() * 20)}`;
  call.agent = { ...call.agent, id: Math.floor(Math.random() * 50) };
  call.call_status = r < 0.6 ? 'answered' : r < 0.8 ? 'no_answer' : 'missed';
  call.lead = { ...call.lead, lead_phone: `+4670${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}` };
  call.time_started_iso_string = new Date(receivedAt - 60_000).toISOString();
  call.time_ended_iso_string = new Date(receivedAt).toISOString();
  return JSON.stringify(call);
}

/**
 * A maker of batches: `batch(size)` gives `size` new end_call events of the source, each a new call
 * (SWITCHBOARD_BENCH_CALL_IDS=scattered: call_ids as Convolo's; SWITCHBOARD_BENCH_SPREAD=1: the other fields
 * as a busy account's, spreadAsAnAccount).
 */
export function endCallBatches(sourceId, newId) {
  const template = readFileSync(path.join(ROOT, 'bench', 'fixtures', 'end_call.json'), 'utf8');
  const callPrefix = randomBytes(9).toString('hex');
  const scattered = process.env.SWITCHBOARD_BENCH_CALL_IDS === 'scattered';
  const spread = process.env.SWITCHBOARD_BENCH_SPREAD === '1';
  let n = 0;
  return (size) =>
    Array.from({ length: size }, () => {
      // SWITCHBOARD_BENCH_CALL_IDS=scattered: spread over the key space as Convolo's are (bench/lib/wrk.mjs).
      const callId = scattered ? randomBytes(16).toString('hex') : `${callPrefix}${String(n++).padStart(14, '0')}`;
      const receivedAt = Date.now();
      let text = template.replace(/("call_id"\s*:\s*")[^"]*(")/, `$1${callId}$2`);
      if (spread) text = spreadAsAnAccount(text, receivedAt);
      const body = Buffer.from(text);
      return {
        id: newId('evt'), sourceId, callId, type: 'end_call', status: 'ok', errorCode: null, errorDetail: null,
        contentType: 'application/json', body, bodyHash: createHash('sha256').update(body).digest('hex'), bodySize: body.length,
        bodyTruncated: false, receivedAt,
      };
    });
}

/**
 * `{ db, file, batch(size), close() }`: the connection (cache_size and wal_autocheckpoint as the writer sets
 * them, DROP_INDEXES=a,b dropped) and a maker of batches; close() removes the file.
 */
export async function openWriterDatabase(prefix) {
  const { openStorage } = await dist('storage/open.js');
  const { openConnection } = await dist('storage/sqlite/connection.js');
  const { newId } = await dist('domain/ids.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = path.join(dir, 'a.db');
  try {
    const storage = await openStorage(`sqlite:${file}`);
    await storage.migrate();
    const sourceId = newId('src');
    await storage.sources.create({ id: sourceId, name: 'bench', tokenHash: 'x', tokenHint: 'x', createdAt: Date.now() });
    await storage.close();
    const db = openConnection(file);
    db.pragma('cache_size = -16384');
    db.pragma('wal_autocheckpoint = 0');
    for (const name of (process.env.DROP_INDEXES ?? '').split(',').filter(Boolean)) db.exec(`drop index ${name}`);
    const batch = endCallBatches(sourceId, newId);
    const close = () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { db, file, batch, close };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
