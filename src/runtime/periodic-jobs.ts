/** A piece of upkeep that runs on a timer: its failures are logged and it runs again next time. */
export interface PeriodicJob {
  /** Named in the log line of a failure ("stale sweep failed"). */
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

export interface PeriodicJobs {
  /** Clears every timer; a run in progress finishes on its own. */
  stop(): void;
}

/**
 * Starts each job on its own interval. Timers are unref'd (they never keep the process alive), and a job
 * still running when its next tick comes is not started twice (a slow database does not pile runs up).
 */
export function startPeriodicJobs(jobs: readonly PeriodicJob[], onError: (job: PeriodicJob, error: unknown) => void): PeriodicJobs {
  const timers = jobs.map((job) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      job.run().catch((error: unknown) => onError(job, error)).finally(() => { running = false; });
    }, job.everyMs);
    timer.unref();
    return timer;
  });
  return {
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
