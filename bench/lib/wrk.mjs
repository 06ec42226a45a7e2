// wrk (Debian's package) as the load generator: found on PATH or installed with apt-get.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { trackChild } from './cleanup.mjs';
import { processTicks } from './procfs.mjs';
import { BENCH_DIR } from './servers.mjs';

export class FatalError extends Error {}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Make sure `wrk` is on PATH: install it with apt-get when missing, or stop with the command to run. */
export function ensureWrk(log) {
  const found = onPath('wrk');
  if (found) return found;
  const install = 'apt-get install -y wrk';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new FatalError(`wrk is not installed (not on PATH). Install it, then try again:\n  sudo apt-get update && sudo ${install}`);
  }
  log(`wrk is not on PATH; running: ${install}`);
  const r = spawnSync('apt-get', ['install', '-y', 'wrk'], {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = onPath('wrk');
  if (r.status !== 0 || !installed) {
    const why = r.error ? r.error.message : `exit ${r.status}`;
    throw new FatalError(
      `wrk is not installed and \`${install}\` failed (${why}). Run this, then try again:\n  apt-get update && ${install}`,
    );
  }
  return installed;
}

export function wrkVersion() {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  const m = `${r.stdout}${r.stderr}`.match(/^wrk\s+(\S+)/m);
  return m ? m[1] : 'unknown';
}

const MARK = 'SWITCHBOARD_WRK_JSON ';
const QUANTILES_MARK = 'SWITCHBOARD_WRK_QUANTILES ';

/** The percentiles at which bench/end_call.lua prints latencies (its quantile_grid()). */
export const QUANTILE_GRID = [
  ...Array.from({ length: 48 }, (_, i) => 50 + i),
  ...Array.from({ length: 20 }, (_, i) => 98 + i / 10),
  99.95, 99.99, 100,
];

/**
 * The `p`th percentile of several runs' requests together, from each run's request count and latencies at
 * QUANTILE_GRID (wrk's own histograms are not printed): the smallest latency at which the runs' requests at
 * or below it, each run's share interpolated between its grid points, reach p % of all of them. Runs without
 * quantiles (another script) give null. In microseconds.
 */
export function mergedPercentile(runs, p) {
  if (runs.length === 0 || runs.some((r) => !Array.isArray(r.quantiles_us) || r.quantiles_us.length !== QUANTILE_GRID.length)) return null;
  const total = runs.reduce((n, r) => n + r.requests, 0);
  // Non-decreasing, whatever wrk printed (its 100th percentile is 0: end_call.lua prints the maximum instead).
  const quantiles = runs.map((r) => r.quantiles_us.map((_, i, q) => Math.max(...q.slice(0, i + 1))));
  /** The share of a run's requests at or below `v` (below its 50th percentile: counted as 0, which errs high). */
  const shareAtOrBelow = (q, v) => {
    if (v < q[0]) return 0;
    for (let i = q.length - 1; i >= 0; i--) {
      if (q[i] <= v) {
        if (i === q.length - 1 || q[i + 1] === q[i]) return QUANTILE_GRID[i] / 100;
        const f = (v - q[i]) / (q[i + 1] - q[i]);
        return (QUANTILE_GRID[i] + f * (QUANTILE_GRID[i + 1] - QUANTILE_GRID[i])) / 100;
      }
    }
    return 0;
  };
  const candidates = [...new Set(quantiles.flat())].sort((a, b) => a - b);
  for (const v of candidates) {
    const below = runs.reduce((n, r, i) => n + r.requests * shareAtOrBelow(quantiles[i], v), 0);
    if (below >= (p / 100) * total) return v;
  }
  return candidates.at(-1);
}

/**
 * One wrk run. Returns the JSON that the script's done() printed, plus `wrkCpuTicks` (CPU that wrk
 * used, from this process's reaped-children counters) and `raw` (wrk's own output).
 */
export async function runWrk({ url, connections, seconds, script, scriptArgs = [], timeout = '10s' }) {
  const threads = Math.min(2, connections);
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    timeout,
    '-s',
    script,
    url,
    '--',
    ...scriptArgs,
  ];
  const before = processTicks(process.pid);
  const child = trackChild(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
  const { code, signal } = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve({ code: c, signal: s }));
  }).finally(() => clearTimeout(killer));
  const after = processTicks(process.pid);
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  if (code !== 0 || !line) {
    throw new Error(
      `wrk ${args.join(' ')} failed (${signal ? `signal ${signal}` : `exit ${code}`})\n${stdout}${stderr}`.trim(),
    );
  }
  const result = JSON.parse(line.slice(MARK.length));
  const quantiles = stdout.split('\n').find((l) => l.startsWith(QUANTILES_MARK));
  if (quantiles) result.quantiles_us = JSON.parse(quantiles.slice(QUANTILES_MARK.length));
  result.wrkCpuTicks = before && after ? after.children - before.children : null;
  result.raw = stdout.split('\n').filter((l) => !l.startsWith(MARK) && !l.startsWith(QUANTILES_MARK)).join('\n') + stderr;
  return result;
}

/**
 * The ingest load's script and body: Convolo's end_call, a fresh call_id on every request.
 * SWITCHBOARD_BENCH_FIXTURE names another body (e.g. bench/fixtures/end_call.simulated.json: an end_call
 * `switchboard simulate` made, with names, URLs and UTM parameters where Convolo's documented example has
 * "string"; 1,288 bytes against 1,017).
 */
export const END_CALL_LUA = path.join(BENCH_DIR, 'end_call.lua');
export const END_CALL_FIXTURE = process.env.SWITCHBOARD_BENCH_FIXTURE
  ? path.resolve(process.env.SWITCHBOARD_BENCH_FIXTURE)
  : path.join(BENCH_DIR, 'fixtures', 'end_call.json');
/** The start_call of whole calls (runWholeCalls); SWITCHBOARD_BENCH_START_FIXTURE names another (start_call.simulated.json). */
const START_CALL_FIXTURE = process.env.SWITCHBOARD_BENCH_START_FIXTURE
  ? path.resolve(process.env.SWITCHBOARD_BENCH_START_FIXTURE)
  : path.join(BENCH_DIR, 'fixtures', 'start_call.json');

/** A call_id prefix of its own (18 hex characters; bench/end_call.lua appends its thread and counter). */
export function freshCallPrefix() {
  return randomBytes(9).toString('hex');
}

/**
 * SWITCHBOARD_BENCH_CALL_IDS=scattered: call_ids spread over the key space as Convolo's are (end_call.lua's
 * fifth argument), so every index keyed by call_id takes each new call on a page of its own; by default they
 * count up and those indexes grow at their end.
 */
export const CALL_IDS = process.env.SWITCHBOARD_BENCH_CALL_IDS ?? 'counted';
if (CALL_IDS !== 'counted' && CALL_IDS !== 'scattered') throw new Error(`SWITCHBOARD_BENCH_CALL_IDS: counted or scattered, not "${CALL_IDS}"`);
const idArgs = (callIds, lag, startFixture) => (callIds === 'scattered' ? [lag, startFixture, 'scattered'] : lag === '0' ? [] : [lag, startFixture]);

/**
 * wrk posting Convolo's end_call fixture to `url`, every request a new call (bench/end_call.lua; `callIds`:
 * 'counted' or 'scattered', SWITCHBOARD_BENCH_CALL_IDS's by default). Each run
 * takes a call_id prefix of its own, so that no two runs against one database post the same call (the
 * script's counters start at 0 every run: a shared prefix made a run repeat the one before it, as duplicates).
 */
export function runEndCalls({ url, connections, seconds, timeout, callIds = CALL_IDS }) {
  return runWrk({ url, connections, seconds, timeout, script: END_CALL_LUA, scriptArgs: [END_CALL_FIXTURE, freshCallPrefix(), ...idArgs(callIds, '0', '')] });
}

/**
 * wrk posting whole calls as Convolo does: a start_call for a new call, then the end_call of the call started
 * `lag` calls earlier on the same wrk thread, alternately (bench/end_call.lua's third argument). Half the
 * requests then update a stored call, as in production, where the end comes minutes after the start.
 */
export function runWholeCalls({ url, connections, seconds, timeout, lag = 2000 }) {
  return runWrk({ url, connections, seconds, timeout, script: END_CALL_LUA, scriptArgs: [END_CALL_FIXTURE, freshCallPrefix(), ...idArgs(CALL_IDS, String(lag), START_CALL_FIXTURE)] });
}
