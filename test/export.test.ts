import { execFile, spawn } from 'node:child_process';
import { get } from 'node:http';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../src/storage/ports.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/sse.js';

/** `switchboard export`: every call matching the filters, as CSV or JSON Lines, through the API. */
const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('switchboard export', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'sb-export-'));
  beforeAll(async () => {
    // CSV pages of 200 calls (2,000 in production), so the export crosses pages of both kinds.
    t = await startTestApp(await backends[0]!.freshDb(), {}, { csvPageSize: 200 });
    // More than one page of the API (500), a third missed, one of those with a comma, quotes and a line
    // break in its widget name.
    for (let i = 0; i < 620; i++) {
      const status = i % 3 === 0 ? 'missed' : 'answered';
      expect((await t.post(endCall(`export-${i}`, { call_status: status, widget_name: i === 9 ? 'Sales,\n"EU"' : 'Sales' }))).status).toBe(200);
    }
  }, 60_000);
  afterAll(() => t?.close());

  it('writes every call as JSON Lines across pages, and says how many', async () => {
    const out = join(dir, 'calls.jsonl');
    const result = await run(['export', '--format', 'jsonl', '--out', out, '--server', t.baseUrl, '--key', t.adminKey]);
    expect(result.code).toBe(0);
    expect(result.stderr.trim()).toBe(`Exported 620 calls to ${out} (jsonl).`);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { call_id: string });
    expect(new Set(lines.map((c) => c.call_id)).size).toBe(620);
  });

  it('answers /v1/calls.csv with every call once, in the list\'s order, across pages, the same with a search (q)', async () => {
    const listed: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = (await t.api(`/v1/calls?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body as { data: Array<{ call_id: string }>; next_cursor: string | null };
      listed.push(...page.data.map((c) => c.call_id));
      if (!(cursor = page.next_cursor)) break;
    }
    expect(listed).toHaveLength(620);
    const csv = async (query: string) => {
      const response = await fetch(`${t.baseUrl}/v1/calls.csv${query}`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      expect(response.status).toBe(200);
      return response.text();
    };
    // Pages whose ends are found on the index first (read at once), and pages read one after the other (q).
    const ranged = await csv('');
    const searched = await csv('?q=export-');
    const ids = ranged.split('\r\n').slice(1, -1).map((line) => line.split(',')[0]);
    expect(ids).toEqual(listed);
    expect(searched).toBe(ranged);
  });

  it('writes the filtered calls as CSV, counting records (not lines inside quoted fields)', async () => {
    const out = join(dir, 'missed.csv');
    const result = await run(['export', '--out', out, '--status', 'missed', '--server', t.baseUrl, '--key', t.adminKey]);
    expect(result.code).toBe(0);
    expect(result.stderr.trim()).toBe(`Exported 207 calls to ${out} (csv).`);
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text.trimEnd().split('\r\n')).toHaveLength(208);
    expect(text).toContain('"Sales,\n""EU"""');
  });

  it('writes --out readable by its owner only, in either format and over a file others could read: it holds phone numbers and call data', async () => {
    const csv = join(dir, 'private.csv');
    const jsonl = join(dir, 'private.jsonl');
    writeFileSync(jsonl, 'an earlier export\n', { mode: 0o644 });
    chmodSync(jsonl, 0o644);
    for (const [out, format] of [[csv, 'csv'], [jsonl, 'jsonl']]) {
      const result = await run(['export', '--format', format!, '--out', out!, '--status', 'missed', '--server', t.baseUrl, '--key', t.adminKey]);
      expect(result.code, result.stderr).toBe(0);
      expect((statSync(out!).mode & 0o777).toString(8), out).toBe('600');
    }
    expect(readFileSync(jsonl, 'utf8')).toContain('"call_id"');
  });

  it('leaves an existing --out file as it was, and no temporary file beside it, when the export fails', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sb-export-keep-'));
    const out = join(own, 'calls.csv');
    writeFileSync(out, 'the previous export\n');
    for (const format of ['csv', 'jsonl']) {
      const result = await run(['export', '--format', format, '--out', out, '--server', t.baseUrl, '--key', 'sbk_wrong']);
      expect(result.code).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe('the previous export\n');
      expect(readdirSync(own)).toEqual(['calls.csv']);
    }
    // A successful export replaces it, again with nothing left beside it.
    const result = await run(['export', '--out', out, '--status', 'missed', '--server', t.baseUrl, '--key', t.adminKey]);
    expect(result.code).toBe(0);
    expect(readFileSync(out, 'utf8').trimEnd().split('\r\n')).toHaveLength(208);
    expect(readdirSync(own)).toEqual(['calls.csv']);
  });

  it('fails in one line with a wrong key', async () => {
    const result = await run(['export', '--server', t.baseUrl, '--key', 'sbk_wrong']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^switchboard: .*\(unauthorized\)$/);
  });

  it('says in one line, naming --out, that the file cannot be written there, before asking the server', async () => {
    const own = mkdtempSync(join(tmpdir(), 'sb-export-where-'));
    for (const format of ['csv', 'jsonl']) {
      const missing = await run(['export', '--format', format, '--out', join(own, 'no-such-dir', 'calls.csv'), '--server', t.baseUrl, '--key', t.adminKey]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe(`switchboard: cannot write --out ${join(own, 'no-such-dir', 'calls.csv')}: its directory does not exist\n`);
      const directory = await run(['export', '--format', format, '--out', own, '--server', t.baseUrl, '--key', t.adminKey]);
      expect(directory.code).toBe(1);
      expect(directory.stderr).toBe(`switchboard: cannot write --out ${own}: it is a directory\n`);
    }
    expect(readdirSync(own)).toEqual([]);
  });

  it('ends quietly, as a process killed by SIGPIPE (141), when what reads its standard output stops reading (export | head)', async () => {
    for (const format of ['csv', 'jsonl']) {
      const child = spawn(process.execPath, [cli, 'export', '--format', format, '--server', t.baseUrl, '--key', t.adminKey], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'silent' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // head -1: the first chunk, then the pipe closes.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect(stderr, format).toBe('');
      expect(code, format).toBe(141);
    }
  });

  it('removes its temporary file when stopped with Ctrl-C, leaving an existing --out file as it was, and ends with 130 and nothing said, every time', async () => {
    // A server that takes the request and never answers: the export waits with its temporary file open.
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => { sockets.add(socket); socket.resume(); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const own = mkdtempSync(join(tmpdir(), 'sb-export-int-'));
    const out = join(own, 'calls.csv');
    writeFileSync(out, 'the previous export\n');
    try {
      // Repeated: the export's own failure (its output destroyed under it: "Premature close") raced the signal's
      // exit, and won one time in five on JSON Lines (exit 1, "switchboard: Premature close").
      for (const format of ['csv', ...Array<string>(15).fill('jsonl')]) {
        const child = spawn(process.execPath, [cli, 'export', '--format', format, '--out', out, '--server', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, '--key', 'sbk_any'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        await waitFor('the temporary file', () => readdirSync(own).length === 2, 20_000);
        child.kill('SIGINT');
        expect(await exited, stderr).toBe(130);
        expect(stderr).toBe('');
        expect(readdirSync(own)).toEqual(['calls.csv']);
        expect(readFileSync(out, 'utf8')).toBe('the previous export\n');
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 60_000);
});

/** The export's pages on both backends: each read on the storage's thread, into memory the socket has sent. */
describe.each(backends)('CSV export pages on $name', (backend) => {
  let t: TestApp;
  // Each page's `into`: the memory of a page already sent, or none.
  const given: Array<number | null> = [];
  const wrapStorage = (s: Storage): Storage => ({
    ...s,
    callQueries: { ...s.callQueries, csvPage: (filter, cursor, range, into) => (given.push(into?.byteLength ?? null), s.callQueries.csvPage(filter, cursor, range, into)) },
  });
  beforeAll(async () => {
    let clock = Date.parse('2026-11-02T09:00:00Z');
    t = await startTestApp(await backend.freshDb(), {}, { csvPageSize: 50, wrapStorage, now: () => (clock += 1_000) });
    for (let i = 0; i < 250; i++) expect((await t.post(endCall(`page-${i}`))).status).toBe(200);
  }, 60_000);
  afterAll(() => t?.close());

  it('writes later pages of an export into the memory of pages already sent, the same bytes when the client reads slowly', async () => {
    const fast = Buffer.from(await (await fetch(`${t.baseUrl}/v1/calls.csv`, { headers: { authorization: `Bearer ${t.adminKey}` } })).arrayBuffer());
    given.length = 0;
    // A pause after each piece the socket gives: the server's writes wait for the client.
    const slow = await new Promise<Buffer>((resolve, reject) => {
      get(`${t.baseUrl}/v1/calls.csv`, { headers: { authorization: `Bearer ${t.adminKey}` } }, (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => {
          parts.push(part);
          response.pause();
          setTimeout(() => response.resume(), 2);
        });
        response.on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
      }).on('error', reject);
    });
    expect(slow.equals(fast)).toBe(true);
    const ids = slow.toString('utf8').trimEnd().split('\r\n').slice(1).map((line) => line.split(',')[0]);
    expect(ids).toEqual(Array.from({ length: 250 }, (_, i) => `page-${249 - i}`));
    // 5 pages of 50 (and the empty range after them): the first has no page before it; later ones are
    // written into one that was sent.
    expect(given).toHaveLength(6);
    expect(given[0]).toBeNull();
    expect(given.filter((n) => n !== null).length).toBeGreaterThan(0);
  });

  it('answers HEAD with the export\'s headers without reading a page, and frees its slot', async () => {
    given.length = 0;
    const headers = { authorization: `Bearer ${t.adminKey}` };
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${t.baseUrl}/v1/calls.csv`, { method: 'HEAD', headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    }
    expect(given).toEqual([]);
    // Each HEAD held one of the key's expensive slots (2 by default) until it was answered.
    const after = await fetch(`${t.baseUrl}/v1/calls.csv`, { headers });
    expect(after.status).toBe(200);
    // Read to its end: an export left unread holds its connection open, and the server's close waited for it (13–20 s).
    await after.arrayBuffer();
  });

});
