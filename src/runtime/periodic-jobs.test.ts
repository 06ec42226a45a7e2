import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPeriodicJobs } from './periodic-jobs.js';

describe('startPeriodicJobs', () => {
  afterEach(() => vi.useRealTimers());

  it('runs each job on its own interval until stopped', async () => {
    vi.useFakeTimers();
    const runs = { a: 0, b: 0 };
    const jobs = startPeriodicJobs([
      { name: 'a', everyMs: 100, run: async () => { runs.a++; } },
      { name: 'b', everyMs: 250, run: async () => { runs.b++; } },
    ], () => {});
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toEqual({ a: 5, b: 2 });
    jobs.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual({ a: 5, b: 2 });
  });

  it('reports a failure and keeps the job scheduled', async () => {
    vi.useFakeTimers();
    const failures: string[] = [];
    let runs = 0;
    const jobs = startPeriodicJobs([
      { name: 'flaky', everyMs: 100, run: async () => { runs++; if (runs === 1) throw new Error('database down'); } },
    ], (job, error) => failures.push(`${job.name}: ${(error as Error).message}`));
    await vi.advanceTimersByTimeAsync(300);
    expect(failures).toEqual(['flaky: database down']);
    expect(runs).toBe(3);
    jobs.stop();
  });

  it('does not start a run while the previous one is still going', async () => {
    vi.useFakeTimers();
    let started = 0;
    let finish!: () => void;
    const jobs = startPeriodicJobs([
      { name: 'slow', everyMs: 100, run: () => { started++; return new Promise<void>((resolve) => { finish = resolve; }); } },
    ], () => {});
    await vi.advanceTimersByTimeAsync(450);
    expect(started).toBe(1);
    finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toBe(2);
    jobs.stop();
  });
});
