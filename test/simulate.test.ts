import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../src/simulate/index.js';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { assertBuilt, cliPath } from './support/crash-server.js';

/** `switchboard simulate`: seeded Convolo traffic, and a summary that matches what Switchboard stored. */

/** Every item of a paginated list endpoint (`{data, next_cursor}`). */
async function all(t: TestApp, path: string): Promise<any[]> {
  const items: any[] = [];
  for (let cursor: unknown = null; ; ) {
    const page = await t.api(`${path}${path.includes('?') ? '&' : '?'}limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(String(cursor))}`}`);
    expect(page.status).toBe(200);
    items.push(...page.body.data);
    if (page.body.next_cursor === null || page.body.data.length === 0) return items;
    cursor = page.body.next_cursor;
  }
}

describe.each(backends)('simulate against a real Switchboard ($name)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });
  afterAll(() => t?.close());

  it('sends 50 calls with duplicates and out-of-order arrivals, and its counts match what the server stored', async () => {
    const options = { to: t.ingestUrl, calls: 50, rate: 0, concurrency: 8, scenario: 'mix' as const, seed: 42, duplicates: 0.1, outOfOrder: 0.2, keepRequests: true };
    const { summary, calls: made, requests } = await runSimulation(options);
    const calls = made!;

    expect(summary.duplicates_sent).toBeGreaterThan(0);
    expect(summary.out_of_order_sent).toBeGreaterThan(0);
    expect(summary.sent).toBe(100 + summary.duplicates_sent);
    expect(summary.planned).toBe(summary.sent);
    expect(summary.by_status).toEqual({ 200: summary.sent });
    expect(summary.failed).toBe(0);
    expect(summary.duplicates_acknowledged).toBe(summary.duplicates_sent);
    expect(summary.latency_ms.p50).not.toBeNull();
    expect(summary.target).not.toContain(t.ingestUrl.split('/').at(-1));
    expect(requests!.filter((r) => r.duplicate)).toHaveLength(summary.duplicates_sent);

    // Exactly the generated calls, each with the status the generator chose, however they arrived.
    const stored = await all(t, '/v1/calls');
    expect(stored).toHaveLength(50);
    expect(Object.fromEntries(stored.map((c) => [c.call_id, c.status]))).toEqual(Object.fromEntries(calls.map((c) => [c.call_id, c.outcome])));
    expect(Object.values(summary.outcomes).reduce((a, b) => a + b, 0)).toBe(50);
    const delayed = new Set(calls.filter((c) => c.delayed).map((c) => c.call_id));
    for (const c of stored) expect(c.is_delayed_call).toBe(delayed.has(c.call_id));

    // One event per distinct body: the duplicates added none.
    const events = await all(t, '/v1/events?status=ok');
    expect(events).toHaveLength(new Set(requests!.map((r) => r.body)).size);
    expect(events).toHaveLength(100);

    // The same seed again sends the same bytes: Switchboard recognises every request as a duplicate.
    const again = await runSimulation({ ...options, duplicates: 0, outOfOrder: 0 });
    expect(again.summary.sent).toBe(100);
    expect(again.summary.duplicates_acknowledged).toBe(100);
    expect(await all(t, '/v1/events?status=ok')).toHaveLength(100);
  });
});

const run = async (args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, 'simulate', ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('switchboard simulate (the command)', () => {
  let t: TestApp;
  beforeAll(async () => {
    assertBuilt();
    t = await startTestApp(await backends[0]!.freshDb());
  });
  afterAll(() => t?.close());

  it('prints byte-identical payloads for the same seed in two processes, and other ones for another seed', async () => {
    const args = ['--print', '--calls', '20', '--duplicates', '0.1', '--out-of-order', '0.1'];
    const [a, b, c] = await Promise.all([run([...args, '--seed', '7']), run([...args, '--seed', '7']), run([...args, '--seed', '8'])]);
    expect(a.code).toBe(0);
    const lines = a.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(40);
    for (const line of lines) expect(['start_call', 'end_call']).toContain(JSON.parse(line).type);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it('sends 5 calls, exits 0 and prints its summary', async () => {
    const result = await run(['--to', t.ingestUrl, '--calls', '5', '--seed', '1', '--rate', '50']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Sent 10 requests for 5 calls to http:\/\/127\.0\.0\.1:\d+\/hooks\/convolo\/\S+ in /);
    expect(result.stdout).toContain('By status: 200 ×10. Failed: 0.');
    expect(result.stdout).toMatch(/Latency: p50 [\d.]+ ms, p99 [\d.]+ ms/);
    // Not a progress bar in a pipe, and never a phone number.
    expect(result.stderr).not.toContain('|');
    expect(result.stdout + result.stderr).not.toMatch(/\+\d{8,}/);
    expect((await t.api('/v1/calls?limit=500')).body.data).toHaveLength(5);
  });

  it('exits non-zero and counts the 404s when the token is unknown; --json prints the summary as JSON', async () => {
    const unknown = t.ingestUrl.replace(/sbt_[A-Za-z0-9_-]+$/, 'sbt_unknowntoken0000000000000000');
    const result = await run(['--to', unknown, '--calls', '3', '--seed', '1', '--rate', '0', '--json']);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.by_status).toEqual({ 404: 6 });
    expect(summary.failed).toBe(6);
    expect(summary.errors).toEqual(['HTTP 404']);
    expect(summary.target).not.toContain('unknowntoken0000');
  });

  it('exits non-zero with one line when nothing answers at the URL', async () => {
    const result = await run(['--to', 'http://127.0.0.1:9/hooks/convolo/sbt_x', '--calls', '1', '--seed', '1', '--rate', '0']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('error ×2');
    expect(result.stdout).toContain('Error: connection refused');
  });

  it('stops scheduling when its signal aborts, lets the requests in flight finish, and says how many went', async () => {
    const stop = new AbortController();
    const { summary } = await runSimulation({
      to: t.ingestUrl, calls: 40, rate: 0, concurrency: 2, scenario: 'answered', seed: 5,
      signal: stop.signal,
      onProgress: (sent) => (sent >= 6 ? stop.abort() : undefined),
    });
    expect(summary.sent).toBeGreaterThanOrEqual(6);
    expect(summary.sent).toBeLessThan(summary.planned);
    expect(summary.failed).toBe(0);
    expect(summary.outcomes.answered).toBeLessThan(40);
  });

  it('keeps a request due later than a timer can wait (--rate 0.0000001: the end_call 29+ days in) waiting, instead of sending it at once', async () => {
    const stop = new AbortController();
    const run = runSimulation({ to: t.ingestUrl, calls: 1, rate: 1e-7, scenario: 'answered', seed: 3, signal: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop.abort();
    const { summary } = await run;
    // The start_call is due at once; its end_call a quarter of a slot or more later: 2.5 million seconds.
    expect(summary.planned).toBe(2);
    expect(summary.sent).toBe(1);
  });

  it('starts sending a million calls at once (the plan is not walked first to count its requests when none is duplicated)', async () => {
    const stop = new AbortController();
    const began = performance.now();
    let firstProgressMs = -1;
    const { summary } = await runSimulation({
      to: t.ingestUrl, calls: 1_000_000, rate: 0, scenario: 'answered', seed: 9, signal: stop.signal,
      onProgress: () => {
        if (firstProgressMs < 0) firstProgressMs = performance.now() - began;
        stop.abort();
      },
    });
    expect(summary.planned).toBe(2_000_000);
    expect(firstProgressMs).toBeLessThan(3000);
  });

  it('refuses --calls above a million, and says so naming the flag (not "Invalid refDate date", nor hours of silence)', async () => {
    for (const calls of ['1000001', '1e12']) {
      const result = await run(['--to', t.ingestUrl, '--calls', calls]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: option '--calls <n>' argument '${calls}' is invalid. expected a whole number from 1 to 1000000.`);
    }
    const late = await run(['--print', '--calls', '1', '--start', '9500-01-01T00:00:00Z']);
    expect(late.code).toBe(1);
    expect(late.stderr).toBe('switchboard: --start must be an ISO time (or epoch milliseconds) from the year 2000 to 9000, not "9500-01-01T00:00:00Z"\n');
  });

  it('refuses a missing --to and a bad --duplicates with a message', async () => {
    const missing = await run(['--calls', '1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--to <ingest url>');
    const bad = await run(['--to', t.ingestUrl, '--duplicates', '2']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('expected a number from 0 to 1');
  });
});
