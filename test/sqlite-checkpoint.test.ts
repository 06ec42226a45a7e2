import { mkdtempSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A server on a fresh SQLite file whose upkeep runs only when the test calls `maintain` (the app's timer gets a no-op). */
async function startWithUpkeepByHand(prefix: string): Promise<{ t: TestApp; file: string; maintain: () => Promise<void> }> {
  const file = join(mkdtempSync(join(tmpdir(), prefix)), 'switchboard.db');
  let maintain!: () => Promise<void>;
  const t = await startTestApp(`sqlite:${file}`, {}, {
    wrapStorage: (storage) => {
      maintain = () => storage.maintain();
      return { ...storage, maintain: async () => {} };
    },
  });
  await maintain();
  return { t, file, maintain };
}

/** `count` end_calls of new calls, each padded with 1.5 KB, posted 50 at a time; every one answered 200. */
async function postPadded(t: TestApp, prefix: string, count: number): Promise<void> {
  const padding = 'x'.repeat(1500);
  for (let i = 0; i < count; i += 50) {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => t.post(endCall(`${prefix}-${i + k}`, { debug: padding }))));
    for (const a of answers) expect(a.status).toBe(200);
  }
}

/**
 * SQLite's WAL is checkpointed by the periodic maintenance on the admin writer thread, never inside the
 * ingest's commits: while a long read holds an old snapshot, an automatic checkpoint would be attempted
 * after every commit and, once the read ends, copy and fsync everything it held back inside one commit.
 * Observed through the database file: pages reach it only when a checkpoint copies them there.
 */
describe('the WAL checkpoint on SQLite', () => {
  let t: TestApp;
  let file: string;
  /** The storage's own upkeep; the app's timer gets a no-op, so the test decides when it runs. */
  let maintain: () => Promise<void>;
  const size = () => statSync(file).size;

  beforeAll(async () => {
    ({ t, file, maintain } = await startWithUpkeepByHand('sb-checkpoint-'));
  });
  afterAll(() => t?.close());

  it('leaves checkpoints out of the ingest commits, past the 1,000 pages that would start one, and makes them in maintain()', async () => {
    const before = size();
    // ~6 MB of events and calls: well past SQLite's automatic checkpoint at 1,000 pages (4 MB).
    await postPadded(t, 'ckpt', 4000);
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(4 * 1024 * 1024);
    expect(size()).toBe(before);
    await maintain();
    expect(size()).toBeGreaterThan(before + 4 * 1024 * 1024);
  });

  it('restarts the WAL in maintain(), so the next commits write it from its start instead of making it grow', async () => {
    await maintain();
    const walBefore = statSync(`${file}-wal`).size;
    // ~1.5 MB more: a WAL that was not restarted would grow by as much.
    await postPadded(t, 'wal', 1000);
    expect(statSync(`${file}-wal`).size).toBe(walBefore);
  });
});

describe('the WAL checkpoint’s timer on SQLite', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('checkpoints every SWITCHBOARD_CHECKPOINT_MS, whatever SWITCHBOARD_MAINTAIN_SEC (PostgreSQL’s upkeep) says', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sb-checkpoint-timer-')), 'switchboard.db');
    t = await startTestApp(`sqlite:${file}`, { checkpointMs: 50, maintainIntervalSec: 3600 });
    // Pages reach the database file only through a checkpoint: the timer's, since nothing else asks for one.
    const before = statSync(file).size;
    await postPadded(t, 'timer', 200);
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 300_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(file).size).toBeGreaterThanOrEqual(before + 300_000);
  });
});

describe('the WAL checkpoint beside a long read on SQLite', () => {
  let t: TestApp;
  let file: string;
  let maintain: () => Promise<void>;
  const size = () => statSync(file).size;

  beforeAll(async () => {
    ({ t, file, maintain } = await startWithUpkeepByHand('sb-checkpoint-read-'));
  });
  afterAll(() => t?.close());

  it('waits 2 s before looking again once a read has held the WAL at the same frame twice, then copies what came meanwhile', async () => {
    // A report's long read: its snapshot holds back every frame committed after it began.
    const reader = new Database(file, { readonly: true });
    reader.prepare('begin').run();
    reader.prepare('select count(*) from events').get();
    await postPadded(t, 'held', 50);
    await maintain();
    await maintain();
    reader.prepare('commit').run();
    reader.close();
    await postPadded(t, 'after', 50);
    const before = size();
    await maintain();
    expect(size()).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await maintain();
    expect(size()).toBeGreaterThan(before + 100_000);
  });
});
