// CSV export, builds alternately (issue 15: ≥ 100k rows/s on the 1M-call SQLite database).
//   node bench/csv-export.mjs <work dir> <rounds> <label>=<dist dir> [<label>=<dist dir> ...]
// The first run seeds <work dir>/bench.db with SWITCHBOARD_BENCH_CALLS (default 1,000,000) calls as the query
// bench does (bench/lib/seed-calls.mjs) and keeps it with its admin key for the next runs. Each round: the
// baseline (a bare node:http server streaming as many bytes in 64 KiB chunks, from memory), then each build
// in turn on the same database, one export of every call through one undici connection. Prints one JSON line
// per run: rows/s, ms, the server's CPU µs per row (all threads), the load average, bytes, the body's SHA-256 (identical across builds: the bytes did not change) and the
// ratio to the round's baseline.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { processTicks } from './lib/procfs.mjs';
import { readCsvBody } from './query.mjs';
import { seedSqlite } from './lib/seed-calls.mjs';
import { REPO_ROOT, SWITCHBOARD_NODE_ARGS, freePort, switchboardEnv, httpRequest, startSwitchboard, stopServer } from './lib/servers.mjs';

const require = createRequire(path.join(REPO_ROOT, 'package.json'));
const { Pool } = require('undici');
const [workDir, roundsArg, ...builds] = process.argv.slice(2);
if (!workDir || !roundsArg || builds.length === 0) {
  console.error('usage: node bench/csv-export.mjs <work dir> <rounds> <label>=<dist dir> ...');
  process.exit(2);
}
const log = (m) => process.stderr.write(`[csv] ${m}\n`);
const file = path.resolve(workDir, 'bench.db');
const keyFile = path.resolve(workDir, 'admin-key');
const extraArgs = (process.env.SWITCHBOARD_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

if (!existsSync(keyFile)) {
  mkdirSync(workDir, { recursive: true });
  const fresh = await startSwitchboard({ db: `sqlite:${file}` });
  await stopServer(fresh);
  const n = Number(process.env.SWITCHBOARD_BENCH_CALLS ?? 1_000_000);
  log(`seeding ${n} calls`);
  seedSqlite(file, { n, now: Date.now(), log });
  writeFileSync(keyFile, fresh.adminKey);
}
const adminKey = readFileSync(keyFile, 'utf8').trim();

async function startBuild(dist) {
  const port = await freePort();
  const child = spawn(process.execPath, [...SWITCHBOARD_NODE_ARGS, ...extraArgs, path.resolve(dist, 'cli/index.js'), 'start', '--host', '127.0.0.1', '--port', String(port), '--db', `sqlite:${file}`], {
    cwd: REPO_ROOT,
    env: switchboardEnv(),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await httpRequest(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 1000 })).status === 200) return { child, port };
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${dist} did not start`);
}

async function exportOnce(port, pathAndQuery, headers) {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const hash = createHash('sha256');
  const t0 = performance.now();
  const res = await pool.request({ method: 'GET', path: pathAndQuery, headers, bodyTimeout: 600_000 });
  const { bytes, rows } = await readCsvBody(res.body, (chunk) => hash.update(chunk));
  const ms = performance.now() - t0;
  await pool.close();
  if (res.statusCode !== 200) throw new Error(`GET ${pathAndQuery}: ${res.statusCode}`);
  return { ms, bytes, rows, sha256: hash.digest('hex').slice(0, 16) };
}

/** The baseline: node:http writing `bytes` bytes of one 64 KiB chunk, with backpressure. */
async function baseline(bytes) {
  const chunk = Buffer.alloc(65_536, 'a,b,c\r\n');
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/csv' });
    let left = bytes;
    const write = () => {
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!res.write(part)) return void res.once('drain', write);
      }
      res.end();
    };
    write();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await exportOnce(server.address().port, '/', {});
  } finally {
    server.close();
  }
}

const query = process.env.SWITCHBOARD_BENCH_CSV_QUERY ?? '';
for (let round = 1; round <= Number(roundsArg); round++) {
  const lines = [];
  for (const spec of builds) {
    const [label, dist] = spec.split('=');
    const server = await startBuild(dist);
    try {
      const before = processTicks(server.child.pid).own;
      const r = await exportOnce(server.port, `/v1/calls.csv${query}`, { authorization: `Bearer ${adminKey}` });
      // Server CPU (every thread, user + system) per row: steadier than rows/s on a shared machine.
      const cpuUsPerRow = +((((processTicks(server.child.pid).own - before) / 100) * 1e6) / r.rows).toFixed(1);
      const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      lines.push({ round, label, rows: r.rows, ms: Math.round(r.ms), rps: Math.round(r.rows / (r.ms / 1000)), cpuUsPerRow, load, bytes: r.bytes, sha256: r.sha256 });
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
  }
  // The baseline after the round's builds, with as many bytes as the first build answered.
  const base = await baseline(lines[0].bytes);
  for (const line of lines) {
    console.log(JSON.stringify({ ...line, baseMs: Math.round(base.ms), baseMBps: Math.round(base.bytes / 1e6 / (base.ms / 1000)), ratio: +(base.ms / line.ms).toFixed(3) }));
  }
}
