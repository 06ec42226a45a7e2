// Servers under test, each in its own child process: the bare node:http baseline, Switchboard
// (`node dist/cli/index.js start`), and the PostgreSQL that Switchboard may use.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onCleanup, trackChild } from './cleanup.mjs';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(BENCH_DIR, '..');
// SWITCHBOARD_BENCH_CLI runs another build (a copy of an earlier dist/, to compare builds alternately);
// SWITCHBOARD_BENCH_NODE_ARGS adds node flags to Switchboard's command line (e.g. `--cpu-prof`).
export const SWITCHBOARD_CLI = process.env.SWITCHBOARD_BENCH_CLI
  ? path.resolve(process.env.SWITCHBOARD_BENCH_CLI)
  : path.join(REPO_ROOT, 'dist', 'cli', 'index.js');
const EXTRA_NODE_ARGS = (process.env.SWITCHBOARD_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
/** The V8 flags `npm start` and the `switchboard` bin run with (package.json, src/cli/index.ts). */
export const SWITCHBOARD_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'];
/** What a benchmark starts Switchboard's node with: those flags, then SWITCHBOARD_BENCH_NODE_ARGS (e.g. `--cpu-prof`). */
export const SWITCHBOARD_NODE_ARGS = [...SWITCHBOARD_NODE_FLAGS, ...EXTRA_NODE_ARGS];
/**
 * The environment Switchboard is started with: the caller's, glibc's malloc arenas as `npm start` and the bin
 * set them (src/cli/index.ts) unless the caller set its own, warnings only in the log, then `extra`.
 */
export const switchboardEnv = (extra = {}) => ({ MALLOC_ARENA_MAX: '2', ...process.env, LOG_LEVEL: 'warn', ...extra });

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Keeps the last lines a child wrote (stdout and stderr), counts them, and lets callers watch lines. */
function captureOutput(child, keep = 60) {
  const tail = [];
  const watchers = [];
  let lines = 0;
  const attach = (stream, label) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const raw of parts) {
        const line = raw.replace(ANSI, '').replace(/\r$/, '');
        lines += 1;
        tail.push(`${label}| ${line}`);
        if (tail.length > keep) tail.shift();
        for (const w of watchers) w(line, label);
      }
    });
  };
  attach(child.stdout, 'out');
  attach(child.stderr, 'err');
  return {
    onLine: (fn) => watchers.push(fn),
    get lines() {
      return lines;
    },
    tail: (n = 20) => tail.slice(-n).join('\n'),
  };
}

function spawnServer(kind, args, options) {
  const child = trackChild(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
  const server = { kind, child, pid: child.pid, exitInfo: null };
  server.log = captureOutput(child);
  server.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      server.exitInfo = { code, signal };
      resolve(server.exitInfo);
    });
  });
  child.once('error', (err) => {
    server.spawnError = err;
  });
  server.unregisterCleanup = onCleanup(() => stopServer(server));
  return server;
}

function describeExit(info) {
  return info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`;
}

/**
 * SIGTERM, then wait for the exit (SIGKILL after 15 s). Returns
 * { code, signal, killedAfterTimeout, ok } where ok means it exited 0 on its own after SIGTERM.
 */
export async function stopServer(server) {
  server.unregisterCleanup?.();
  let killedAfterTimeout = false;
  if (!server.exitInfo) {
    try {
      server.child.kill('SIGTERM');
    } catch {
      // already gone
    }
    const timeout = sleep(STOP_TIMEOUT_MS).then(() => 'timeout');
    if ((await Promise.race([server.exited, timeout])) === 'timeout') {
      killedAfterTimeout = true;
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }
  const { code, signal } = server.exitInfo;
  const ok = !killedAfterTimeout && code === 0;
  let detail = ok ? 'exited 0' : describeExit(server.exitInfo);
  if (killedAfterTimeout) detail = `did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM; SIGKILLed`;
  return { code, signal, killedAfterTimeout, ok, detail };
}

/** The bare node:http baseline of the ingest benchmark (bench/baseline-server.mjs). */
export function startBaseline() {
  return startScriptServer('baseline', 'baseline-server.mjs');
}

/**
 * The hand-written node:http + better-sqlite3 receiver (bench/handwritten-receiver.mjs) on a file in a fresh
 * temp dir; `db` is that file, `removeData()` deletes the dir (call it after stopServer).
 */
export async function startHandwritten() {
  const tmpdir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-bench-hand-'));
  const unregister = onCleanup(() => rm(tmpdir, { recursive: true, force: true }));
  const removeData = async () => {
    unregister();
    await rm(tmpdir, { recursive: true, force: true });
  };
  const file = path.join(tmpdir, 'hand.db');
  let server;
  try {
    server = await startScriptServer('handwritten', 'handwritten-receiver.mjs', [file]);
  } catch (err) {
    await removeData();
    throw err;
  }
  server.db = `sqlite:${file}`;
  server.removeData = removeData;
  return server;
}

/**
 * A plain node script of bench/ (`script`, relative to bench/, with `args`) that listens on a port of the OS's choosing
 * and prints it alone on a line on stdout: the baselines, the webhook sink. Resolves the server with `port`
 * and `url` (http://127.0.0.1:<port>/hooks/convolo/baseline, where the ingest baseline takes its load).
 */
export async function startScriptServer(kind, script, args = []) {
  const server = spawnServer(kind, [path.join(BENCH_DIR, script), ...args], { cwd: REPO_ROOT });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server printed no port within 10 s`)), 10_000);
    server.log.onLine((line, label) => {
      if (label === 'out' && /^\d+$/.test(line.trim())) {
        clearTimeout(timer);
        resolve(Number(line.trim()));
      }
    });
    server.exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited before listening (${describeExit(info)})\n${server.log.tail()}`));
    });
  }).catch(async (err) => {
    await stopServer(server);
    throw err;
  });
  server.port = port;
  server.baseUrl = `http://127.0.0.1:${port}`;
  server.url = `${server.baseUrl}/hooks/convolo/baseline`;
  return server;
}

/**
 * One HTTP request, by default on its own connection (`Connection: close`), so that the harness never holds
 * an idle keep-alive connection that could delay a server's graceful shutdown. A caller that sends many
 * requests in a row may pass its own keep-alive `agent`, and must destroy it before stopping the server.
 * Resolves { status, body }.
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 10_000, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function readyz(port) {
  try {
    const res = await httpRequest(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 1000 });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Switchboard: `node dist/cli/index.js start --host 127.0.0.1 --port <free> --db <db>` with
 * LOG_LEVEL=warn, cwd = repo root. Ready when it has printed its `Ingest URL: ...` line (first start
 * on an empty database) and GET /readyz answers 200, within 15 s. `adminKey` is the key printed on that
 * first start (`Admin key:    sbk_...`, in the same write as the URL), or null if none was seen; the
 * stored-events check needs it, the load does not, so its absence is reported there, not here.
 * `args` are more flags for `start` (e.g. ['--allow-private-destinations', 'true']).
 */
export async function startSwitchboard({ db, args = [], knownIngestPath = null, cli = SWITCHBOARD_CLI }) {
  if (!existsSync(cli)) {
    throw new Error(`${path.relative(REPO_ROOT, cli)} not found: run \`npm run build\` (\`npm run bench\` does it)`);
  }
  const port = await freePort();
  const server = spawnServer(
    'switchboard',
    // The V8 flags are the ones `npm start` and the `switchboard` bin run with (SWITCHBOARD_NODE_FLAGS).
    [...SWITCHBOARD_NODE_ARGS, cli, 'start', '--host', '127.0.0.1', '--port', String(port), '--db', db, ...args],
    { cwd: REPO_ROOT, env: switchboardEnv() },
  );
  server.port = port;
  server.baseUrl = `http://127.0.0.1:${port}`;
  server.adminKey = null;
  // A node started on a database that has its source already prints the URL without its token: the caller knows it.
  let ingestPath = knownIngestPath;
  let placeholderSeen = false;
  server.log.onLine((line) => {
    const key = line.match(/Admin key:\s*(sbk_\S+)/i);
    if (key && !server.adminKey) server.adminKey = key[1];
  });
  server.log.onLine((line) => {
    if (ingestPath || !/Ingest URL/i.test(line)) return;
    const m = line.match(/\/hooks\/convolo\/\S+/);
    if (!m) return;
    // On a database that already has sources, the URL is printed without its token ("<token of ...>").
    if (m[0].includes('<')) placeholderSeen = true;
    else ingestPath = m[0].replace(/["'`),.;>\]]+$/, '');
  });

  const started = Date.now();
  let ready = false;
  try {
    while (Date.now() - started < READY_TIMEOUT_MS) {
      if (server.spawnError) throw new Error(`could not start switchboard: ${server.spawnError.message}`);
      if (server.exitInfo) {
        throw new Error(`switchboard exited during start-up (${describeExit(server.exitInfo)})\n${server.log.tail()}`);
      }
      if (!ready) ready = await readyz(port);
      if (ready && ingestPath) break;
      await sleep(100);
    }
    if (!ready || !ingestPath) {
      throw new Error(
        `switchboard not ready within ${READY_TIMEOUT_MS / 1000} s ` +
          `(GET /readyz ${ready ? 'answered 200' : 'never answered 200'}; ` +
          `"Ingest URL: .../hooks/convolo/<token>" line ${ingestPath ? 'seen' : placeholderSeen ? 'printed without its token: not a first start on an empty database?' : 'not seen on stdout/stderr'})\n` +
          server.log.tail(),
      );
    }
  } catch (err) {
    await stopServer(server);
    throw err;
  }
  server.startupMs = Date.now() - started;
  server.linesAtReady = server.log.lines;
  server.url = `${server.baseUrl}${ingestPath}`;
  return server;
}

/**
 * Switchboard on an empty database of `kind`: 'sqlite' (a file in a fresh temp dir) or 'postgres' (a fresh
 * database from `pg`, an openPostgres() handle; when it is null, throws with `pgError`). The server has
 * `db` and `removeData()`, which deletes the temp dir (call it after stopServer); a failed start removes
 * it itself.
 */
export async function startFreshSwitchboard(kind, { pg = null, pgError = null, args = [], cli } = {}) {
  let tmpdir = null;
  let unregister = () => {};
  let db;
  if (kind === 'sqlite') {
    tmpdir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-bench-'));
    unregister = onCleanup(() => rm(tmpdir, { recursive: true, force: true }));
    db = `sqlite:${path.join(tmpdir, 'bench.db')}`;
  } else if (kind === 'postgres') {
    if (!pg) throw new Error(`PostgreSQL unavailable: ${pgError}`);
    db = await pg.createDatabase();
  } else {
    throw new Error(`no Switchboard database of kind "${kind}"`);
  }
  const removeData = async () => {
    unregister();
    if (tmpdir) await rm(tmpdir, { recursive: true, force: true });
  };
  let server;
  try {
    server = await startSwitchboard({ db, args, cli });
  } catch (err) {
    await removeData();
    throw err;
  }
  server.db = db;
  server.removeData = removeData;
  return server;
}

/** A URL with its password hidden, for printing. */
export function redactUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable URL>';
  }
}

/**
 * PostgreSQL for Switchboard: SWITCHBOARD_BENCH_PG_URL (an existing server) or a throwaway cluster from
 * scripts/pg-cluster.mjs with its default, durable settings (fsync on). `createDatabase()` gives a fresh
 * empty database URL each time. `close()` stops the cluster (also done on any exit path).
 */
export async function openPostgres() {
  const modulePath = path.join(REPO_ROOT, 'scripts', 'pg-cluster.mjs');
  let mod;
  try {
    mod = await import(pathToFileURL(modulePath).href);
  } catch (err) {
    throw new Error(`cannot load scripts/pg-cluster.mjs: ${err.message}`);
  }
  const external = process.env.SWITCHBOARD_BENCH_PG_URL;
  const created = [];
  if (external) {
    return {
      describe: `existing server from SWITCHBOARD_BENCH_PG_URL (${redactUrl(external)})`,
      external: true,
      created,
      async createDatabase() {
        const url = await mod.createDatabase(external);
        created.push(url);
        return url;
      },
      async startStandby() {
        throw new Error('a standby needs the throwaway local cluster (unset SWITCHBOARD_BENCH_PG_URL)');
      },
      async close() {},
    };
  }
  // With a WAL ready for reuse, as a running server has (see warmWal in scripts/pg-cluster.mjs): a new
  // cluster's commits wait 60-80 ms for every 16 MB segment it zero-fills (docs/benchmarks.md, 2026-12-03).
  const cluster = await mod.startPgCluster({ recycledWalMb: 1024 });
  const standbys = [];
  const unregister = onCleanup(() => Promise.all([...standbys.map((s) => s.stop()), cluster.stop()]));
  return {
    describe: 'throwaway local cluster from scripts/pg-cluster.mjs (default settings, fsync on, 1 GB of WAL segments ready for reuse)',
    external: false,
    created,
    async createDatabase() {
      const url = await mod.createDatabase(cluster.url);
      created.push(url);
      return url;
    },
    /** A hot standby of the cluster (streaming replication), stopped with it; its URL names `db`'s database. */
    async startStandby(db) {
      const standby = await mod.startPgCluster({ replicaOf: cluster.url });
      standbys.push(standby);
      return Object.assign(new URL(standby.url), { pathname: new URL(db).pathname }).toString();
    },
    async close() {
      unregister();
      await Promise.all(standbys.map((s) => s.stop()));
      await cluster.stop();
    },
  };
}

/**
 * Runs `runBackend(kind, { pg, pgError })` for each kind in turn, with a PostgreSQL handle opened first when
 * 'postgres' is among them (`pgError` says why not, and its run reports it), closed at the end.
 */
export async function forEachBackend(kinds, runBackend) {
  let pg = null;
  let pgError = null;
  if (kinds.includes('postgres')) {
    try {
      pg = await openPostgres();
    } catch (err) {
      pgError = err.message;
    }
  }
  const rows = [];
  try {
    for (const kind of kinds) rows.push(await runBackend(kind, { pg, pgError }));
  } finally {
    await pg?.close().catch(() => {});
  }
  return { rows, pg };
}
