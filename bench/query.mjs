// Query benchmark: the read API on a database of SWITCHBOARD_BENCH_CALLS (default 1,000,000) generated calls.
//
// For each backend (sqlite: a file in a fresh temp dir; postgres: a fresh database of the throwaway cluster
// or of SWITCHBOARD_BENCH_PG_URL): start Switchboard once on the empty database (migrations, the admin key
// and the first source), stop it, seed the calls straight into the database (bench/lib/seed-calls.mjs:
// indexes dropped, bulk insert, indexes rebuilt from the migrations' definitions, ANALYZE), start it again
// on the seeded database, then measure over HTTP with one keep-alive connection (undici), one request at a
// time, after a warm-up:
//   list newest / by status / by widget_key / by status+widget / by phone / page 5 (cursors) — limit 50
//   detail GET /v1/calls/{id} of random calls of the 1,000 with an event timeline
//   stats group_by=day&tz=Europe/Stockholm over the last 30 days, and group_by=widget, weekday_hour and
//   disconnected_by; all again over the
//   whole span (SWITCHBOARD_BENCH_SPAN_DAYS, default 365: every seeded call in range)
//   CSV export of one widget (~1/20 of the calls) and of everything: rows/s, time, bytes
//   the server's peak RSS over the whole measurement (bench/lib/procfs.mjs, every 200 ms)
// Baseline for list latency: bench/query-baseline-server.mjs, a bare node:http server answering the very
// bytes Switchboard answered for that case from memory, measured right after it with the same client.
//
// Run through bench/run.mjs: `node bench/run.mjs query [--only sqlite,postgres]`.
// SWITCHBOARD_BENCH_CALLS=N seeds N calls instead of 1,000,000 (the report says what ran).
// SWITCHBOARD_BENCH_QUERY_REQUESTS=N measured requests per latency case (default 300, warm-up 30).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { onCleanup, trackChild } from './lib/cleanup.mjs';
import { memoryKb, startRssSampler } from './lib/procfs.mjs';
import { CPUS, fmt, fsTypeOf, gitDescribe, mb, pgCreatedNote, waitForQuiet, writeResults } from './lib/report.mjs';
import { seedPostgres, seedSqlite, DAY_MS, SPAN_DAYS } from './lib/seed-calls.mjs';
import { BENCH_DIR, REPO_ROOT, SWITCHBOARD_CLI, SWITCHBOARD_NODE_ARGS, freePort, switchboardEnv, httpRequest, openPostgres, startFreshSwitchboard, startScriptServer, stopServer } from './lib/servers.mjs';

export const description = 'read API on 1M seeded calls: list/detail/stats latency, CSV export rows/s, RSS';
export const SERVERS = ['sqlite', 'postgres'];

const require = createRequire(path.join(REPO_ROOT, 'package.json'));
const RESULTS = path.join(BENCH_DIR, 'results', 'query-latest.md');
const TARGET = { listP99: 20, detailP99: 5, statsMs: 200, exportRps: 100_000, rssMb: 250 };
const QUIET_WAIT_MS = 15_000;
const STATS_RUNS = 20;
const STATS_BUDGET_MS = 8_000;
const log = (msg) => process.stderr.write(`[query] ${msg}\n`);

function positiveInt(name, value, fallback) {
  if (value == null || value === '') return fallback;
  if (!/^\d+$/.test(String(value)) || Number(value) < 1) throw new Error(`${name}: expected a positive integer, got "${value}"`);
  return Number(value);
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) };
}

/** Switchboard again on a database it has already set up (no first-start banner this time). */
export async function restartSwitchboard(db, { env = {} } = {}) {
  const port = await freePort();
  const child = trackChild(
    spawn(process.execPath, [...SWITCHBOARD_NODE_ARGS, SWITCHBOARD_CLI, 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db], {
      cwd: REPO_ROOT,
      env: switchboardEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let tail = '';
  const keep = (d) => (tail = (tail + d).slice(-4000));
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const server = { kind: 'switchboard', child, pid: child.pid, exitInfo: null, port, baseUrl: `http://127.0.0.1:${port}` };
  server.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((server.exitInfo = { code, signal }))));
  server.unregisterCleanup = onCleanup(() => stopServer(server));
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    if (server.exitInfo) throw new Error(`switchboard exited during start-up (${JSON.stringify(server.exitInfo)})\n${tail}`);
    try {
      if ((await httpRequest(`${server.baseUrl}/readyz`, { timeoutMs: 1000 })).status === 200) {
        server.startupMs = Date.now() - started;
        return server;
      }
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopServer(server);
  throw new Error(`switchboard not ready within 60 s on the seeded database\n${tail}`);
}

/** One GET on the pool; resolves { ms, status, bytes, body? }. */
async function timedGet(pool, pathAndQuery, headers, keepBody = false) {
  const t0 = performance.now();
  const res = await pool.request({ method: 'GET', path: pathAndQuery, headers });
  let body = null;
  let bytes = 0;
  if (keepBody) {
    body = Buffer.from(await res.body.arrayBuffer());
    bytes = body.length;
  } else {
    for await (const chunk of res.body) bytes += chunk.length;
  }
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${pathAndQuery} answered ${res.statusCode}: ${body ? body.toString('utf8', 0, 300) : ''}`);
  return { ms, bytes, body };
}

async function measure(pool, pathOf, headers, { requests, warmup }) {
  for (let i = 0; i < warmup; i++) await timedGet(pool, pathOf(i), headers);
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < requests; i++) {
    const r = await timedGet(pool, pathOf(warmup + i), headers);
    ms.push(r.ms);
    bytes += r.bytes;
  }
  return { ...summary(ms), avgBytes: bytes / requests };
}

/** Streams a CSV export; rows = newlines after the header (the generated data has none inside cells). */
async function exportCsv(pool, pathAndQuery, headers) {
  const t0 = performance.now();
  const res = await pool.request({ method: 'GET', path: pathAndQuery, headers, bodyTimeout: 600_000 });
  const { bytes, rows } = await readCsvBody(res.body);
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${pathAndQuery} answered ${res.statusCode}`);
  return { ms, bytes, rows, rps: rows / (ms / 1000) };
}

/** An export's body read to its end: its bytes and rows (line feeds less the header's); `onChunk` sees every chunk. */
export async function readCsvBody(body, onChunk = () => {}) {
  let bytes = 0;
  let newlines = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    onChunk(chunk);
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines += 1;
  }
  return { bytes, rows: Math.max(0, newlines - 1) };
}

async function runBackend(kind, { n, pg, pgError, baseline, requests, warmup }) {
  const { Pool } = require('undici');
  const out = { kind, n, error: null, cases: [], stats: [], exports: [] };
  let server = null;
  let fresh = null;
  try {
    log(`${kind}: first start on an empty database (migrations)`);
    fresh = await startFreshSwitchboard(kind, { pg, pgError });
    const adminKey = fresh.adminKey;
    const db = fresh.db;
    if (!adminKey) throw new Error('no "Admin key: sbk_..." line on the first start');
    const stop1 = await stopServer(fresh);
    if (!stop1.ok) throw new Error(`first server: ${stop1.detail}`);

    const now = Date.now();
    log(`${kind}: seeding ${n} calls`);
    const t0 = Date.now();
    const seed =
      kind === 'sqlite'
        ? seedSqlite(db.slice('sqlite:'.length), { n, now, log })
        : await seedPostgres(db, { n, now, log });
    out.seed = { ...seed, totalMs: Date.now() - t0 };
    log(`${kind}: seeded in ${fmt(out.seed.totalMs / 1000, 1)} s (insert ${fmt(seed.insertMs / 1000, 1)} s, ${seed.indexes} indexes + analyze ${fmt(seed.indexMs / 1000, 1)} s)`);

    out.busyBefore = await waitForQuiet(kind, { log, waitMs: QUIET_WAIT_MS });
    server = await restartSwitchboard(db);
    out.idleRssKb = memoryKb(server.pid)?.rss ?? null;
    // Peak RSS per phase (a sampler each), the server's peak being the largest.
    let sampler = null;
    let phaseName = null;
    out.rssPhases = [];
    const phase = (name) => {
      if (sampler) out.rssPhases.push({ name: phaseName, ...sampler.stop() });
      phaseName = name;
      sampler = name ? startRssSampler(server.pid, 200) : null;
    };
    phase('start');
    const headers = { authorization: `Bearer ${adminKey}` };
    const pool = new Pool(server.baseUrl, { connections: 1, pipelining: 1 });
    const basePool = new Pool(baseline.baseUrl, { connections: 1, pipelining: 1 });
    const opts = { requests, warmup };
    try {
      const w = seed.widgets[3].key;
      const phones = seed.phones;
      // The cursor of page 4 (newest first), so that each request asks for page 5.
      let cursor = null;
      for (let p = 0; p < 4; p++) {
        const r = await timedGet(pool, `/v1/calls?limit=50${cursor ? `&cursor=${cursor}` : ''}`, headers, true);
        cursor = JSON.parse(r.body.toString('utf8')).next_cursor;
      }
      const listCases = [
        ['newest', () => '/v1/calls?limit=50'],
        ['status=answered', () => '/v1/calls?limit=50&status=answered'],
        ['status=missed', () => '/v1/calls?limit=50&status=missed'],
        ['widget_key', () => `/v1/calls?limit=50&widget_key=${w}`],
        ['status=no_answer + widget_key', () => `/v1/calls?limit=50&status=no_answer&widget_key=${w}`],
        ['phone', (i) => `/v1/calls?limit=50&phone=${encodeURIComponent(phones[i % phones.length])}`],
        ['page 5 (cursor)', () => `/v1/calls?limit=50&cursor=${cursor}`],
      ];
      phase('list');
      for (const [name, pathOf] of listCases) {
        log(`${kind}: list ${name}`);
        const sb = await measure(pool, pathOf, headers, opts);
        // The baseline answers the bytes Switchboard answered for this case (the first request's).
        const sample = await timedGet(pool, pathOf(0), headers, true);
        await httpRequest(`${baseline.baseUrl}/_body`, { method: 'PUT', body: sample.body });
        const bl = await measure(basePool, () => '/x', {}, opts);
        out.cases.push({ group: 'list', name, sb, bl, target: TARGET.listP99 });
      }
      log(`${kind}: detail`);
      phase('detail');
      const picks = seed.sample;
      const detail = await measure(
        pool,
        (i) => {
          const c = picks[(i * 7919) % picks.length];
          return `/v1/calls/${c.callId}?source_id=${encodeURIComponent(c.sourceId)}`;
        },
        headers,
        opts,
      );
      const check = JSON.parse((await timedGet(pool, `/v1/calls/${picks[0].callId}`, headers, true)).body.toString('utf8'));
      out.detailEvents = Array.isArray(check.events) ? check.events.length : null;
      out.cases.push({ group: 'detail', name: 'GET /v1/calls/{id} (random, with timeline)', sb: detail, bl: null, target: TARGET.detailP99 });

      const to = new Date(now + 60_000).toISOString();
      // The issue's case (30 days), then the whole span: every seeded call in range (the worst case).
      const statsCases = [
        ['day', 30, true],
        ['widget', 30, true],
        ['weekday_hour', 30, true],
        ['disconnected_by', 30, true],
        ['day', SPAN_DAYS, false],
        ['widget', SPAN_DAYS, false],
        ['weekday_hour', SPAN_DAYS, false],
        ['disconnected_by', SPAN_DAYS, false],
      ];
      for (const [g, days, targeted] of statsCases) {
        if (!targeted && days === 30) continue;
        const from = new Date(now - days * DAY_MS).toISOString();
        log(`${kind}: stats group_by=${g} over ${days} days`);
        phase(`stats ${g} ${days}d`);
        const url = `/v1/stats?group_by=${g}&tz=Europe/Stockholm&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
        await timedGet(pool, url, headers); // warm-up
        // Up to STATS_RUNS runs, but no more than STATS_BUDGET_MS of them (at least 3): a slow one is slow.
        const ms = [];
        const t = Date.now();
        while (ms.length < STATS_RUNS && (ms.length < 3 || Date.now() - t < STATS_BUDGET_MS)) ms.push((await timedGet(pool, url, headers)).ms);
        const inRange = Math.round((n * Math.min(days, SPAN_DAYS)) / SPAN_DAYS);
        out.stats.push({ name: `group_by=${g}, tz=Europe/Stockholm, ${days} days (~${inRange.toLocaleString('en-US')} calls)`, targeted, ...summary(ms), avgBytes: (await timedGet(pool, url, headers, true)).bytes });
      }
      for (const [name, q] of [
        ['one widget', `?widget_key=${w}`],
        ['everything', ''],
      ]) {
        log(`${kind}: CSV export, ${name}`);
        phase(`CSV ${name}`);
        out.exports.push({ name, ...(await exportCsv(pool, `/v1/calls.csv${q}`, headers)) });
      }
    } finally {
      await pool.destroy();
      await basePool.destroy();
      phase(null);
      out.rss = out.rssPhases.reduce((a, p) => ({ maxKb: Math.max(a.maxKb, p.maxKb), samples: a.samples + p.samples }), { maxKb: 0, samples: 0 });
    }
    const stop2 = await stopServer(server);
    server = null;
    out.stop = stop2;
  } catch (err) {
    out.error = err.message;
    log(`${kind}: ${err.stack ?? err.message}`);
  } finally {
    if (server) await stopServer(server);
    if (fresh) await fresh.removeData?.();
  }
  return out;
}

const ok = (met) => (met ? '✔' : '✘');

function report(results, { n, requests, warmup, pg, seconds }) {
  const lines = [];
  let targetsMet = true;
  lines.push(`# Query benchmark — ${new Date().toISOString()}`, '');
  lines.push(
    `Commit ${gitDescribe()}; ${CPUS} CPUs; Node ${process.version}; temp dir on ${fsTypeOf(os.tmpdir())}. ` +
      `${n.toLocaleString('en-US')} generated calls per backend${n !== 1_000_000 ? ' (SWITCHBOARD_BENCH_CALLS; the issue asks for 1,000,000)' : ''}, ` +
      `${SPAN_DAYS} days, 20 widgets, 50 agents, 3 sources, events for 1,000 calls. ` +
      `One keep-alive connection (undici), one request at a time; ${requests} measured requests per latency case after ${warmup} warm-up ` +
      `(stats: 1 warm-up, then up to ${STATS_RUNS} runs within ${STATS_BUDGET_MS / 1000} s, at least 3; its target is checked against the slowest). Whole part: ${fmt(seconds, 0)} s.`,
    '',
    'Baseline (ratio column): a bare node:http server (bench/query-baseline-server.mjs) answering from memory the same bytes ' +
      'Switchboard answered for that case, measured right after it with the same client. Ratio = Switchboard p99 ÷ baseline p99.',
    '',
  );
  for (const r of results) {
    lines.push(`## ${r.kind}`, '');
    if (r.seed) {
      lines.push(
        `Seeded in ${fmt(r.seed.totalMs / 1000, 1)} s: insert ${fmt(r.seed.insertMs / 1000, 1)} s, ` +
          `${r.seed.indexes} indexes of calls rebuilt + ANALYZE ${fmt(r.seed.indexMs / 1000, 1)} s. ` +
          `Server restart on the seeded database: ${r.seed && r.idleRssKb != null ? `idle RSS ${fmt(mb(r.idleRssKb), 0)} MB` : '—'}` +
          `${r.busyBefore > 0.25 ? `; ⚠ noisy machine: ${fmt(r.busyBefore, 2)} cores busy before the measurement` : ''}.`,
        '',
      );
    }
    if (r.error) {
      lines.push(`**Failed:** ${r.error}`, '');
      targetsMet = false;
      if (r.cases.length === 0) continue;
    }
    lines.push('| case | p50 ms | p99 ms | max ms | target | | baseline p99 ms | ratio | bytes |', '|---|---:|---:|---:|---|---|---:|---:|---:|');
    for (const c of r.cases) {
      const met = c.sb.p99 <= c.target;
      targetsMet &&= met;
      lines.push(
        `| ${c.group} ${c.name} | ${fmt(c.sb.p50, 2)} | ${fmt(c.sb.p99, 2)} | ${fmt(c.sb.max, 1)} | p99 ≤ ${c.target} ms | ${ok(met)} | ` +
          `${c.bl ? fmt(c.bl.p99, 2) : '—'} | ${c.bl ? `${fmt(c.sb.p99 / c.bl.p99, 1)}×` : '—'} | ${fmt(c.sb.avgBytes, 0)} |`,
      );
    }
    for (const s of r.stats) {
      const met = s.max <= TARGET.statsMs || !s.targeted;
      targetsMet &&= met;
      lines.push(`| stats ${s.name} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} | ${s.targeted ? `≤ ${TARGET.statsMs} ms (max)` : 'none: worst case'} | ${s.targeted ? ok(met) : '—'} | — | — | ${fmt(s.avgBytes, 0)} |`);
    }
    if (r.detailEvents != null) lines.push('', `Detail answers carry their timeline (${r.detailEvents} event(s) on the checked call).`);
    if (r.exports.length > 0) {
      lines.push('', '| CSV export | rows | time s | rows/s | MB | target | |', '|---|---:|---:|---:|---:|---|---|');
      for (const e of r.exports) {
        const met = e.rps >= TARGET.exportRps;
        targetsMet &&= met;
        lines.push(`| ${e.name} | ${e.rows} | ${fmt(e.ms / 1000, 2)} | ${fmt(e.rps, 0)} | ${fmt(e.bytes / 1048576, 1)} | ≥ ${TARGET.exportRps.toLocaleString('en-US')} rows/s | ${ok(met)} |`);
      }
    }
    if (r.rss) {
      const peak = mb(r.rss.maxKb);
      const met = peak <= TARGET.rssMb;
      targetsMet &&= met;
      lines.push(
        '',
        `Server peak RSS during the measurement: ${fmt(peak, 0)} MB (target ≤ ${TARGET.rssMb} MB) ${ok(met)} — ${r.rss.samples} samples every 200 ms; ` +
          `peak by phase: ${r.rssPhases.map((p) => `${p.name} ${fmt(mb(p.maxKb), 0)} MB`).join(', ')}.`,
      );
    }
    if (r.stop && !r.stop.ok) lines.push('', `⚠ server stop: ${r.stop.detail}`);
    lines.push('');
  }
  lines.push(...pgCreatedNote(pg));
  return { md: `${lines.join('\n')}\n`, targetsMet };
}

export async function run(opts) {
  const started = Date.now();
  const n = positiveInt('SWITCHBOARD_BENCH_CALLS', process.env.SWITCHBOARD_BENCH_CALLS, 1_000_000);
  const requests = positiveInt('SWITCHBOARD_BENCH_QUERY_REQUESTS', process.env.SWITCHBOARD_BENCH_QUERY_REQUESTS, 300);
  const warmup = Math.max(10, Math.round(requests / 10));
  const kinds = SERVERS.filter((k) => !opts.only || opts.only.includes(k));
  if (kinds.length === 0) {
    log(`--only ${opts.only.join(',')}: none of ${SERVERS.join(', ')}; nothing to run`);
    return { ok: true, targetsMet: true };
  }
  let pg = null;
  let pgError = null;
  if (kinds.includes('postgres')) {
    try {
      pg = await openPostgres();
      log(`postgres: ${pg.describe}`);
    } catch (err) {
      pgError = err.message;
    }
  }
  const baseline = await startScriptServer('query-baseline', 'query-baseline-server.mjs');
  const results = [];
  try {
    for (const kind of kinds) results.push(await runBackend(kind, { n, pg, pgError, baseline, requests, warmup }));
  } finally {
    await stopServer(baseline);
    if (pg) await pg.close();
  }
  const { md, targetsMet } = report(results, { n, requests, warmup, pg, seconds: (Date.now() - started) / 1000 });
  await writeResults(RESULTS, md, log);
  return { ok: results.every((r) => !r.error && (!r.stop || r.stop.ok)), targetsMet };
}
