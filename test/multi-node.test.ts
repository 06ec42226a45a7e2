import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { endCall, startCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';

/** Several Switchboard processes on one PostgreSQL (SPEC "Scale"): any node ingests, nothing races. */
describe('two nodes on one PostgreSQL database', () => {
  let first: TestApp;
  let second: App;
  let secondIngestUrl: string;

  beforeAll(async () => {
    const db = await freshPgDatabase();
    first = await startTestApp(db);
    second = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent' }), { logger: false });
    expect(await second.prepare()).toBeNull(); // the database is shared: no second bootstrap
    const { baseUrl } = await second.listen();
    secondIngestUrl = `${baseUrl}${new URL(first.ingestUrl).pathname}`;
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it("merges each call from events that reach different nodes at the same time", async () => {
    const calls = Array.from({ length: 200 }, (_, i) => `mn-${i}`);
    const answers = await Promise.all(
      calls.flatMap((id, i) => [
        first.post(startCall(id, { widget_name: 'from start' }), 'application/json', i % 2 ? first.ingestUrl : secondIngestUrl),
        first.post(endCall(id, { call_status: 'answered' }), 'application/json', i % 2 ? secondIngestUrl : first.ingestUrl),
      ]),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const id of calls.filter((_, i) => i % 20 === 0)) {
      expect((await first.api(`/v1/calls/${id}`)).body).toMatchObject({ status: 'answered', event_count: 2, widget_name: 'string' });
    }
  });

  it('stores one event for the same body posted to both nodes at once, and gives both the same id', async () => {
    const bodies = Array.from({ length: 100 }, (_, i) => endCall(`mn-dup-${i}`));
    const answers = await Promise.all(bodies.flatMap((b) => [first.post(b), first.post(b, 'application/json', secondIngestUrl)]));
    for (let i = 0; i < bodies.length; i++) {
      const [a, b] = [answers[2 * i]!, answers[2 * i + 1]!];
      expect(a.status).toBe(200);
      expect(b.status).toBe(200);
      expect(a.body.id).toBe(b.body.id);
      expect([a.body.duplicate, b.body.duplicate].filter((d) => d === true)).toHaveLength(1);
    }
    const stored = (await first.api('/v1/events?call_id=mn-dup-7')).body.data;
    expect(stored).toHaveLength(1);
  });
});
