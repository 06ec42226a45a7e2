// Reconciliation (issue 16): for each backend (sqlite, postgres), a mock Convolo (in this process) lists
// SWITCHBOARD_BENCH_RECONCILE_CALLS (default 100,000) calls of the last day; Switchboard already holds
// SWITCHBOARD_BENCH_RECONCILE_PRESENT (default 0.9) of them, posted to its ingest as the webhooks. Then
//   1. the ingest alone: wrk at 50 connections on POST /hooks/convolo/<token> (warm-up, then 4 windows);
//   2. one reconcile run (POST /v1/sources/{id}/reconcile: 500 calls a page) with the same wrk beside it in
//      windows of the same length, the run timed whole (wrk is restarted until the run ends; the last
//      window, which runs past the end, is left out unless it is the only one);
//   3. the ingest alone again after the run, until it has as many windows alone as beside the run: the worst
//      of N windows is compared with the worst of N (the worst of 20 windows beside against the worst of 4
//      alone judged the run by the database's own background work — PostgreSQL's ANALYZE, autovacuum,
//      checkpoints — that 20 windows catch more often than 4).
// Printed: calls checked per second and added per second, the server's peak RSS during the run, and the
// ingest's p99 beside the run as a ratio to the ingest alone (target ≤ 2×): judged on the p99 of every request
// of the windows beside against every request of the windows alone (the windows' latencies merged at a grid
// of percentiles, bench/lib/wrk.mjs); beside it, stricter, the worst window against the worst window, and
// against the worst of the 4 windows before the run (as this bench compared until 2026-12-02).
//
// Run through bench/run.mjs: `node bench/run.mjs reconcile [--only sqlite] [--duration 10] [--warmup 3]`.
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fmt, gitDescribe, mb, pgCreatedNote, writeResults } from './lib/report.mjs';
import { startRssSampler } from './lib/procfs.mjs';
import { BENCH_DIR, REPO_ROOT, forEachBackend, freePort, startFreshSwitchboard, stopServer } from './lib/servers.mjs';
import { ensureWrk, mergedPercentile, runEndCalls, wrkVersion } from './lib/wrk.mjs';

export const description = 'reconcile 100,000 calls (90 % already present) from the mock: checked/s, added/s, RSS, ingest p99 beside it vs alone';
export const SERVERS = ['sqlite', 'postgres'];

const require = createRequire(path.join(REPO_ROOT, 'package.json'));
const RESULTS = path.join(BENCH_DIR, 'results', 'reconcile-latest.md');
const CONNECTIONS = 50;
const TARGET_RATIO = 2;
const ALONE_WINDOWS = 4;
/** Windows alone after the run at most (the run's windows beyond the first 4). */
const MAX_ALONE_AFTER = 30;
const CALLS = Number(process.env.SWITCHBOARD_BENCH_RECONCILE_CALLS ?? 100_000);
const PRESENT = Number(process.env.SWITCHBOARD_BENCH_RECONCILE_PRESENT ?? 0.9);
const log = (msg) => process.stderr.write(`[reconcile] ${msg}\n`);

async function ingestRun(url, seconds) {
  const r = await runEndCalls({ url, connections: CONNECTIONS, seconds });
  return {
    rps: r.requests / (r.duration_us / 1e6), p50Ms: r.latency_us.p50 / 1000, p99Ms: r.latency_us.p99 / 1000, non2xx: r.non2xx,
    requests: r.requests, quantiles_us: r.quantiles_us,
  };
}

/** Posts the bodies to the ingest, `concurrency` at a time, as Convolo's webhooks would have come. */
/** Windows of wrk: the p99 of all their requests together, the worst and the median window's p99, mean req/s, errors. */
function summarise(windows) {
  const p99s = windows.map((w) => w.p99Ms).sort((a, b) => a - b);
  const all = mergedPercentile(windows, 99);
  return {
    allP99Ms: all === null ? null : all / 1000,
    p99Ms: p99s.at(-1), medianP99Ms: p99s[Math.floor(p99s.length / 2)], windows: p99s.length,
    rps: windows.reduce((n, w) => n + w.rps, 0) / windows.length, non2xx: windows.reduce((n, w) => n + w.non2xx, 0),
  };
}

async function postAll(url, bodies, concurrency = 32) {
  const { Pool } = require('undici');
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: concurrency });
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await pool.request({ method: 'POST', path: target.pathname, headers: { 'content-type': 'application/json' }, body });
      await res.body.dump();
      if (res.statusCode !== 200) failed++;
    }
  }));
  await pool.close();
  if (failed > 0) throw new Error(`${failed} webhook posts failed`);
}

async function api(server, method, p, body) {
  const { Agent, fetch } = require('undici');
  const res = await fetch(`${server.baseUrl}${p}`, {
    // A long run answers only when it ends: no headers timeout (fetch's own is 300 s).
    dispatcher: new Agent({ headersTimeout: 0, bodyTimeout: 0 }),
    method,
    headers: { authorization: `Bearer ${server.adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}

/** One reconcile run, to its end: a run longer than the POST's answer is answered 202 and followed with GET. */
async function runToEnd(server, sourceId) {
  const started = await api(server, 'POST', `/v1/sources/${sourceId}/reconcile`);
  while (started.finished_at === null) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const run = (await api(server, 'GET', `/v1/sources/${sourceId}/reconcile`)).runs.find((r) => r.id === started.id);
    if (run?.finished_at) return run;
  }
  return started;
}

async function runBackend(kind, { pg, pgError, opts, mockModule }) {
  const out = { kind, error: null };
  let server = null;
  let mock = null;
  try {
    const port = await freePort();
    server = await startFreshSwitchboard(kind, { pg, pgError, args: ['--convolo-call-list-url', `http://127.0.0.1:${port}`] });
    mock = mockModule.createMockConvolo({ webhookUrl: server.url, port, timeScale: 0, seed: 1 });
    await mock.listen();
    const now = Date.now();
    log(`${kind}: the mock makes ${CALLS} calls of the last day`);
    mock.makeCalls(CALLS, { webhooks: false, at: (i) => now - 86_400_000 + Math.floor((i * 86_000_000) / CALLS) });
    const listed = mock.listedCalls();
    const present = Math.round(listed.length * PRESENT);
    log(`${kind}: posting ${present} of their end_calls as webhooks`);
    const t0 = performance.now();
    await postAll(server.url, listed.slice(0, present).map((p) => JSON.stringify(p)));
    log(`${kind}: posted in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const sourceId = (await api(server, 'GET', '/v1/sources')).data[0].id;
    await api(server, 'PUT', `/v1/sources/${sourceId}/convolo`, { api_key: mock.widgets[0].apiKey });

    // The ingest alone and beside the run, both in windows of the same length: the worst window and the
    // median window of each are compared (the p99 of one long window alone against the worst of several
    // short ones beside would judge the run by the noise of short windows).
    const windowSec = Math.max(2, Math.min(opts.duration, 5));
    log(`${kind}: ingest alone, ${CONNECTIONS} connections, ${ALONE_WINDOWS} windows of ${windowSec} s`);
    if (opts.warmup > 0) await ingestRun(server.url, opts.warmup);
    const aloneWindows = [];
    for (let i = 0; i < ALONE_WINDOWS; i++) aloneWindows.push(await ingestRun(server.url, windowSec));

    log(`${kind}: one reconcile run with the ingest beside it`);
    const sampler = startRssSampler(server.pid, 200);
    const started = performance.now();
    let running = true;
    let endedAt = 0;
    const reconcile = runToEnd(server, sourceId).finally(() => {
      running = false;
      endedAt = performance.now();
    });
    const windows = [];
    // wrk in windows of at most `duration` while the run lasts (at least one): the ingest beside the run.
    do windows.push(await ingestRun(server.url, windowSec));
    while (running);
    out.run = await reconcile;
    out.runSec = (endedAt - started) / 1000;
    out.rss = sampler.stop();
    // The windows wholly inside the run; the last one ran past its end unless it is the only one.
    out.beside = summarise(windows.length > 1 ? windows.slice(0, -1) : windows);
    const after = Math.min(MAX_ALONE_AFTER, Math.max(0, out.beside.windows - aloneWindows.length));
    log(`${kind}: ingest alone again, ${after} more windows (as many alone as beside the run)`);
    const before = summarise(aloneWindows);
    for (let i = 0; i < after; i++) aloneWindows.push(await ingestRun(server.url, windowSec));
    out.alone = summarise(aloneWindows);
    out.ratioBefore = out.beside.p99Ms / before.p99Ms;
    // The figure judged: the worst window beside the run against the worst window alone; medians beside it.
    // Judged: the p99 of every request beside the run against the p99 of every request alone (the issue's
    // words); the worst window against the worst window is printed beside it, stricter.
    out.allRatio = out.beside.allP99Ms !== null && out.alone.allP99Ms !== null ? out.beside.allP99Ms / out.alone.allP99Ms : null;
    out.ratio = out.beside.p99Ms / out.alone.p99Ms;
    out.medianRatio = out.beside.medianP99Ms / out.alone.medianP99Ms;
    if (out.run.error) throw new Error(`the run failed: ${JSON.stringify(out.run.error)}`);
    log(
      `${kind}: ${out.run.fetched} checked, ${out.run.added} added in ${fmt(out.runSec, 1)} s ` +
        `(${fmt(out.run.fetched / out.runSec)}/s checked, ${fmt(out.run.added / out.runSec)}/s added), peak RSS ${fmt(mb(out.rss.maxKb))} MB; ` +
        `ingest p99, worst window: ${fmt(out.alone.p99Ms, 2)} ms alone (${out.alone.windows} windows), ${fmt(out.beside.p99Ms, 2)} ms beside the run (${out.beside.windows} windows): ${fmt(out.ratio, 2)}×; ` +
        `median window ${fmt(out.alone.medianP99Ms, 2)} → ${fmt(out.beside.medianP99Ms, 2)} ms: ${fmt(out.medianRatio, 2)}×; ` +
        `p99 of all requests ${fmt(out.alone.allP99Ms, 2)} ms alone, ${fmt(out.beside.allP99Ms, 2)} ms beside: ${fmt(out.allRatio, 2)}×; ` +
        `against the worst of the ${ALONE_WINDOWS} windows before the run: ${fmt(out.ratioBefore, 2)}×`,
    );
  } catch (err) {
    out.error = err.cause ? `${err.message}: ${err.cause.message ?? err.cause}` : err.message;
    log(`${kind}: FAILED: ${out.error}`);
  } finally {
    await mock?.close('abandon').catch(() => {});
    if (server) {
      await stopServer(server);
      await server.removeData?.();
    }
  }
  return out;
}

export async function run(opts) {
  const only = opts.only ?? SERVERS;
  const kinds = SERVERS.filter((s) => only.includes(s));
  ensureWrk(log);
  const mockModule = await import(path.join(REPO_ROOT, 'dist', 'mock-convolo', 'index.js'));
  const started = new Date();
  const { rows, pg } = await forEachBackend(kinds, (kind, pgs) => runBackend(kind, { ...pgs, opts, mockModule }));
  const verdict = (r) => (r.error ? '✘ did not run' : r.allRatio !== null && r.allRatio <= TARGET_RATIO && r.beside.non2xx === 0 ? '✔' : '✘');
  const mark = (ratio) => (ratio <= TARGET_RATIO ? '✔' : '✘');
  const md = [
    `## Reconcile — ${started.toISOString()}`,
    '',
    `commit ${gitDescribe()} · node ${process.version} · wrk ${wrkVersion()} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}`,
    `${CALLS} calls listed by the mock (in the bench process), ${Math.round(PRESENT * 100)} % already posted as webhooks; one reconcile run ` +
      `(pages of 500) beside wrk -c${CONNECTIONS} on the ingest in 5-second windows; the ingest alone: warm-up ${opts.warmup} s then ${ALONE_WINDOWS} windows of the same length before the run and more after it, as many alone as beside; judged: the p99 of all requests beside ÷ alone; beside it the worst windows compared (the medians in brackets), and the worst beside against the worst of the ${ALONE_WINDOWS} before the run`,
    '',
    '| server | checked | added | run s | checked/s | added/s | peak RSS MB | ingest p99 of all requests, alone → beside ms | ratio (judged) | worst window alone ms (median), windows | worst window beside ms (median), windows | ratio worst (median) | worst beside ÷ worst of the 4 before | req/s alone / beside | target | |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...rows.map((r) =>
      r.error
        ? `| ${r.kind} | — | — | — | — | — | — | — | — | — | — | — | — | — | ≤ ${TARGET_RATIO}× | ${verdict(r)}: ${r.error.split('\n')[0]} |`
        : `| ${r.kind} | ${r.run.fetched} | ${r.run.added} | ${fmt(r.runSec, 1)} | ${fmt(r.run.fetched / r.runSec)} | ${fmt(r.run.added / r.runSec)} | ` +
          `${fmt(mb(r.rss.maxKb))} | ${fmt(r.alone.allP99Ms, 2)} → ${fmt(r.beside.allP99Ms, 2)} | ${fmt(r.allRatio, 2)}× | ${fmt(r.alone.p99Ms, 2)} (${fmt(r.alone.medianP99Ms, 2)}), ${r.alone.windows} | ${fmt(r.beside.p99Ms, 2)} (${fmt(r.beside.medianP99Ms, 2)}), ${r.beside.windows} | ${fmt(r.ratio, 2)}× ${mark(r.ratio)} (${fmt(r.medianRatio, 2)}×) | ${fmt(r.ratioBefore, 2)}× | ${fmt(r.alone.rps)} / ${fmt(r.beside.rps)} | ≤ ${TARGET_RATIO}× | ${verdict(r)} |`,
    ),
    ...pgCreatedNote(pg),
    '',
  ].join('\n');
  await writeResults(RESULTS, md, log);
  return { ok: rows.every((r) => !r.error), targetsMet: rows.every((r) => verdict(r) === '✔') };
}
