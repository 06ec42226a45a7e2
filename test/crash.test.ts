import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { backends, endCall } from './support/app.js';
import { assertBuilt, killLeftoverServers, startFirstServer, startServer } from './support/crash-server.js';

/**
 * The durability promise, tested the hard way: the real server process under load is killed with SIGKILL
 * (no shutdown hook runs), restarted on the same database, and every event it had acknowledged with a 2xx
 * must be there. What this does not simulate is a power cut: the OS page cache survives a killed process.
 */

const loops = 64;
const eventId = /^evt_[0-9a-z]{9}[A-Za-z0-9_-]{12}$/;

interface LoadResult {
  /** id → call_id of every request answered 2xx. */
  acked: Map<string, string>;
  /** Requests that got no answer: cut by the kill. */
  cut: number;
  /** Requests answered with something other than 2xx (e.g. 503 overloaded), with their statuses. */
  refused: number[];
  /** 2xx answers that were not `{ok:true,id:"evt_…"}` for a new event, or repeated an id. */
  badAnswers: string[];
  inFlightAtKill: number;
  killAfterMs: number;
}

/** Runs `loops` concurrent posting loops and SIGKILLs the server `killAfterMs` after they started (or later: see below). */
async function loadAndKill(ingestUrl: string, kill: () => void, killAfterMs: number): Promise<LoadResult> {
  const acked = new Map<string, string>();
  const refused: number[] = [];
  const badAnswers: string[] = [];
  let cut = 0;
  let inFlight = 0;
  let killed = false;
  let inFlightAtKill = -1;

  // Each loop posts until a request gets no answer after the kill: answers the server wrote just before it
  // died still arrive (SQLite commits in about a millisecond, so all 64 in flight may be answered), and
  // the last failure of every loop shows the server was really gone.
  async function loop(): Promise<void> {
    for (;;) {
      const callId = `crash-${randomUUID()}`;
      let status: number;
      let text: string;
      inFlight += 1;
      try {
        const response = await fetch(ingestUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: endCall(callId),
        });
        status = response.status;
        text = await response.text();
      } catch {
        // The connection was reset or refused, or the answer was cut half-way: a sender would retry.
        cut += 1;
        if (killed) return;
        continue;
      } finally {
        inFlight -= 1;
      }
      if (status < 200 || status >= 300) {
        refused.push(status);
        continue;
      }
      let body: { ok?: unknown; id?: unknown; duplicate?: unknown };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        badAnswers.push(text);
        continue;
      }
      if (body.ok !== true || typeof body.id !== 'string' || !eventId.test(body.id) || body.duplicate !== undefined || acked.has(body.id)) {
        badAnswers.push(text);
        continue;
      }
      acked.set(body.id, callId);
    }
  }

  const running = Array.from({ length: loops }, () => loop());
  // Not before killAfterMs, nor before more than 100 events were acknowledged (checked below): on a busy
  // machine (another test file beside this one) the load may need longer than the planned time to get there.
  const started = Date.now();
  const waited = () => Date.now() - started;
  while (waited() < killAfterMs || (acked.size <= 100 && waited() < 60_000)) await new Promise((resolve) => setTimeout(resolve, 10));
  killAfterMs = waited();
  inFlightAtKill = inFlight;
  kill();
  killed = true;
  await Promise.all(running);
  return { acked, cut, refused, badAnswers, inFlightAtKill, killAfterMs };
}

async function allEventIds(baseUrl: string, adminKey: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: number | null = null;
  for (let page = 0; page < 10_000; page++) {
    const url = `${baseUrl}/v1/events?limit=500${cursor === null ? '' : `&cursor=${cursor}`}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${adminKey}` } });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const body = JSON.parse(text) as { data: Array<{ id: string }>; next_cursor: number | null };
    for (const event of body.data) {
      expect(ids.has(event.id), `event ${event.id} listed twice`).toBe(false);
      ids.add(event.id);
    }
    if (body.next_cursor === null) return ids;
    cursor = body.next_cursor;
  }
  throw new Error('paging through /v1/events did not end');
}

describe.each(backends)('crash test on $name', (backend) => {
  afterAll(async () => {
    await killLeftoverServers();
  });

  it('keeps every acknowledged event when the process is killed mid-load, then shuts down gracefully', async () => {
    assertBuilt(); // fails with a clear message when dist/cli/index.js is missing
    const db = await backend.freshDb();
    const first = await startFirstServer(db);

    const killAfterMs = 1000 + Math.floor(Math.random() * 500);
    const load = await loadAndKill(first.ingestUrl, () => first.child.kill('SIGKILL'), killAfterMs);
    const died = await first.exited;
    expect(died.signal, 'the first server must have died of the SIGKILL').toBe('SIGKILL');

    // Second start on the same database: no new secrets, and the old ones are never printed again.
    const second = await startServer(db);
    expect(second.stdout()).not.toContain(first.token);
    expect(second.stdout()).not.toContain(first.adminKey);
    expect(second.stdout()).not.toContain('Admin key:');

    const stored = await allEventIds(second.baseUrl, first.adminKey);
    const lost = [...load.acked.keys()].filter((id) => !stored.has(id));
    console.log(
      `crash test (${backend.name}): 2xx=${load.acked.size}, cut=${load.cut}, refused=${load.refused.length}` +
        `${load.refused.length ? ` [${[...new Set(load.refused)].join(',')}]` : ''}, in flight at kill=${load.inFlightAtKill},` +
        ` killed after ${load.killAfterMs} ms, stored=${stored.size}, lost=${lost.length}`,
    );
    expect(load.badAnswers, 'every 2xx answers {ok:true,id} with a new event id').toEqual([]);
    expect(load.refused.filter((status) => status !== 503), 'a valid event is only ever refused with a retryable 503').toEqual([]);
    // The load really ran, and the kill really landed while requests were in flight.
    expect(load.acked.size).toBeGreaterThan(100);
    expect(load.inFlightAtKill).toBeGreaterThan(0);
    expect(load.cut).toBeGreaterThanOrEqual(loops);
    // Pino logs to stdout: valid events under load must not have logged a single error before the kill.
    expect(first.stdout()).not.toMatch(/"level":(50|60)/);

    expect(lost, `acknowledged events missing after the restart (call_ids: ${lost.slice(0, 5).map((id) => load.acked.get(id)).join(', ')})`).toEqual([]);
    // Nothing appears that was never sent: at most the cut requests were committed without an answer.
    expect(stored.size).toBeLessThanOrEqual(load.acked.size + load.cut);

    // The restarted server (on a new port) still takes events with the token from the first start.
    const after = await fetch(`${second.baseUrl}/hooks/convolo/${first.token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall(`crash-after-${randomUUID()}`) });
    expect(after.status).toBe(200);

    // SIGTERM: a graceful shutdown, exit code 0.
    second.child.kill('SIGTERM');
    const exit = await Promise.race([
      second.exited,
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000)),
    ]);
    expect(exit, `output of the restarted server:\n${second.stdout()}\n${second.stderr()}`).toEqual({ code: 0, signal: null });
  }, 180_000);
});
