import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/crash-server.js';
import { modulesLoadedBy } from './support/loaded-modules.js';

const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 20_000 });
const db = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-cli-')), 'switchboard.db')}`;

describe('switchboard on the command line', () => {
  it('runs as `npx switchboard` from a fresh clone: the build leaves the CLI executable, its shebang finds node', () => {
    // npm links a bin and sets its mode at install time, before the build made the file: the build sets it.
    const result = spawnSync('npx', ['--no-install', 'switchboard', '--help'], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).not.toContain('Permission denied');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: switchboard');
  });

  it('loads the developer tools (faker, the mock, the simulator) only when one of them runs', () => {
    const cli = pathToFileURL(join(repoRoot, 'dist/cli/index.js')).href;
    const { output, loaded } = modulesLoadedBy(`process.argv = [process.argv[0], 'switchboard', '--help']; await import(${JSON.stringify(cli)});`, repoRoot);
    expect(output).toContain('mock-convolo');
    expect(loaded.some((p) => p.endsWith('/dist/cli/simulate.js'))).toBe(true);
    // Faker with its locales is ~40 MB of memory: every `switchboard start` would carry it.
    expect(loaded.filter((p) => p.includes('@faker-js/faker') || /\/dist\/(simulate|mock-convolo)\/index\.js$/.test(p))).toEqual([]);
  });

  it('says in one line, exit 1, that a setting is invalid, naming the variable', () => {
    const result = run(['start', '--db', db()], { PORT: 'abc' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('switchboard: Invalid PORT: expected an integer in 0–65535, got "abc"');
  });

  it('says in one line that the port is taken', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = run(['start', '--db', db(), '--port', String(port)]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`switchboard: port ${port} on 127.0.0.1 is already in use`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('says in one line that --host is not an address to listen on (start and mock-convolo), not that the database cannot be reached', () => {
    for (const args of [['start', '--db', db(), '--port', '0'], ['mock-convolo', '--webhook-url', 'http://127.0.0.1:9/hook', '--port', '0']]) {
      const unknown = run([...args, '--host', 'no-such-host.invalid']);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/^switchboard: cannot listen on --host no-such-host\.invalid: no such host name \((ENOTFOUND|EAI_AGAIN)\)\n$/);
      // TEST-NET-1 (RFC 5737): a valid address that is no interface of this machine.
      const foreign = run([...args, '--host', '192.0.2.1']);
      expect(foreign.status).toBe(1);
      expect(foreign.stderr).toBe('switchboard: cannot listen on --host 192.0.2.1: not an address of this machine (EADDRNOTAVAIL)\n');
    }
    const port = run(['mock-convolo', '--webhook-url', 'http://127.0.0.1:9/hook', '--port', '70000']);
    expect(port.status).toBe(1);
    expect(port.stderr).toContain("error: option '--port <port>' argument '70000' is invalid. --port must be a whole number from 0 to 65535");
  });

  it('says in one line that the database cannot be reached', () => {
    const result = run(['migrate', '--db', 'postgres://nobody@127.0.0.1:1/none']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^switchboard: cannot reach the database \(.*ECONNREFUSED.*\): check SWITCHBOARD_DB/);
  });

  it('applies the migrations once with `migrate`', () => {
    const url = db();
    expect(run(['migrate', '--db', url]).stdout).toContain('Applied: 0001_core');
    expect(run(['migrate', '--db', url]).stdout).toContain('The database is up to date.');
  });

  it('prunes with `prune --retention-days`, and says what to pass without a retention', () => {
    const url = db();
    expect(run(['migrate', '--db', url]).status).toBe(0);
    // Nothing answers on port 1: prune works on the database (with a server there it would go through it).
    const noServer = { HOST: '127.0.0.1', PORT: '1' };
    const none = run(['prune', '--db', url], noServer);
    expect(none.status).toBe(1);
    expect(none.stderr.trim()).toBe('switchboard: no retention set: pass --retention-days N or set SWITCHBOARD_RETENTION_DAYS');
    const pruned = run(['prune', '--db', url, '--retention-days', '30'], noServer);
    expect(pruned.status).toBe(0);
    expect(pruned.stdout).toMatch(/^Deleted 0 events, 0 deliveries and 0 calls older than \d{4}-\d\d-\d\dT/);
  });

  it('refuses a retention beyond 100 years (what POST /v1/prune takes) in one line, instead of "Invalid time value" or a cut-off in the year -271764', () => {
    for (const days of ['1000000000', '99999999', '36501']) {
      const dry = run(['prune', '--dry-run', '--retention-days', days]);
      expect(dry.status).toBe(1);
      expect(dry.stderr).toBe(`switchboard: Invalid --retention-days: expected an integer in 0–36500 (100 years at most), got "${days}"\n`);
    }
    expect(run(['prune', '--dry-run', '--retention-days', '36500']).stdout).toMatch(/^Would delete what is older than \d{4}-\d\d-\d\dT.* \(36500 days\)\.\n$/);
  });
});
