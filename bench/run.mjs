#!/usr/bin/env node
// Benchmarks entry point (`npm run bench`, which builds first).
//
//   node bench/run.mjs [part ...] [options]
//
// Parts run in the order of PARTS below; name some to run only those (`node bench/run.mjs ingest`,
// `node bench/run.mjs relay`).
// dashboard: the web app in Chromium on SWITCHBOARD_BENCH_DASHBOARD_CALLS (default 1,000,000) seeded calls.
// scale: PostgreSQL ingest with 1, 2 and 3 api nodes (SWITCHBOARD_BENCH_CLI_BEFORE adds another build's rows, alternating).
// reconcile: one reconcile run of SWITCHBOARD_BENCH_RECONCILE_CALLS (default 100,000) mock calls, 90 % present, beside the ingest.
// relay uses --duration and --warmup for its stream-latency case; --connections is ingest's only.
// Options (a flag wins over its environment variable):
//   --duration <s>        measured run per case, seconds (SWITCHBOARD_BENCH_DURATION, default 10)
//   --warmup <s>          warm-up before each measured run, seconds, 0 = none (SWITCHBOARD_BENCH_WARMUP, default 3)
//   --connections <list>  comma-separated connection counts (SWITCHBOARD_BENCH_CONNECTIONS, default 50,256)
//   --only <list>         servers to run, comma-separated; ingest: baseline, handwritten, sqlite, sqlite-scattered, postgres; relay: baseline, sqlite, postgres
//                         (SWITCHBOARD_BENCH_ONLY, default all). Ratios need the baseline in the same run.
//   --cases <list>        relay only: stream, deliveries, recovery, blackhole (SWITCHBOARD_BENCH_CASES, default all);
//                         recovery's and blackhole's ratios need deliveries in the same run.
//   --strict              exit 1 when a target is missed, not only when a run failed (SWITCHBOARD_BENCH_STRICT=1)
// SWITCHBOARD_BENCH_PG_URL: use this PostgreSQL server instead of starting a throwaway cluster.
//
// Exit status: 0 when every run completed (targets are printed ✔/✘ but, without --strict, do not fail),
// 1 when a run failed, a server did not exit 0 on SIGTERM, (ingest) stored fewer events than it answered
// 2xx to, or (relay) an event went missing, twice or out of order to a stream client or a destination
// (or, with --strict, a target was missed),
// 2 on a usage error. Results: bench/results/<part>-latest.md.
import { installExitHandlers, runCleanups } from './lib/cleanup.mjs';
import { FatalError } from './lib/wrk.mjs';

// To add a part: a module exporting `description` and `async run(options) → { ok, targetsMet }`.
const PARTS = {
  ingest: () => import('./ingest.mjs'),
  relay: () => import('./relay.mjs'),
  query: () => import('./query.mjs'),
  readload: () => import('./read-load.mjs'),
  dashboard: () => import('./dashboard.mjs'),
  reconcile: () => import('./reconcile.mjs'),
  scale: () => import('./scale.mjs'),
};

const DEFAULTS = { duration: 10, warmup: 3, connections: [50, 256], only: null, cases: null, strict: false };

class UsageError extends Error {}

function seconds(name, value, min) {
  const m = String(value).trim().match(/^(\d+)s?$/);
  if (!m || Number(m[1]) < min) throw new UsageError(`${name}: expected whole seconds ≥ ${min}, got "${value}"`);
  return Number(m[1]);
}

function list(value) {
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function connections(value) {
  const out = list(value).map((c) => {
    if (!/^\d+$/.test(c) || Number(c) < 1) throw new UsageError(`--connections: "${c}" is not a positive integer`);
    return Number(c);
  });
  if (out.length === 0) throw new UsageError('--connections: empty list');
  return out;
}

function parseArgs(argv, env = process.env) {
  const opts = { ...DEFAULTS, parts: [] };
  if (env.SWITCHBOARD_BENCH_DURATION) opts.duration = seconds('SWITCHBOARD_BENCH_DURATION', env.SWITCHBOARD_BENCH_DURATION, 1);
  if (env.SWITCHBOARD_BENCH_WARMUP) opts.warmup = seconds('SWITCHBOARD_BENCH_WARMUP', env.SWITCHBOARD_BENCH_WARMUP, 0);
  if (env.SWITCHBOARD_BENCH_CONNECTIONS) opts.connections = connections(env.SWITCHBOARD_BENCH_CONNECTIONS);
  if (env.SWITCHBOARD_BENCH_ONLY) opts.only = list(env.SWITCHBOARD_BENCH_ONLY);
  if (env.SWITCHBOARD_BENCH_CASES) opts.cases = list(env.SWITCHBOARD_BENCH_CASES);
  if (env.SWITCHBOARD_BENCH_STRICT) opts.strict = !['', '0', 'false', 'no'].includes(env.SWITCHBOARD_BENCH_STRICT);

  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--duration':
      case '-d':
        opts.duration = seconds('--duration', next(), 1);
        break;
      case '--warmup':
      case '--warm-up':
        opts.warmup = seconds('--warmup', next(), 0);
        break;
      case '--connections':
      case '-c':
        opts.connections = connections(next());
        break;
      case '--only':
        opts.only = list(next());
        break;
      case '--cases':
        opts.cases = list(next());
        break;
      case '--strict':
        opts.strict = true;
        break;
      case '--help':
      case '-h':
        opts.help = true;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (!PARTS[arg]) throw new UsageError(`unknown part "${arg}" (parts: ${Object.keys(PARTS).join(', ')})`);
        opts.parts.push(arg);
    }
  }
  if (opts.only && opts.only.length === 0) throw new UsageError('--only: empty list');
  if (opts.cases && opts.cases.length === 0) throw new UsageError('--cases: empty list');
  if (opts.parts.length === 0) opts.parts = Object.keys(PARTS);
  else opts.parts = Object.keys(PARTS).filter((p) => opts.parts.includes(p)); // always in the defined order
  return opts;
}

function usage() {
  return [
    'usage: node bench/run.mjs [part ...] [--duration s] [--warmup s] [--connections 50,256] [--only a,b] [--cases a,b] [--strict]',
    `parts: ${Object.keys(PARTS).join(', ')} (default: all, in that order)`,
    'env: SWITCHBOARD_BENCH_DURATION, _WARMUP, _CONNECTIONS, _ONLY, _CASES, _STRICT, SWITCHBOARD_BENCH_PG_URL',
    'see the header of bench/run.mjs for details',
  ].join('\n');
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n${usage()}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  installExitHandlers();
  process.stderr.write(
    `bench: parts ${opts.parts.join(', ')}; duration ${opts.duration} s, warm-up ${opts.warmup} s, ` +
      `connections ${opts.connections.join(',')}${opts.only ? `, only ${opts.only.join(',')}` : ''}` +
      `${opts.cases ? `, cases ${opts.cases.join(',')}` : ''}\n`,
  );
  const summary = [];
  let status = 0;
  for (const name of opts.parts) {
    const part = await PARTS[name]();
    try {
      const res = await part.run(opts);
      summary.push(`${name}: ${res.ok ? 'completed' : 'FAILED (see above)'}; targets ${res.targetsMet ? 'met' : 'NOT all met'}`);
      if (!res.ok || (opts.strict && !res.targetsMet)) status = 1;
    } catch (err) {
      if (!(err instanceof FatalError)) throw err;
      process.stderr.write(`bench ${name}: ${err.message}\n`);
      summary.push(`${name}: could not run`);
      status = 1;
    } finally {
      await runCleanups();
    }
  }
  process.stderr.write(`\nbench: ${summary.join(' · ')}\n`);
  return status;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    await runCleanups();
    process.exitCode = 1;
  },
);
