import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './support/crash-server.js';

describe('switchboard start with a PostgreSQL URL it cannot parse', () => {
  it('says in one line that SWITCHBOARD_DB is not a URL (not "Migration failed: Invalid URL"), without its password', () => {
    const result = spawnSync(process.execPath, [cliPath, 'start', '--db', 'postgres://sb:hunter2-secret@[not-an-address/switchboard', '--port', '0'], {
      cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'silent' }, encoding: 'utf8', timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('switchboard: SWITCHBOARD_DB / --db is not a valid URL: expected postgres://user:password@host:port/database\n');
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });
});
