import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { openStorage } from '../src/storage/open.js';
import { startTestApp } from './support/app.js';

/** `switchboard users add|list|remove|reset-password`, through a running server and on the database (--local). */
const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
const run = (args: string[], stdin?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const { SWITCHBOARD_URL: _url, SWITCHBOARD_API_KEY: _key, ...outside } = process.env;
    const child = execFile(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...outside, LOG_LEVEL: 'silent' }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(stdin ?? '');
  });
const sqliteUrl = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-cli-users-')), 'switchboard.db')}`;
const login = (baseUrl: string, email: string, password: string) =>
  fetch(`${baseUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });

describe('switchboard users', () => {
  it('through a running server: add (generated password, or from stdin), list, reset-password and remove by id or email', async () => {
    const t = await startTestApp(sqliteUrl());
    const remote = ['--server', t.baseUrl, '--key', t.adminKey];
    try {
      const added = await run(['users', 'add', '--email', 'Ann@Example.com', '--role', 'viewer', '--name', 'Ann', ...remote]);
      expect(added.code, added.stderr).toBe(0);
      const generated = /Password: (\S+)/.exec(added.stdout)![1]!;
      expect(added.stdout).toMatch(/User usr_\S+ added \(ann@example\.com, viewer\)/);
      expect((await login(t.baseUrl, 'ann@example.com', generated)).status).toBe(200);

      const fromStdin = await run(['users', 'add', '--email', 'boss@example.com', '--role', 'admin', '--password-stdin', '--json', ...remote], 'the boss passphrase\n');
      expect(fromStdin.code, fromStdin.stderr).toBe(0);
      expect(JSON.parse(fromStdin.stdout)).toMatchObject({ email: 'boss@example.com', role: 'admin' });
      expect(JSON.parse(fromStdin.stdout).password).toBeUndefined();
      expect((await login(t.baseUrl, 'boss@example.com', 'the boss passphrase')).status).toBe(200);

      const taken = await run(['users', 'add', '--email', 'ANN@example.com', '--role', 'admin', ...remote]);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/email_taken/);
      const short = await run(['users', 'add', '--email', 'c@example.com', '--role', 'admin', '--password-stdin', ...remote], 'short\n');
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/invalid_request/);

      const listed = await run(['users', 'list', ...remote]);
      expect(listed.stdout).toMatch(/usr_\S+\s+viewer\s+ann@example\.com\s+Ann\n/);
      expect(listed.stdout).toMatch(/usr_\S+\s+admin\s+boss@example\.com\n/);

      const reset = await run(['users', 'reset-password', 'ann@example.com', ...remote]);
      expect(reset.code, reset.stderr).toBe(0);
      const renewed = /Password: (\S+)/.exec(reset.stdout)![1]!;
      expect((await login(t.baseUrl, 'ann@example.com', generated)).status).toBe(401);
      expect((await login(t.baseUrl, 'ann@example.com', renewed)).status).toBe(200);

      const annId = /(usr_\S+)\s+viewer/.exec(listed.stdout)![1]!;
      const removed = await run(['users', 'remove', annId, ...remote]);
      expect(removed.code, removed.stderr).toBe(0);
      expect((await login(t.baseUrl, 'ann@example.com', renewed)).status).toBe(401);
      const last = await run(['users', 'remove', 'boss@example.com', ...remote]);
      expect(last.code).toBe(1);
      expect(last.stderr).toMatch(/last_admin/);
      const nobody = await run(['users', 'remove', 'nobody@example.com', ...remote]);
      expect(nobody.stderr).toMatch(/no user has the email nobody@example\.com/);
    } finally {
      await t.close();
    }
  });

  it('--local on the database file: add, list, reset-password, remove; the server started afterwards signs them in', async () => {
    const db = sqliteUrl();
    const local = ['--local', '--db', db];
    const added = await run(['users', 'add', '--email', 'first@example.com', '--role', 'admin', '--password-stdin', ...local], 'first admin passphrase');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/Working on the sqlite database/);
    expect(added.stdout).not.toMatch(/Password:/);
    const viewer = await run(['users', 'add', '--email', 'v@example.com', '--role', 'viewer', '--json', ...local]);
    const { id: viewerId, password } = JSON.parse(viewer.stdout) as { id: string; password: string };
    expect(password).toHaveLength(20);
    expect((await run(['users', 'list', ...local])).stdout.trim().split('\n')).toHaveLength(2);
    const reset = await run(['users', 'reset-password', viewerId, '--password-stdin', ...local], 'viewer passphrase\n');
    expect(reset.code, reset.stderr).toBe(0);
    expect((await run(['users', 'remove', 'first@example.com', ...local])).stderr).toMatch(/last_admin/);

    const storage = await openStorage(db);
    try {
      // The command's own admin key is revoked once it ends; no setup link was made for a database with users.
      expect((await storage.keys.list()).filter((k) => k.revokedAt === null).map((k) => k.name)).toEqual(['admin (first start)']);
    } finally {
      await storage.close();
    }
    const app = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0 }), { logger: false });
    try {
      await app.prepare();
      expect(app.setupToken, 'users exist: no setup link').toBeNull();
      const { baseUrl } = await app.listen();
      expect((await login(baseUrl, 'v@example.com', 'viewer passphrase')).status).toBe(200);
      expect((await login(baseUrl, 'first@example.com', 'first admin passphrase')).status).toBe(200);
      expect((await run(['users', 'remove', 'v@example.com', ...local])).code).toBe(0);
    } finally {
      await app.close();
    }
  });
});
