// Ingest under read load (issue 10): does a heavy read stall the ingest? For each backend (sqlite, postgres):
// start Switchboard once on an empty database, stop it, seed SWITCHBOARD_BENCH_READLOAD_CALLS (default
// 200,000) calls over the last SWITCHBOARD_BENCH_SPAN_DAYS (bench/lib/seed-calls.mjs), start it again, then
//   1. the ingest alone: wrk at 50 connections on POST /hooks/convolo/<token> (warm-up, then measured);
//   2. the same with 3 read clients (each its own API key, one request at a time, in a loop) asking the
//      heaviest reads: stats group_by=hour over 13 months in Europe/Stockholm, and the substring search `q`
//      that matches no call (it scans them all).
// Printed: the ingest p99 under the read load as a ratio to the ingest alone (target ≤ 2×), both absolute
// p50/p99 and req/s, and what the read clients got (answers by status, their p50); on PostgreSQL also the
// cores the database server used in each run.
//
// SWITCHBOARD_BENCH_READLOAD_STANDBY=1: PostgreSQL's reads go to a hot standby of the local cluster
// (SWITCHBOARD_DB_READ_URL), whose cores are printed apart. On one machine the standby shares its cores.
//
// Run through bench/run.mjs: `node bench/run.mjs readload [--only sqlite] [--duration 10] [--warmup 3]`.
import os from 'node:os';
import path from 'node:path';
import { restartSwitchboard } from './query.mjs';
import { fmt, gitDescribe, pgCreatedNote, writeResults } from './lib/report.mjs';
import { DAY_MS, seedPostgres, seedSqlite } from './lib/seed-calls.mjs';
import { BENCH_DIR, REPO_ROOT, forEachBackend, httpRequest, startFreshSwitchboard, stopServer } from './lib/servers.mjs';
import { ensureWrk, runEndCalls, wrkVersion } from './lib/wrk.mjs';
import { postgresTicks, postmasterOf } from './lib/pg-procs.mjs';
import { CLOCK_TICKS } from './lib/procfs.mjs';
import { createRequire } from 'node:module';

export const description = 'ingest p99 at 50 connections with 3 clients looping the heaviest reads, as a ratio to the ingest alone';
export const SERVERS = ['sqlite', 'postgres'];

const require = createRequire(path.join(REPO_ROOT, 'package.json'));
const RESULTS = path.join(BENCH_DIR, 'results', 'readload-latest.md');
const CONNECTIONS = 50;
const READERS = 3;
const TARGET_RATIO = 2;
const CALLS = Number(process.env.SWITCHBOARD_BENCH_READLOAD_CALLS ?? 200_000);
const STANDBY = process.env.SWITCHBOARD_BENCH_READLOAD_STANDBY === '1';
const log = (msg) => process.stderr.write(`[readload] ${msg}\n`);

/**
 * The heaviest reads the API has: hours over 13 months (9,500 buckets), and a search that scans every call
 * and parses every lead (its quote keeps the search from looking in the leads' JSON text first).
 */
function heavyReads(now) {
  const from = encodeURIComponent(new Date(now - 395 * DAY_MS).toISOString());
  const to = encodeURIComponent(new Date(now).toISOString());
  const reads = {
    stats: `/v1/stats?group_by=hour&tz=Europe/Stockholm&from=${from}&to=${to}`,
    search: `/v1/calls?q=${encodeURIComponent('matches "no" call at all')}&limit=50`,
  };
  // SWITCHBOARD_BENCH_READLOAD_READS=stats or =search: one kind only (to tell which one costs the ingest).
  const chosen = (process.env.SWITCHBOARD_BENCH_READLOAD_READS ?? 'stats,search').split(',').map((k) => k.trim());
  return chosen.map((k) => {
    if (!(k in reads)) throw new Error(`SWITCHBOARD_BENCH_READLOAD_READS: unknown read "${k}" (stats, search)`);
    return reads[k];
  });
}

/** A client asking `paths` in turn, one at a time, until stopped; counts answers by status. */
function startReader(baseUrl, key, paths, offset) {
  const { Pool } = require('undici');
  const pool = new Pool(baseUrl, { connections: 1 });
  const result = { statuses: {}, ms: [] };
  let stopped = false;
  const done = (async () => {
    for (let i = offset; !stopped; i++) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: 'GET', path: paths[i % paths.length], headers: { authorization: `Bearer ${key}` } });
        await res.body.dump();
        result.statuses[res.statusCode] = (result.statuses[res.statusCode] ?? 0) + 1;
        result.ms.push(performance.now() - t0);
      } catch (err) {
        result.statuses.error = (result.statuses.error ?? 0) + 1;
        if (stopped) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      await pool.close();
      return result;
    },
  };
}

/** `postmasters`: the PostgreSQL servers whose cores the measured run reports (by name). */
async function ingestRun(url, opts, postmasters = {}) {
  // The warm-up and the measured run each post calls of their own (a shared prefix made the measured run
  // repeat the warm-up's first calls, as duplicates).
  if (opts.warmup > 0) await runEndCalls({ url, connections: CONNECTIONS, seconds: opts.warmup });
  const before = Object.fromEntries(Object.entries(postmasters).map(([name, pid]) => [name, postgresTicks(pid)]));
  const t0 = performance.now();
  const r = await runEndCalls({ url, connections: CONNECTIONS, seconds: opts.duration });
  const secs = (performance.now() - t0) / 1000;
  const cores = Object.fromEntries(Object.entries(postmasters).map(([name, pid]) => [name, (postgresTicks(pid) - before[name]) / CLOCK_TICKS / secs]));
  return { rps: r.requests / (r.duration_us / 1e6), p50Ms: r.latency_us.p50 / 1000, p99Ms: r.latency_us.p99 / 1000, non2xx: r.non2xx, cores };
}

/** Waits until the standby at `readUrl` has replayed what the primary at `db` had written. */
async function caughtUp(db, readUrl) {
  const { Client } = require('pg');
  const connect = async (url) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    return c;
  };
  const primary = await connect(db);
  const { rows } = await primary.query('select pg_current_wal_lsn()::text as lsn');
  await primary.end();
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const standby = await connect(readUrl);
      try {
        const { rows: r } = await standby.query('select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [rows[0].lsn]);
        if (r[0].done) return;
      } finally {
        await standby.end();
      }
    } catch {
      // the database not replayed yet
    }
    if (Date.now() > deadline) throw new Error('the standby did not catch up within 120 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runBackend(kind, { pg, pgError, opts }) {
  const out = { kind, error: null };
  let server = null;
  try {
    log(`${kind}: first start on an empty database`);
    const fresh = await startFreshSwitchboard(kind, { pg, pgError });
    const { adminKey, db } = fresh;
    const ingestPath = new URL(fresh.url).pathname;
    const stopped = await stopServer(fresh);
    if (!stopped.ok) throw new Error(`first server: ${stopped.detail}`);
    const now = Date.now();
    log(`${kind}: seeding ${CALLS} calls`);
    if (kind === 'sqlite') seedSqlite(db.slice('sqlite:'.length), { n: CALLS, now, log });
    else await seedPostgres(db, { n: CALLS, now, log });
    const env = {};
    const postmasters = {};
    if (kind === 'postgres') {
      postmasters.postgres = await postmasterOf(db);
      if (STANDBY) {
        log(`${kind}: starting a hot standby for the reads`);
        env.SWITCHBOARD_DB_READ_URL = await pg.startStandby(db);
        await caughtUp(db, env.SWITCHBOARD_DB_READ_URL);
        postmasters.standby = await postmasterOf(env.SWITCHBOARD_DB_READ_URL);
      }
    }
    server = await restartSwitchboard(db, { env });
    const url = `${server.baseUrl}${ingestPath}`;

    log(`${kind}: ingest alone, ${CONNECTIONS} connections`);
    out.alone = await ingestRun(url, opts, postmasters);
    // Each read client its own key: the per-key limit of expensive requests is not what is measured here.
    const keys = [];
    for (let i = 0; i < READERS; i++) {
      const res = await httpRequest(`${server.baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `reader ${i}`, scope: 'read' }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/keys answered ${res.status}: ${res.body.slice(0, 200)}`);
      keys.push(JSON.parse(res.body).key);
    }
    const paths = heavyReads(Date.now());
    log(`${kind}: ingest with ${READERS} clients looping ${paths.length} heavy reads`);
    const readers = keys.map((key, i) => startReader(server.baseUrl, key, paths, i));
    try {
      out.loaded = await ingestRun(url, opts, postmasters);
    } finally {
      out.reads = await Promise.all(readers.map((r) => r.stop()));
    }
    out.ratio = out.loaded.p99Ms / out.alone.p99Ms;
    const sorted = out.reads.flatMap((r) => r.ms).sort((a, b) => a - b);
    out.readCount = sorted.length;
    out.readP50Ms = sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
    out.statuses = {};
    for (const r of out.reads) for (const [s, n] of Object.entries(r.statuses)) out.statuses[s] = (out.statuses[s] ?? 0) + n;
    log(
      `${kind}: ingest p99 ${fmt(out.alone.p99Ms, 2)} ms alone, ${fmt(out.loaded.p99Ms, 2)} ms under reads: ${fmt(out.ratio, 2)}× ` +
        `(${out.readCount} reads, p50 ${fmt(out.readP50Ms, 0)} ms, ${JSON.stringify(out.statuses)})`,
    );
    if (kind === 'postgres') log(`${kind}: database cores alone ${coresText(out.alone.cores)}, under reads ${coresText(out.loaded.cores)}`);
  } catch (err) {
    out.error = err.message;
    log(`${kind}: FAILED: ${err.message}`);
  } finally {
    if (server) await stopServer(server);
  }
  return out;
}

const coresText = (cores) => Object.entries(cores).map(([name, c]) => `${name} ${fmt(c, 2)}`).join(', ') || '—';

export async function run(opts) {
  const only = opts.only ?? SERVERS;
  const kinds = SERVERS.filter((s) => only.includes(s));
  ensureWrk(log);
  const started = new Date();
  const { rows, pg } = await forEachBackend(kinds, (kind, pgs) => runBackend(kind, { ...pgs, opts }));
  const verdict = (r) => (r.error ? '✘ did not run' : r.ratio <= TARGET_RATIO && r.loaded.non2xx === 0 ? '✔' : '✘');
  const md = [
    `## Ingest under read load — ${started.toISOString()}`,
    '',
    `commit ${gitDescribe()} · node ${process.version} · wrk ${wrkVersion()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
    `${CALLS} seeded calls · wrk -c${CONNECTIONS} on the ingest, warm-up ${opts.warmup} s then ${opts.duration} s, alone and then with ` +
      `${READERS} clients (a key each) looping stats group_by=hour over 13 months and a q search that scans every call` +
      (STANDBY ? ' · PostgreSQL: the reads on a hot standby of the cluster, on the same machine' : ''),
    '',
    '| server | ingest alone req/s | p50 ms | p99 ms | under reads req/s | p50 ms | p99 ms | p99 ratio | non-2xx | reads done (p50 ms) | read answers | database cores alone / under reads | target | |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|',
    ...rows.map((r) =>
      r.error
        ? `| ${r.kind} | — | — | — | — | — | — | — | — | — | — | — | ≤ ${TARGET_RATIO}× | ${verdict(r)}: ${r.error.split('\n')[0]} |`
        : `| ${r.kind} | ${fmt(r.alone.rps)} | ${fmt(r.alone.p50Ms, 2)} | ${fmt(r.alone.p99Ms, 2)} | ${fmt(r.loaded.rps)} | ` +
          `${fmt(r.loaded.p50Ms, 2)} | ${fmt(r.loaded.p99Ms, 2)} | ${fmt(r.ratio, 2)}× | ${r.alone.non2xx + r.loaded.non2xx} | ` +
          `${r.readCount} (${fmt(r.readP50Ms, 0)}) | ${Object.entries(r.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')} | ` +
          `${coresText(r.alone.cores)} / ${coresText(r.loaded.cores)} | ≤ ${TARGET_RATIO}× | ${verdict(r)} |`,
    ),
    ...pgCreatedNote(pg),
    '',
  ].join('\n');
  await writeResults(RESULTS, md, log);
  return { ok: rows.every((r) => !r.error), targetsMet: rows.every((r) => verdict(r) === '✔') };
}
