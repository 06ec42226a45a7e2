// Scale-out benchmark (issue 14): ingest on PostgreSQL with 1, 2 and 3 `api` nodes on one database.
//
// For each node count, a fresh database; node 1 starts first (its first start prints the ingest URL and the
// admin key), the others join with `--role api`. One wrk per node posts Convolo's end_call fixture with a
// fresh call_id per request (bench/end_call.lua), the connections split evenly between the nodes (so the
// total offered concurrency is the same for 1, 2 and 3 nodes). Reported per row: total req/s, the worst
// node's p99, the CPU each Switchboard process used, the machine's busy cores (PostgreSQL and wrk are the
// rest), the CPU cost per acknowledged event, and lost = 2xx answers − end_call events stored (counted in
// the database once the log is sequenced).
//
// Before/after on the same machine: SWITCHBOARD_BENCH_CLI_BEFORE=<path to another build's dist/cli/index.js>
// adds that build's rows, alternating with this build's (before, after, then after, before, …), so that
// both see the same drift of a shared machine.
//
// Run through bench/run.mjs: `node bench/run.mjs scale [--duration 8] [--warmup 2]`.
// SWITCHBOARD_BENCH_SCALE_NODES (default 1,2,3), SWITCHBOARD_BENCH_SCALE_CONNECTIONS (default 64),
// SWITCHBOARD_BENCH_SCALE_ROUNDS (default 2).
import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { trackChild } from './lib/cleanup.mjs';
import { postgresTicks, postmasterOf } from './lib/pg-procs.mjs';
import { machineTicks, processTicks } from './lib/procfs.mjs';
import { CPUS, fmt, gitDescribe, writeResults } from './lib/report.mjs';
import { BENCH_DIR, REPO_ROOT, SWITCHBOARD_CLI, SWITCHBOARD_NODE_ARGS, freePort, switchboardEnv, openPostgres } from './lib/servers.mjs';
import { ensureWrk, runEndCalls } from './lib/wrk.mjs';

export const description = 'ingest on PostgreSQL with 1, 2 and 3 api nodes: total req/s, p99, CPU per process, cost per event, lost';

const RESULTS = path.join(BENCH_DIR, 'results', 'scale-latest.md');
const TICK_MS = 10; // USER_HZ = 100 on Linux
const log = (msg) => process.stderr.write(`[scale] ${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function list(value, fallback) {
  return (value ? String(value).split(',') : fallback).map((s) => Number(String(s).trim())).filter((n) => n > 0);
}

/** One Switchboard process; resolves once /readyz answers 200 (and, on a first start, the banner is read). */
async function startNode(cli, db, args, { first }) {
  const port = await freePort();
  const child = trackChild(
    spawn(process.execPath, [...SWITCHBOARD_NODE_ARGS, cli, 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db, ...args], {
      cwd: REPO_ROOT,
      env: switchboardEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`switchboard exited during start-up:\n${out.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`switchboard not ready within 30 s:\n${out.slice(-2000)}`);
    const ready = await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false);
    const path = /\/hooks\/convolo\/sbt_[A-Za-z0-9_-]+/.exec(out)?.[0];
    if (ready && (!first || path)) return { child, baseUrl, ingestPath: path ?? null, output: () => out };
    await sleep(100);
  }
}

async function stopNode(node) {
  if (node.child.exitCode !== null) return;
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  node.child.kill('SIGTERM');
  const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function storedEndCalls(db) {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    // Requests wrk abandoned at the end of its run may still commit: give them a moment. Then (the new build
    // gives seq after commit) wait, up to 10 s, until no event is without one, so the count is the log's.
    await sleep(1000);
    // (0014 gave events an xid; 0018 moved the events waiting for their seq to event_pending, 0019 renamed it event_queue.)
    const hasXid = (await client.query("select 1 from information_schema.columns where (table_name = 'events' and column_name = 'xid') or table_name in ('event_pending', 'event_queue')")).rowCount > 0;
    for (let i = 0; hasXid && i < 200; i++) {
      const { rows } = await client.query('select count(*)::int as n from events where seq is null');
      if (rows[0].n === 0) break;
      await sleep(50);
    }
    const { rows } = await client.query("select count(*)::int as n, count(seq)::int as sequenced from events where type = 'end_call'");
    return rows[0];
  } finally {
    await client.end();
  }
}

async function runCase({ pgServer, build, nodes: count, connections, duration, warmup }) {
  const db = await pgServer.createDatabase();
  const nodes = [await startNode(build.cli, db, [], { first: true })];
  try {
    for (let i = 1; i < count; i++) nodes.push(await startNode(build.cli, db, ['--role', 'api'], { first: false }));
    const per = Math.max(1, Math.round(connections / count));
    const urls = nodes.map((n) => `${n.baseUrl}${nodes[0].ingestPath}`);
    const load = (seconds) => Promise.all(urls.map((url) => runEndCalls({ url, connections: per, seconds })));
    const warm = warmup > 0 ? await load(warmup) : [];
    const postmaster = await postmasterOf(db);
    const cpuBefore = nodes.map((n) => processTicks(n.child.pid)?.own ?? 0);
    const pgBefore = postgresTicks(postmaster);
    const machineBefore = machineTicks();
    const started = Date.now();
    const results = await load(duration);
    const seconds = (Date.now() - started) / 1000;
    const machineAfter = machineTicks();
    const pgCores = ((postgresTicks(postmaster) - pgBefore) * TICK_MS) / 1000 / seconds;
    const cpu = nodes.map((n, i) => ((processTicks(n.child.pid)?.own ?? 0) - cpuBefore[i]) * TICK_MS / 1000 / seconds);
    const busy = ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * CPUS;
    const twoxx = (r) => r.requests - r.non2xx;
    const acked = [...warm, ...results].reduce((sum, r) => sum + twoxx(r), 0);
    const measured = results.reduce((sum, r) => sum + twoxx(r), 0);
    const errors = results.reduce((sum, r) => sum + r.non2xx + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout, 0);
    const stored = await storedEndCalls(db);
    const rps = measured / seconds;
    return {
      build: build.label,
      nodes: count,
      rps,
      p99Ms: Math.max(...results.map((r) => r.latency_us.p99)) / 1000,
      p50Ms: Math.max(...results.map((r) => r.latency_us.p50)) / 1000,
      nodeCpu: cpu,
      busy,
      // CPU per acknowledged event: every busy core of the machine (Switchboard, PostgreSQL, wrk), and the nodes alone.
      costUs: (busy / rps) * 1e6,
      nodeCostUs: (cpu.reduce((a, b) => a + b, 0) / rps) * 1e6,
      // PostgreSQL's processes (the postmaster and every backend): what each event costs the database with 1, 2, 3 nodes.
      pgCostUs: (pgCores / rps) * 1e6,
      errors,
      lost: Math.max(0, acked - stored.n),
      unsequenced: stored.n - stored.sequenced,
    };
  } finally {
    for (const node of nodes.reverse()) await stopNode(node);
  }
}

export async function run(options) {
  ensureWrk(log);
  const nodeCounts = list(process.env.SWITCHBOARD_BENCH_SCALE_NODES, ['1', '2', '3']);
  const connections = list(process.env.SWITCHBOARD_BENCH_SCALE_CONNECTIONS, ['64'])[0];
  const rounds = list(process.env.SWITCHBOARD_BENCH_SCALE_ROUNDS, ['2'])[0];
  const builds = [{ label: 'after', cli: SWITCHBOARD_CLI }];
  if (process.env.SWITCHBOARD_BENCH_CLI_BEFORE) builds.unshift({ label: 'before', cli: process.env.SWITCHBOARD_BENCH_CLI_BEFORE });
  const duration = Math.min(options.duration, 8);
  const warmup = Math.min(options.warmup, 2);
  const pgServer = await openPostgres();
  const rows = [];
  let ok = true;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const count of nodeCounts) {
        for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
          log(`round ${round + 1}: ${build.label}, ${count} node(s), ${connections} connections`);
          try {
            const row = await runCase({ pgServer, build, nodes: count, connections, duration, warmup });
            rows.push(row);
            if (row.lost > 0 || row.errors > 0) ok = false;
            log(`  ${fmt(row.rps)} req/s, p99 ${fmt(row.p99Ms, 1)} ms, nodes CPU ${row.nodeCpu.map((c) => fmt(c, 2)).join('+')}, busy ${fmt(row.busy, 2)} cores, lost ${row.lost}`);
          } catch (err) {
            ok = false;
            log(`  failed: ${err.message}`);
          }
        }
      }
    }
  } finally {
    await pgServer.close();
  }
  const target = throughputTarget(rows);
  const md = report(rows, { connections, duration, warmup, builds, pg: pgServer.describe, target });
  process.stdout.write(md);
  await writeResults(RESULTS, md, log);
  return { ok, targetsMet: ok && target.met };
}

/** The mean req/s of a build's rows with `nodes` nodes over the rounds; null when none ran. */
function meanRps(rows, build, nodes) {
  const these = rows.filter((r) => r.build === build && r.nodes === nodes);
  return these.length ? these.reduce((s, r) => s + r.rps, 0) / these.length : null;
}

/** Issue 14's target: no loss of total throughput from 1 to 2 nodes, on the mean req/s of this build's rounds. */
function throughputTarget(rows) {
  const one = meanRps(rows, 'after', 1), two = meanRps(rows, 'after', 2);
  if (one === null || two === null) return { met: true, text: 'no loss of total throughput from 1 to 2 nodes: not measured (SWITCHBOARD_BENCH_SCALE_NODES)' };
  const met = two >= one;
  return { met, text: `no loss of total throughput from 1 to 2 nodes: ${fmt(one)} → ${fmt(two)} req/s (mean of the rounds), ${fmt(two / one, 2)}× ${met ? '✔' : '✘'}` };
}

function report(rows, { connections, duration, warmup, builds, pg: pgText, target }) {
  const lines = [
    `# Scale-out ingest on PostgreSQL (${new Date().toISOString()}, ${gitDescribe()})`,
    '',
    `${CPUS} cores; ${pgText}; ${connections} connections in total split between the nodes; ${warmup} s warm-up, ${duration} s measured; builds: ${builds.map((b) => `${b.label} = ${b.cli}`).join(', ')}.`,
    '',
    '| build | nodes | req/s | vs same build, 1 node | p50 ms | p99 ms (worst node) | CPU per node (cores) | machine busy (cores) | CPU µs / event (all) | node CPU µs / event | PostgreSQL CPU µs / event | errors | lost |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const base = meanRps(rows, r.build, 1);
    lines.push(
      `| ${r.build} | ${r.nodes} | ${fmt(r.rps)} | ${base ? `${fmt(r.rps / base, 2)}×` : '—'} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${r.nodeCpu.map((c) => fmt(c, 2)).join(' + ')} | ${fmt(r.busy, 2)} | ${fmt(r.costUs)} | ${fmt(r.nodeCostUs)} | ${fmt(r.pgCostUs)} | ${r.errors} | ${r.lost}${r.unsequenced ? ` (${r.unsequenced} unsequenced)` : ''} |`,
    );
  }
  lines.push('', `Target (issue 14): ${target.text}; 0 lost in every row ${rows.every((r) => r.lost === 0 && r.errors === 0) ? '✔' : '✘'}.`);
  return `${lines.join('\n')}\n`;
}
