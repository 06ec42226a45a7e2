import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { endCall } from './support/app.js';
import { cliPath, killLeftoverServers, postWebhook, repoRoot, startFirstServer, startServer } from './support/crash-server.js';

/** The SQLite file as `switchboard start` leaves it on disk. */
describe('the SQLite database on disk', () => {
  afterAll(killLeftoverServers);

  const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

  it('is readable by its owner only, with the data directory it created: it holds signing secrets and Convolo keys', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'data');
    const path = join(data, 'switchboard.db');
    const server = await startFirstServer(`sqlite:${path}`);
    try {
      // A destination's signing secret and a Convolo key are kept readable by the server: they are in the file.
      const headers = { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' };
      const sources = (await (await fetch(`${server.baseUrl}/v1/sources`, { headers })).json()) as { data: Array<{ id: string }> };
      expect((await fetch(`${server.baseUrl}/v1/sources/${sources.data[0]!.id}/convolo`, { method: 'PUT', headers, body: JSON.stringify({ api_key: 'convolo-secret-key' }) })).status).toBe(200);
      expect(mode(data)).toBe('700');
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(mode(file), file).toBe('600');
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
  }, 60_000);

  it('warns at start when an existing database file can be read by other users, and leaves its mode as it is', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'switchboard.db');
    writeFileSync(path, ''); // a file made before Switchboard created files 0600 (an empty file is a new database)
    chmodSync(path, 0o644);
    const server = await startServer(`sqlite:${path}`);
    try {
      expect(server.stderr()).toContain(`${path} can be read or changed by other users of this machine (mode 644); it holds signing secrets and Convolo keys: chmod 600 ${path}*`);
      expect(mode(path)).toBe('644');
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
    // A file only its owner reads: no warning.
    chmodSync(path, 0o600);
    const quiet = await startServer(`sqlite:${path}`);
    try {
      expect(quiet.stderr()).not.toContain('other users of this machine');
    } finally {
      quiet.child.kill('SIGTERM');
      await quiet.exited;
    }
  }, 60_000);

  it('a second start on the same file refuses clearly and leaves the first running; after a kill -9 the next start works', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'switchboard.db');
    const first = await startFirstServer(`sqlite:${path}`);
    const second = spawnSync(process.execPath, [cliPath, 'start', '--db', `sqlite:${path}`, '--host', '127.0.0.1', '--port', '0'], {
      cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 30_000,
    });
    expect(second.status, second.stdout + second.stderr).toBe(1);
    expect(second.stdout).not.toContain('Switchboard is running');
    expect(second.stderr).toMatch(/another Switchboard process is running on .*switchboard\.db/);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    // The first one goes on as before.
    expect((await postWebhook(first.ingestUrl, endCall('call-after-second'))).status).toBe(200);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = await startServer(`sqlite:${path}`);
    try {
      expect((await postWebhook(first.ingestUrl.replace(first.baseUrl, third.baseUrl), endCall('call-after-restart'))).status).toBe(200);
    } finally {
      third.child.kill('SIGTERM');
      expect(await third.exited).toEqual({ code: 0, signal: null });
    }
    // Beside the database: its WAL files and the lock, nothing more (no journal of the lock left behind).
    const files = readdirSync(dirname(path));
    expect(files).toContain('switchboard.db.lock');
    expect(files.filter((f) => !['switchboard.db', 'switchboard.db-shm', 'switchboard.db-wal', 'switchboard.db.lock'].includes(f))).toEqual([]);
  }, 90_000);

  it('after a SIGTERM, leaves no -wal or -shm beside the file: every connection was closed, and every acknowledged event is in it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'switchboard.db');
    const server = await startFirstServer(`sqlite:${path}`);
    const acknowledged: string[] = [];
    try {
      for (const id of ['term-1', 'term-2', 'term-3']) {
        expect((await postWebhook(server.ingestUrl, endCall(id))).status).toBe(200);
        acknowledged.push(id);
      }
      // A read through the query API's readers, and the stream's, so that every kind of connection is open.
      expect((await fetch(`${server.baseUrl}/v1/calls?limit=5`, { headers: { authorization: `Bearer ${server.adminKey}` } })).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    }
    expect(readdirSync(dirname(path)).sort()).toEqual(['switchboard.db', 'switchboard.db.lock']);
    const reopened = new BetterSqlite3(path, { readonly: true });
    try {
      const stored = reopened.prepare("select call_id from events where type = 'end_call' order by seq").pluck().all();
      expect(stored).toEqual(acknowledged);
    } finally {
      reopened.close();
    }
  }, 60_000);

  it('a path that cannot hold the database is refused in one line saying why, not as mkdir\'s EEXIST or ENOENT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-file-'));
    const file = join(dir, 'not-a-directory');
    writeFileSync(file, 'x');
    const start = (db: string) => spawnSync(process.execPath, [cliPath, 'start', '--db', `sqlite:${db}`, '--host', '127.0.0.1', '--port', '0'], {
      cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 30_000,
    });
    const under = start(join(file, 'data', 'switchboard.db'));
    expect(under.status).toBe(1);
    expect(under.stderr).toBe(`switchboard: cannot create the SQLite database ${join(file, 'data', 'switchboard.db')}: ${file} is a file, not a directory (check SWITCHBOARD_DB / --db)\n`);
    const itself = start(dir);
    expect(itself.status).toBe(1);
    expect(itself.stderr).toBe(`switchboard: cannot create the SQLite database ${dir}: it is a directory (check SWITCHBOARD_DB / --db)\n`);
  }, 60_000);

  it('a database path naming a file that is no SQLite database is refused in one line naming it, by start and the local commands', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'switchboard.db');
    writeFileSync(path, 'not a database, just text that happens to be there\n', { mode: 0o600 });
    for (const args of [['start', '--host', '127.0.0.1', '--port', '0'], ['migrate'], ['users', 'list']]) {
      const ran = spawnSync(process.execPath, [cliPath, ...args, '--db', `sqlite:${path}`], {
        cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 30_000,
      });
      expect(ran.status, args[0]).toBe(1);
      expect(ran.stderr, args[0]).toBe(`switchboard: ${path} is not a SQLite database (file is not a database): check SWITCHBOARD_DB / --db\n`);
    }
    expect(readFileSync(path, 'utf8')).toBe('not a database, just text that happens to be there\n');
  }, 60_000);

  it('a lock file that is not one Switchboard made is named in one line, not as "file is not a database" (which reads as the database)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sb-file-')), 'switchboard.db');
    writeFileSync(`${path}.lock`, 'written by something else\n');
    const started = spawnSync(process.execPath, [cliPath, 'start', '--db', `sqlite:${path}`, '--host', '127.0.0.1', '--port', '0'], {
      cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 30_000,
    });
    expect(started.status).toBe(1);
    expect(started.stderr).toBe(`switchboard: ${path}.lock is not the lock file Switchboard keeps beside the database (file is not a database): if no Switchboard process runs on ${path}, remove it; it is made again at the next start\n`);
    expect(readFileSync(`${path}.lock`, 'utf8')).toBe('written by something else\n');
  }, 60_000);
});
