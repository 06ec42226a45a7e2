#!/usr/bin/env node
// The sequencer catching up with a backlog on PostgreSQL (issue 14). A transaction held open on the
// cluster holds the watermark back (docs/scale-out.md), so that everything ingested meanwhile waits for its
// seq; then it ends, and the sequencer numbers the backlog in ticks of up to 5,000 rows. Printed as one
// JSON line: the events acknowledged while held, the ingest's rate (wrk, 64 connections: the baseline of
// the same run), how long the backlog took to get its seq after the transaction ended, that catch-up's
// rate and its ratio to the ingest's. The log must end dense: seq 1..N, none left without one.
// The database first holds `prefill` events with their seq, analyzed, as a database that has run for a
// while: its statistics count almost no rows without seq, and a backlog is not enough change to make
// anything analyze the table again before it is sequenced.
//
//   node bench/sequencer-backlog.mjs [seconds=6] [prefill=300000]
//   SWITCHBOARD_BENCH_CLI=/tmp/base/dist/cli/index.js node bench/sequencer-backlog.mjs   # another build
//   SWITCHBOARD_BENCH_PG_URL=postgres://…   an existing server (a fresh database each run)
import path from 'node:path';
import pg from 'pg';
import { SWITCHBOARD_CLI, openPostgres, startFreshSwitchboard, stopServer } from './lib/servers.mjs';
import { ensureWrk, runEndCalls } from './lib/wrk.mjs';

const seconds = Number(process.argv[2] ?? 6);
const prefill = Number(process.argv[3] ?? 300_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

ensureWrk((m) => process.stderr.write(`${m}\n`));
const pgServer = await openPostgres();
const server = await startFreshSwitchboard('postgres', { pg: pgServer });
const db = new pg.Client({ connectionString: server.db });
const blocker = new pg.Client({ connectionString: server.db, application_name: 'bench-blocker' });
try {
  await db.connect();
  await blocker.connect();
  const counts = async () =>
    (await db.query('select count(*)::int as total, count(*) filter (where seq is null)::int as waiting, coalesce(max(seq), 0)::int as last from events')).rows[0];
  // Since migration 0018 an event's seq is a row of event_seqs (events is a view); before it, a column of events.
  const split = (await db.query("select 1 from pg_tables where schemaname = 'public' and tablename = 'event_rows'")).rowCount > 0;
  if (split) {
    await db.query(`insert into event_rows (id, source_id, status, body_size, received_at)
      select 'evt_prefill_' || g, 'src_prefill', 'accepted', 0, 0 from generate_series(1, $1::int) as g`, [prefill]);
    await db.query(`insert into event_seqs (seq, id) select g, 'evt_prefill_' || g from generate_series(1, $1::int) as g`, [prefill]);
  } else {
    await db.query(`insert into events (id, source_id, status, body_size, received_at, seq, xid_ord)
      select 'evt_prefill_' || g, 'src_prefill', 'accepted', 0, 0, g, 0 from generate_series(1, $1::int) as g`, [prefill]);
  }
  await db.query('update switchboard_sequencer set last_seq = $1 where id = 1', [prefill]);
  for (const table of split ? ['event_rows', 'event_seqs'] : ['events']) await db.query(`analyze ${table}`);
  // An xid of its own: every transaction that starts after it stays above the watermark until it ends.
  await blocker.query('begin');
  await blocker.query('select pg_current_xact_id()');
  const r = await runEndCalls({ url: server.url, connections: 64, seconds });
  const acked = r.requests - r.non2xx;
  const held = await counts();
  const started = performance.now();
  await blocker.query('commit');
  let now = held;
  while (now.waiting > 0 && performance.now() - started < 120_000) {
    await sleep(10);
    now = await counts();
  }
  const catchUpMs = performance.now() - started;
  const ingestRps = acked / (r.duration_us / 1e6);
  const catchUpRps = held.waiting / (catchUpMs / 1000);
  process.stdout.write(
    `${JSON.stringify({
      build: path.relative(process.cwd(), SWITCHBOARD_CLI),
      prefill,
      acked,
      non2xx: r.non2xx,
      heldBack: held.waiting,
      ingestRps: Math.round(ingestRps),
      catchUpMs: Math.round(catchUpMs),
      catchUpRps: Math.round(catchUpRps),
      ratio: Math.round((100 * catchUpRps) / ingestRps) / 100,
      // wrk does not count the requests still in flight when it stops; the server stored them too.
      dense: now.waiting === 0 && now.last === now.total && now.total >= prefill + acked,
    })}\n`,
  );
} finally {
  await blocker.end().catch(() => {});
  await db.end().catch(() => {});
  await stopServer(server);
  await server.removeData();
  await pgServer.close();
}
