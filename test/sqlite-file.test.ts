import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killLeftoverServers, startFirstServer } from './support/crash-server.js';

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
});
