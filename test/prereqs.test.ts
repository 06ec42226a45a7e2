import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * `npm test` sets itself up on a fresh machine: its pretest step checks for (and, as root, installs) what
 * npm does not bring. Here in check mode, so nothing is installed: a missing program stops the run at
 * once with the one command that brings it.
 */
const script = new URL('../scripts/test-prereqs.mjs', import.meta.url).pathname;
const check = (env: Record<string, string>) => {
  const { SWITCHBOARD_TEST_PG_URL: _external, ...rest } = process.env;
  return spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8', env: { ...rest, ...env } });
};

describe('test prerequisites (npm test on a fresh machine)', () => {
  it('is the first step of npm test, before the build', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.pretest).toMatch(/^node scripts\/test-prereqs\.mjs && /);
  });

  it('passes when Chromium and the PostgreSQL binaries are there', () => {
    const result = check({});
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Chromium .*: \//);
  });

  it('stops at once with the command to install Chromium when it is missing', () => {
    const result = check({ CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Chromium (/nonexistent/chromium)');
    expect(result.stderr).toContain('apt-get install -y --no-install-recommends chromium');
  });

  it('names both packages when the PostgreSQL binaries are missing too', () => {
    const result = check({ CHROMIUM_PATH: '/nonexistent/chromium', PG_BIN: '/nonexistent/pg' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('apt-get install -y --no-install-recommends postgresql chromium');
  });

  it('needs no local PostgreSQL binaries when an external server is given', () => {
    const result = check({ PG_BIN: '/nonexistent/pg', SWITCHBOARD_TEST_PG_URL: 'postgres://postgres@127.0.0.1:1/postgres' });
    expect(result.status).toBe(0);
  });
});
