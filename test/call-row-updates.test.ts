import SqliteDatabase from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import type { SourceId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { NewEvent, Storage } from '../src/storage/ports.js';
import { acceptedEvent, endCall, startCall } from './support/app.js';

/**
 * On SQLite an event of a stored call writes only the call row's columns the merge changed
 * (storage/sqlite/append.ts, changedColumnsUpdate). Whatever the merge changes must still be written: the row
 * after a call's events arrive one commit each (every one after the first an update) must equal the row
 * when the same events arrive in one commit (one insert of the merged call).
 */
const sequences: Record<string, string[]> = {
  'start, then end': [startCall('c1'), endCall('c1')],
  'end, then a late start': [endCall('c2'), startCall('c2')],
  'start, end, then a revised end': [startCall('c3'), endCall('c3', { call_status: 'answered', talk_duration_sec: 40 }), endCall('c3', { talk_duration_sec: 90, recording_link: 'https://rec.example/c3', disconnected_by: 'lead' })],
  'a start whose lead phone changes, then the end': [
    startCall('c4', { called_lead_phone: '+46 70 111 11 11', lead: { lead_phone: '+46 70 111 11 11', lead_id: 'l4' } }),
    startCall('c4', { called_lead_phone: '+46 70 222 22 22', lead: { lead_phone: '+46 70 222 22 22', lead_id: 'l4', custom_params: { x: 'y' } } }),
    endCall('c4', { call_status: 'lead_not_answered', agent: { id: 9, name: 'Nine' } }),
  ],
  'start, an unknown type, then the end': [startCall('c5'), JSON.stringify({ type: 'call_note', call_id: 'c5', note: 'n' }), endCall('c5')],
};

const eventOf = (sourceId: SourceId, body: string, receivedAt: number): NewEvent => acceptedEvent(sourceId, body, { receivedAt });

describe('call rows on SQLite, updated column by column', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-call-rows-'));
  const opened: Array<{ storage: Storage; file: string; sourceId: SourceId }> = [];
  beforeAll(async () => {
    for (const name of ['one-commit-each', 'one-commit']) {
      const file = join(dir, `${name}.db`);
      const storage = await openStorage(`sqlite:${file}`);
      await storage.migrate();
      opened.push({ storage, file, sourceId: (await createSource(storage, name)).id });
    }
  });
  afterAll(async () => {
    for (const { storage } of opened) await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(Object.entries(sequences))('%s: the same row whether each event is its own commit or all are one', async (_what, bodies) => {
    const [each, all] = opened as [(typeof opened)[0], (typeof opened)[0]];
    const at = 1_760_000_000_000;
    for (const [i, body] of bodies.entries()) await each.storage.events.append([eventOf(each.sourceId, body, at + i * 60_000)]);
    await all.storage.events.append(bodies.map((body, i) => eventOf(all.sourceId, body, at + i * 60_000)));

    const callId = (JSON.parse(bodies[0]!) as { call_id: string }).call_id;
    const row = (file: string) => {
      const db = new SqliteDatabase(file, { readonly: true });
      try {
        const { source_id: _source, ...rest } = db.prepare('select * from calls where call_id = ?').get(callId) as Record<string, unknown>;
        return rest;
      } finally {
        db.close();
      }
    };
    const updated = row(each.file);
    // Only Convolo's two documented types count as the call's events (an unknown type is relayed, not merged).
    expect(updated.event_count).toBe(bodies.filter((b) => /"type":"(start|end)_call"/.test(b)).length);
    expect(updated).toEqual(row(all.file));
  });
});
