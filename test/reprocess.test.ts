import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../src/domain/ids.js';
import { backends, endCall, startTestApp, type TestApp } from './support/app.js';

/** Reprocessing the quarantine after a fix: a record that parses now becomes its event; others stay. */
describe.each(backends)('reprocess ($name)', (backend) => {
  let t: TestApp;
  afterEach(() => t?.close());

  /** A record an older version quarantined although its body is a valid event (the bug a fix removed). */
  async function quarantinedByOldVersion(body: string) {
    const [source] = await t.app.storage.sources.list();
    const raw = Buffer.from(body);
    const [stored] = await t.app.storage.events.append([{
      id: newId('evt'), sourceId: source!.id, callId: null, type: null, status: 'quarantined', errorCode: 'invalid_event', errorDetail: 'an old bug',
      contentType: 'application/json', body: raw, bodyHash: null, bodySize: raw.length, bodyTruncated: false, receivedAt: Date.parse('2026-11-01T10:00:00Z'),
    }]);
    return stored!.id;
  }

  it('turns a record that parses now into its event, once, keeping its arrival time', async () => {
    t = await startTestApp(await backend.freshDb());
    const id = await quarantinedByOldVersion(endCall('rep-1'));
    expect((await t.api('/v1/events/quarantine')).body).toEqual({ waiting: 1, reprocessed: 0 });
    const answer = await t.request('POST', `/v1/events/${id}/reprocess`);
    expect(answer).toMatchObject({ status: 200, body: { ok: true, id: expect.stringMatching(/^evt_/), call_id: 'rep-1' } });
    expect((await t.api('/v1/events/quarantine')).body).toEqual({ waiting: 0, reprocessed: 1 });
    const call = (await t.api('/v1/calls/rep-1')).body;
    expect(call).toMatchObject({ status: 'answered', event_count: 1, first_event_at: '2026-11-01T10:00:00.000Z' });
    const record = (await t.api('/v1/events?status=quarantined')).body.data.find((e: { id: string }) => e.id === id);
    expect(record.reprocessed_into).toBe(answer.body.id);
    // The list and the record name the source and link the record to the call its event belongs to.
    const [source] = await t.app.storage.sources.list();
    expect(record).toMatchObject({ source_name: source!.name, reprocessed_call_id: 'rep-1' });
    expect((await t.api(`/v1/events/${id}`)).body).toMatchObject({ source_name: source!.name, reprocessed_call_id: 'rep-1', reprocessed_into: answer.body.id });
    expect((await t.api(`/v1/events/${answer.body.id}`)).body).toMatchObject({ source_name: source!.name, call_id: 'rep-1' });
    expect((await t.api(`/v1/events/${answer.body.id}`)).body).not.toHaveProperty('reprocessed_call_id');
    expect(await t.request('POST', `/v1/events/${id}/reprocess`)).toMatchObject({ status: 409, body: { error: 'conflict' } });
    // Reprocessing is admin work.
    expect((await t.request('POST', `/v1/events/${id}/reprocess`, undefined, null)).status).toBe(401);
  });

  it('leaves what still does not parse, and reprocesses the whole quarantine in one call', async () => {
    t = await startTestApp(await backend.freshDb());
    const fixable = await quarantinedByOldVersion(endCall('rep-2'));
    const invalid = await t.post('{"type":"end_call"}');
    expect(invalid.status).toBe(422);
    expect(await t.request('POST', `/v1/events/${invalid.body.quarantine_id}/reprocess`)).toMatchObject({ status: 422, body: { error: 'invalid_event' } });
    const tooLarge = await t.post(Buffer.alloc(1024 * 1024 + 1, 'a'));
    expect(tooLarge.status).toBe(413);
    expect((await t.api('/v1/events/quarantine')).body).toEqual({ waiting: 3, reprocessed: 0 });
    // A viewer's key reads the quarantine but may not reprocess it.
    const viewer = (await t.request('POST', '/v1/keys', { name: 'viewer', scope: 'read' })).body.key as string;
    expect((await t.api('/v1/events/quarantine', viewer)).body).toEqual({ waiting: 3, reprocessed: 0 });
    expect(await t.request('POST', '/v1/events/reprocess', undefined, viewer)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await t.request('POST', `/v1/events/${fixable}/reprocess`, undefined, viewer)).status).toBe(403);
    expect((await t.api('/v1/events/quarantine')).body).toEqual({ waiting: 3, reprocessed: 0 });

    const all = await t.request('POST', '/v1/events/reprocess');
    expect(all).toMatchObject({ status: 200, body: { reprocessed: 1, still_invalid: 1, not_reprocessable: 1 } });
    // Each record's outcome, newest first: the event it became, or the error it still answers and why.
    expect(all.body.results).toEqual([
      { id: tooLarge.body.quarantine_id, outcome: 'not_reprocessable', error: 'conflict', detail: expect.stringContaining('not kept whole') },
      { id: invalid.body.quarantine_id, outcome: 'still_invalid', error: 'invalid_event', detail: '"call_id" is missing' },
      { id: fixable, outcome: 'reprocessed', event_id: expect.stringMatching(/^evt_/), call_id: 'rep-2' },
    ]);
    expect((await t.api('/v1/calls/rep-2')).status).toBe(200);
    expect((await t.api('/v1/events/quarantine')).body).toEqual({ waiting: 2, reprocessed: 1 });
    expect((await t.request('POST', '/v1/events/reprocess')).body).toMatchObject({ reprocessed: 0, still_invalid: 1, not_reprocessable: 1 });
    expect((await t.request('POST', '/v1/events/reprocess')).body.results.map((r: { id: string }) => r.id)).toEqual([tooLarge.body.quarantine_id, invalid.body.quarantine_id]);
  });

  it('does the same from the command line', async () => {
    t = await startTestApp(await backend.freshDb());
    const id = await quarantinedByOldVersion(endCall('rep-cli'));
    const cli = new URL('../dist/cli/index.js', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(process.execPath, [cli, 'reprocess', '--all', '--server', t.baseUrl, '--key', t.adminKey], { encoding: 'utf8' });
    expect(stdout.trim()).toBe('Reprocessed 1; still invalid 0; not reprocessable (body not kept whole) 0.');
    expect((await t.api('/v1/calls/rep-cli')).status).toBe(200);
    expect(id).toMatch(/^evt_/);
  });
});
