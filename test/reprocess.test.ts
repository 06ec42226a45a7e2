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
    const answer = await t.request('POST', `/v1/events/${id}/reprocess`);
    expect(answer).toMatchObject({ status: 200, body: { ok: true, id: expect.stringMatching(/^evt_/) } });
    const call = (await t.api('/v1/calls/rep-1')).body;
    expect(call).toMatchObject({ status: 'answered', event_count: 1, first_event_at: '2026-11-01T10:00:00.000Z' });
    const record = (await t.api('/v1/events?status=quarantined')).body.data.find((e: { id: string }) => e.id === id);
    expect(record.reprocessed_into).toBe(answer.body.id);
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
    const all = await t.request('POST', '/v1/events/reprocess');
    expect(all).toMatchObject({ status: 200, body: { reprocessed: 1, still_invalid: 1, not_reprocessable: 1 } });
    expect((await t.api('/v1/calls/rep-2')).status).toBe(200);
    expect((await t.request('POST', '/v1/events/reprocess')).body).toEqual({ reprocessed: 0, still_invalid: 1, not_reprocessable: 1 });
    expect(fixable).toMatch(/^evt_/);
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
