import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSource } from '../src/admin/credentials.js';
import type { SourceId } from '../src/domain/ids.js';
import { openStorage } from '../src/storage/open.js';
import type { Storage } from '../src/storage/ports.js';
import { acceptedEvent, endCall } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { sequenced } from './support/sequenced.js';

/** waitSequenced says whether the seqs came in time, so the tests' wait (support/sequenced.ts) can fail loudly. */
describe('waitSequenced on PostgreSQL', () => {
  let storage: Storage;
  let sourceId: SourceId;
  beforeAll(async () => {
    storage = await openStorage(await freshPgDatabase());
    await storage.migrate();
    sourceId = (await createSource(storage, 'waits')).id;
  });
  afterAll(async () => {
    await storage?.close();
  });

  it('answers false when its time runs out with events still without seq, true once they have it', async () => {
    expect(await storage.events.waitSequenced(100)).toBe(true);
    // No sequencer runs: the event stays without seq.
    await storage.events.append([acceptedEvent(sourceId, endCall('wait-1'))]);
    const started = Date.now();
    expect(await storage.events.waitSequenced(300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(sequenced(storage, 300)).rejects.toThrow(/still had no seq after 0.3 s/);

    const sequencer = storage.startSequencer({ nodeId: 'wait-test' })!;
    try {
      expect(await storage.events.waitSequenced(45_000)).toBe(true);
      await sequenced(storage);
    } finally {
      await sequencer.stop();
    }
  });
});
