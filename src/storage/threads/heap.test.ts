import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { workerHeapLimits } from './heap.js';

/** Churns short-lived objects in a worker until its young generation is as big as V8 lets it grow; its size in MB. */
function grownYoungGenerationMb(limits: ConstructorParameters<typeof Worker>[1]): Promise<number> {
  const code = `
    const v8 = require('node:v8');
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 20000) keep = []; }
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    require('node:worker_threads').parentPort.postMessage(young.space_size / 1048576);`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, ...limits });
    worker.once('message', (mb: number) => void worker.terminate().then(() => resolve(mb)));
    worker.once('error', reject);
  });
}

describe("a SQLite worker thread's heap", () => {
  it('keeps the young generation it asks for although the process runs with --max-semi-space-size', async () => {
    // What `npm start` and the switchboard bin do before any worker starts.
    v8.setFlagsFromString('--max-semi-space-size=16');
    const mb = await grownYoungGenerationMb({ resourceLimits: workerHeapLimits(8) });
    expect(mb).toBeGreaterThan(0);
    expect(mb).toBeLessThanOrEqual(8);
  });
});
