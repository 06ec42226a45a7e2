#!/usr/bin/env node
// One quick measurement of the SQLite ingest's cost, for comparing builds alternately (issue 15): a fresh
// Switchboard on SQLite, wrk with the ingest bench's load (end_call, fresh call_id per request) for a 2 s
// warm-up then `seconds`, and the server's CPU per acknowledged event by thread name (main, sb-writer,
// sb-admin, sb-reader, and `node`: V8's platform threads — mostly the garbage collector's helpers — and
// libuv's), bytes written per event, read and write system calls per event (sockets and files), events per group commit, req/s, p99, peak RSS and the sizes of the database and WAL files, printed as one JSON line.
//
//   node bench/thread-cpu.mjs [connections=50] [seconds=8]
//   SWITCHBOARD_BENCH_CLI=/tmp/base/dist/cli/index.js node bench/thread-cpu.mjs   # another build
//   PERF=/tmp/perf.data ...   also records `perf record -g` of the server during the measured run
//   SWITCHBOARD_BENCH_CALLS=whole ...   whole calls (a start_call, and 2,000 calls later its end_call) instead of
//     end_calls of new calls: half the events then update a stored call, as in production
//   SWITCHBOARD_BENCH_FIXTURE=bench/fixtures/end_call.simulated.json SWITCHBOARD_BENCH_START_FIXTURE=bench/fixtures/start_call.simulated.json ...
//     longer bodies (as `switchboard simulate` makes them) instead of Convolo's documented examples
//   SWITCHBOARD_BENCH_CALL_IDS=scattered ...   call_ids spread over the key space as Convolo's are (random-looking
//     hex) instead of counting up, so each new call lands on its own page of every index keyed by call_id
//   SWITCHBOARD_BENCH_KIND=postgres ...   the same on PostgreSQL (a throwaway cluster, or SWITCHBOARD_BENCH_PG_URL's
//     server, a fresh database each run); adds PostgreSQL's CPU per event (the postmaster and every backend) and
//     its WAL per event (pg_stat_wal, the whole cluster: bytes, records, full-page images, and the WAL flushes
//     that commits waited for), and its CPU per event by role (the backends of each of Switchboard's pools by
//     their application_name, the server's own processes by type)
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { postgresTicks, postgresTicksByRole, postmasterOf, ticksByRoleBetween } from './lib/pg-procs.mjs';
import { CLOCK_TICKS, ioCounters, memoryKb, processTicks, startRssSampler, threadTicks } from './lib/procfs.mjs';
import { SWITCHBOARD_CLI, openPostgres, startFreshSwitchboard, stopServer } from './lib/servers.mjs';
import { ensureWrk, runEndCalls, runWholeCalls } from './lib/wrk.mjs';
import pg from 'pg';

const conns = Number(process.argv[2] ?? 50);
const seconds = Number(process.argv[3] ?? 8);
/** Group commits so far (the server's switchboard_commit_batch_size_count), to print events per commit. */
const commits = async () => {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(text.match(/^switchboard_commit_batch_size_count (\S+)/m)?.[1] ?? NaN);
};
/** SWITCHBOARD_BENCH_CALLS=whole: start_call then, 2,000 calls later, end_call (runWholeCalls); else end_calls of new calls. */
const whole = process.env.SWITCHBOARD_BENCH_CALLS === 'whole';
const load = (secs) => (whole ? runWholeCalls : runEndCalls)({ url: server.url, connections: conns, seconds: secs });

ensureWrk((m) => process.stderr.write(`${m}\n`));
const kind = process.env.SWITCHBOARD_BENCH_KIND ?? 'sqlite';
const pgServer = kind === 'postgres' ? await openPostgres() : null;
const server = await startFreshSwitchboard(kind, { pg: pgServer });
const postmaster = pgServer ? await postmasterOf(server.db) : null;
/** PostgreSQL's WAL counters so far (the cluster's), or null on SQLite. */
const walStats = async () => {
  if (!pgServer) return null;
  const client = new pg.Client({ connectionString: server.db });
  await client.connect();
  try {
    const { rows } = await client.query('select wal_records, wal_fpi, wal_bytes, wal_sync from pg_stat_wal');
    return Object.fromEntries(Object.entries(rows[0]).map(([k, v]) => [k, Number(v)]));
  } finally {
    await client.end();
  }
};
try {
  await load(2);
  const perf = process.env.PERF
    ? spawn('perf', ['record', '-F', '999', '-g', '-p', String(server.pid), '-o', process.env.PERF], { stdio: 'ignore' })
    : null;
  const rss = startRssSampler(server.pid, 200);
  const t0 = threadTicks(server.pid);
  const p0 = processTicks(server.pid);
  const io0 = ioCounters(server.pid);
  const g0 = postmaster ? postgresTicks(postmaster) : 0;
  const roles0 = postmaster ? await postgresTicksByRole(postmaster, server.db) : null;
  const c0 = await commits();
  const wal0 = await walStats();
  const r = await load(seconds);
  const wal1 = await walStats();
  const c1 = await commits();
  const g1 = postmaster ? postgresTicks(postmaster) : 0;
  const roles1 = postmaster ? await postgresTicksByRole(postmaster, server.db) : null;
  const t1 = threadTicks(server.pid);
  const p1 = processTicks(server.pid);
  const io1 = ioCounters(server.pid);
  const peak = Math.max(rss.stop().maxKb, memoryKb(server.pid)?.hwm ?? 0);
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((resolve) => perf.once('exit', resolve));
  }
  const acked = r.requests - r.non2xx;
  const us = (ticks) => Math.round((ticks * 1e6) / CLOCK_TICKS / acked);
  const byThread = {};
  for (const [tid, t] of t1) {
    const name = tid === server.pid ? 'main' : t.name;
    byThread[name] = (byThread[name] ?? 0) + t.ticks - (t0.get(tid)?.ticks ?? 0);
  }
  for (const k of Object.keys(byThread)) byThread[k] = us(byThread[k]);
  process.stdout.write(
    `${JSON.stringify({
      build: path.relative(process.cwd(), SWITCHBOARD_CLI),
      conns,
      rps: Math.round(acked / (r.duration_us / 1e6)),
      p99Ms: r.latency_us.p99 / 1000,
      cpuUsPerEvent: us(p1.own - p0.own),
      byThread,
      ...(postmaster ? { postgresCpuUsPerEvent: us(g1 - g0) } : {}),
      ...(roles0 && roles1
        ? {
            postgresByRole: Object.fromEntries(
              Object.entries(ticksByRoleBetween(roles0, roles1))
                .map(([role, ticks]) => [role, us(ticks)])
                .filter(([, v]) => v > 0)
                .sort((a, b) => b[1] - a[1]),
            ),
          }
        : {}),
      ...(wal0 && wal1
        ? {
            walPerEvent: {
              bytes: Math.round((wal1.wal_bytes - wal0.wal_bytes) / acked),
              records: Math.round((10 * (wal1.wal_records - wal0.wal_records)) / acked) / 10,
              fpi: Math.round((100 * (wal1.wal_fpi - wal0.wal_fpi)) / acked) / 100,
              syncs: Math.round((100 * (wal1.wal_sync - wal0.wal_sync)) / acked) / 100,
            },
          }
        : {}),
      eventsPerCommit: Math.round((10 * acked) / (c1 - c0)) / 10,
      writtenBytesPerEvent: Math.round(((io1?.writeBytes ?? 0) - (io0?.writeBytes ?? 0)) / acked),
      ...(io0 && io1 ? { syscallsPerEvent: { reads: Math.round((100 * (io1.reads - io0.reads)) / acked) / 100, writes: Math.round((100 * (io1.writes - io0.writes)) / acked) / 100 } } : {}),
      peakRssMb: Math.round(peak / 1024),
      ...(kind === 'sqlite'
        ? {
            walMb: Math.round(statSync(`${server.db.slice('sqlite:'.length)}-wal`).size / 1048576),
            dbMb: Math.round(statSync(server.db.slice('sqlite:'.length)).size / 1048576),
          }
        : {}),
      non2xx: r.non2xx,
    })}\n`,
  );
} finally {
  await stopServer(server);
  await server.removeData();
  await pgServer?.close();
}
