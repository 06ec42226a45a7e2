#!/usr/bin/env node
// Throwaway PostgreSQL clusters for tests and benchmarks.
//
// Plain ESM JavaScript (types in JSDoc, declarations in pg-cluster.d.mts) so
// that vitest's TypeScript tests and the plain-node benchmarks can share it
// without a build step.
//
//   import { startPgCluster, createDatabase } from './scripts/pg-cluster.mjs';
//   const { url, stop } = await startPgCluster();
//   const dbUrl = await createDatabase(url);
//   ...
//   await stop();
//
// CLI: `node scripts/pg-cluster.mjs` starts a cluster, prints its URL and
// keeps it running until SIGINT/SIGTERM.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The cluster's bootstrap superuser; fixed so URLs do not depend on who runs the tests. */
const SUPERUSER = 'postgres';

const INSTALL_HINT =
  'Install the PostgreSQL server binaries (Debian/Ubuntu: `apt-get install -y postgresql`), ' +
  'or point PG_BIN at the directory containing initdb and pg_ctl.';

/**
 * @typedef {object} PgClusterOptions
 * @property {Record<string, string | number | boolean>} [extraConf]
 *   Extra postgresql.conf settings, e.g. `{ fsync: 'off' }`.
 * @property {number} [maxConnections] max_connections (default 200).
 * @property {number} [recycledWalMb] WAL to leave ready for reuse, in MB (default 0): see warmWal.
 * @property {string} [replicaOf] A cluster's URL: start a hot standby of it (pg_basebackup, streaming
 *   replication) instead of a new cluster; what the primary commits appears on it once replayed.
 */

/**
 * @typedef {object} PgCluster
 * @property {string} url `postgres://postgres@127.0.0.1:<port>/postgres`
 * @property {() => Promise<void>} stop Stops the server and deletes its files. Idempotent.
 * @property {() => Promise<void>} halt Stops the server (fast shutdown), keeping its files.
 * @property {() => Promise<void>} resume Starts a halted server again on the same port and files.
 */

/**
 * Start a fresh PostgreSQL cluster in a new temp directory.
 * @param {PgClusterOptions} [options]
 * @returns {Promise<PgCluster>}
 */
export async function startPgCluster(options = {}) {
  const { extraConf = {}, maxConnections = 200, recycledWalMb = 0, replicaOf } = options;
  const bin = findPgBin();
  const runAs = resolveRunAs();

  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  /** @type {ClusterState} */
  const cluster = { bin, runAs, dir, dataDir, stopped: false, stopping: undefined };
  // Tracked from the start so that an exit at any point below removes what exists so far.
  live.add(cluster);
  installExitHooks();

  try {
    if (runAs) {
      // initdb and postgres refuse to run as root, so the cluster belongs to an
      // unprivileged user; it needs to own the directory it writes into.
      chownSync(dir, runAs.uid, runAs.gid);
    }

    if (replicaOf) {
      // A copy of the primary's files and settings (its port and socket directory are overridden below),
      // with standby.signal and primary_conninfo written (-R): the server starts as a hot standby.
      const primary = new URL(replicaOf);
      await run(cluster, join(bin, 'pg_basebackup'), [
        '--pgdata', dataDir,
        '--host', primary.hostname,
        '--port', primary.port,
        '--username', SUPERUSER,
        '--write-recovery-conf',
        '--checkpoint', 'fast',
        '--wal-method', 'stream',
        '--no-sync',
      ]);
    } else {
      await run(cluster, join(bin, 'initdb'), [
        '--pgdata', dataDir,
        '--username', SUPERUSER,
        '--auth', 'trust',
        '--encoding', 'UTF8',
        '--locale', 'C',
        // Skips only initdb's final fsync of the new files; the server itself keeps
        // its normal durability settings unless extraConf changes them.
        '--no-sync',
      ]);
    }

    const port = await freePort();
    /** @type {Record<string, string | number | boolean>} */
    const conf = {
      listen_addresses: '127.0.0.1',
      port,
      // Inside the temp dir: no clash with a system server's /var/run/postgresql
      // and no need for write access there.
      unix_socket_directories: dir,
      max_connections: maxConnections,
      ...extraConf,
    };
    appendFileSync(
      join(dataDir, 'postgresql.conf'),
      '\n# switchboard test harness\n' +
        Object.entries(conf).map(([k, v]) => `${k} = '${String(v).replaceAll("'", "''")}'\n`).join(''),
    );

    await run(cluster, join(bin, 'pg_ctl'), ['start', '--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '60'], {
      // pg_ctl's own stderr is terse ("could not start server"); the reason is in the log.
      explain: () => readTail(logFile),
    });

    const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
    if (recycledWalMb > 0 && !replicaOf) await warmWal(url, recycledWalMb);
    return {
      url,
      stop: () => stopCluster(cluster),
      // A restart in two halves, for tests of what clients meet while the server is down.
      halt: (mode = 'fast') => run(cluster, join(bin, 'pg_ctl'), ['stop', '--pgdata', dataDir, '--mode', mode, '--wait']),
      resume: () => run(cluster, join(bin, 'pg_ctl'), ['start', '--pgdata', dataDir, '--log', logFile, '--wait', '--timeout', '60'], { explain: () => readTail(logFile) }),
    };
  } catch (err) {
    // Leave nothing behind on a failed start: best-effort stop, then remove files.
    try {
      stopClusterSync(cluster);
    } catch {
      // The original error is the useful one.
    }
    throw err;
  }
}

/**
 * Leaves about `mb` of WAL segments ready for reuse, as on a server that has been running: a new cluster has
 * one segment, and the server fills each further 16 MB segment with zeros when it first needs it (commits
 * wait meanwhile: 60-80 ms every 16 MB on this project's benchmark machine), where a running server renames
 * segments a checkpoint freed. So: one segment per `pg_switch_wal()` (each after a write, or it does not
 * switch), then a checkpoint, which recycles them (up to max_wal_size).
 * @param {string} url
 * @param {number} mb
 */
async function warmWal(url, mb) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`select pg_size_bytes(current_setting('wal_segment_size')) / 1048576 as mb`);
    const segmentMb = Number(rows[0].mb);
    await client.query('create table switchboard_wal_warm (x int)');
    for (let i = 0; i < Math.ceil(mb / segmentMb); i++) {
      await client.query('insert into switchboard_wal_warm values (1)');
      await client.query('select pg_switch_wal()');
    }
    await client.query('drop table switchboard_wal_warm');
    await client.query('checkpoint');
  } finally {
    await client.end();
  }
}

/**
 * Create a fresh, empty database on the server at `baseUrl`.
 * @param {string} baseUrl URL of any database on the server (normally the cluster's `url`).
 * @param {string} [name] database name; defaults to `sb_<random hex>`.
 * @returns {Promise<string>} `baseUrl` with its database replaced by the new one.
 */
export async function createDatabase(baseUrl, name = `sb_${randomBytes(6).toString('hex')}`) {
  const client = new pg.Client({ connectionString: baseUrl });
  try {
    await client.connect();
    // template0 is guaranteed pristine even on a shared server whose template1 was modified.
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
  } catch (err) {
    throw new Error(
      `createDatabase: could not create database "${name}" on ${redact(baseUrl)}: ${errorMessage(err)}. ` +
        'Check that the server is running and the URL names a role allowed to CREATE DATABASE.',
      { cause: err },
    );
  } finally {
    await client.end().catch(() => {});
  }
  const url = new URL(baseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

// ---------------------------------------------------------------------------
// Internals

/**
 * @typedef {{ user: string, uid: number, gid: number, wrap: (cmd: string, args: string[]) => [string, string[]] }} RunAs
 * @typedef {{ bin: string, runAs: RunAs | undefined, dir: string, dataDir: string, stopped: boolean, stopping: Promise<void> | undefined }} ClusterState
 */

/** Clusters started by this process and not yet stopped. */
/** @type {Set<ClusterState>} */
const live = new Set();

/** Directory with initdb/pg_ctl: $PG_BIN, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function findPgBin() {
  const envBin = process.env.PG_BIN;
  if (envBin) {
    if (!existsSync(join(envBin, 'initdb'))) {
      throw new Error(`PG_BIN=${envBin} does not contain initdb. Fix PG_BIN or unset it. ${INSTALL_HINT}`);
    }
    return envBin;
  }
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(base, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error(`PostgreSQL server binaries not found (no $PG_BIN, no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH). ${INSTALL_HINT}`);
}

/**
 * When running as root, pick the unprivileged user the cluster will run as and
 * how to switch to it. Returns undefined when no switch is needed.
 * @returns {RunAs | undefined}
 */
function resolveRunAs() {
  if (process.getuid?.() !== 0) return undefined;
  const user = ['postgres', 'nobody'].find((u) => spawnSync('id', ['-u', u]).status === 0);
  if (!user) {
    throw new Error('Running as root, and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as (initdb refuses root). Create one (`useradd --system postgres`) or run the tests as a non-root user.');
  }
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());

  /** @type {Array<[string, RunAs['wrap']]>} */
  const candidates = [
    ['runuser', (cmd, args) => ['runuser', ['-u', user, '--', cmd, ...args]]],
    // su needs a shell command line; the nologin shells of system users are bypassed with -s.
    ['su', (cmd, args) => ['su', ['-s', '/bin/sh', user, '-c', [cmd, ...args].map(shellQuote).join(' ')]]],
  ];
  const failures = [];
  for (const [name, wrap] of candidates) {
    const [c, a] = wrap('true', []);
    const r = spawnSync(c, a, { encoding: 'utf8' });
    if (r.status === 0) return { user, uid, gid, wrap };
    failures.push(`${name}: ${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}`);
  }
  throw new Error(`Running as root, but cannot switch to user "${user}" to run PostgreSQL (initdb refuses root). Tried ${failures.join('; ')}. Install util-linux (runuser) or run the tests as a non-root user.`);
}

/**
 * Run a PostgreSQL binary (as the cluster user if we are root); reject with the
 * full command line and its output on failure.
 * @param {ClusterState} cluster
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ explain?: () => string, hint?: string }} [opts]
 * @returns {Promise<void>}
 */
function run(cluster, cmd, args, opts = {}) {
  const [c, a] = cluster.runAs ? cluster.runAs.wrap(cmd, args) : [cmd, args];
  const commandLine = [c, ...a].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    // cwd inside the temp dir: the cluster user may not be able to enter ours (e.g. /root).
    // stdout is ignored: pg_ctl's forked server inherits it, and a pipe would keep us waiting for EOF.
    const child = spawn(c, a, { cwd: cluster.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => reject(new Error(`Could not run \`${commandLine}\`: ${err.message}. ${INSTALL_HINT}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const extra = opts.explain?.() ?? '';
      reject(
        new Error(
          `PostgreSQL harness: \`${commandLine}\` failed (${signal ?? `exit ${code}`}).\n` +
            `stderr:\n${stderr.trim() || '(empty)'}` +
            (extra ? `\nserver log (tail):\n${extra}` : '') +
            `\n${opts.hint ?? `If the binaries are missing or broken: ${INSTALL_HINT}`}` +
            (cluster.runAs ? ` Running as root, so commands run as "${cluster.runAs.user}"; it must be able to reach ${cluster.dir} (check TMPDIR permissions).` : ''),
        ),
      );
    });
  });
}

/** A TCP port that was free a moment ago. Racy in theory; good enough for a test harness. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {ClusterState} cluster
 * @returns {Promise<void>}
 */
function stopCluster(cluster) {
  cluster.stopping ??= (async () => {
    if (cluster.stopped) return;
    if (existsSync(join(cluster.dataDir, 'postmaster.pid'))) {
      await run(cluster, join(cluster.bin, 'pg_ctl'), ['stop', '--pgdata', cluster.dataDir, '--mode', 'immediate', '--wait'], {
        hint: `The server may still be running; stop it by hand (pg_ctl stop -D ${cluster.dataDir}), then delete ${cluster.dir}.`,
      }).catch((err) => {
        cluster.stopping = undefined; // allow a retry
        throw err;
      });
    }
    // Only delete files once the server is known to be gone; otherwise it would keep running, orphaned.
    finish(cluster);
  })();
  return cluster.stopping;
}

/**
 * Synchronous variant for process 'exit' and signal handlers, where async work never completes.
 * @param {ClusterState} cluster
 */
function stopClusterSync(cluster) {
  if (cluster.stopped) return;
  if (existsSync(join(cluster.dataDir, 'postmaster.pid'))) {
    const args = ['stop', '--pgdata', cluster.dataDir, '--mode', 'immediate', '--wait'];
    const [c, a] = cluster.runAs ? cluster.runAs.wrap(join(cluster.bin, 'pg_ctl'), args) : [join(cluster.bin, 'pg_ctl'), args];
    const r = spawnSync(c, a, { cwd: cluster.dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`PostgreSQL harness: could not stop the cluster in ${cluster.dir}: ${r.stderr?.trim() || r.error?.message}. Stop it by hand: pg_ctl stop -D ${cluster.dataDir}`);
    }
  }
  finish(cluster);
}

/** @param {ClusterState} cluster */
function finish(cluster) {
  rmSync(cluster.dir, { recursive: true, force: true });
  cluster.stopped = true;
  live.delete(cluster);
}

let hooksInstalled = false;

/** Stop every live cluster when the process exits or is interrupted, so none outlive it. */
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const stopAll = () => {
    for (const cluster of [...live]) {
      try {
        stopClusterSync(cluster);
      } catch (err) {
        process.stderr.write(`${errorMessage(err)}\n`);
      }
    }
  };
  process.on('exit', stopAll);
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, function onSignal() {
      stopAll();
      // Listening for a signal disables Node's default "die". If nobody else
      // (vitest, the CLI below) handles it, restore that by re-raising it.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    });
  }
}

/** @param {string} file */
function readTail(file) {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

/** @param {string} s */
function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** @param {string} url */
function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// CLI

function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false; // argv[1] is not a file (REPL, -e): certainly not us
  }
}

if (isMain()) {
  const started = performance.now();
  const { url, stop } = await startPgCluster();
  process.stderr.write(`PostgreSQL ready in ${Math.round(performance.now() - started)} ms; Ctrl-C to stop.\n`);
  process.stdout.write(`${url}\n`);
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(signal, () => {
      // The exit hook installed above has already stopped the cluster synchronously; stop() is then a no-op.
      stop().then(
        () => {
          process.stderr.write('PostgreSQL stopped.\n');
          process.exit(0);
        },
        (err) => {
          process.stderr.write(`${errorMessage(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}
