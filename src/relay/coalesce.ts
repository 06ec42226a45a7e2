/**
 * One run at a time of `run`, however often it is asked for: asked while a run is under way, one more run
 * follows it (that run may have read its input before the news that asked again), and any number of asks
 * meanwhile share that one. The stream hub reads the log this way, the delivery worker claims this way, and
 * the stream's key check looks keys up this way. An error goes to `onError` and ends that run only.
 *
 * @example
 * const reads = coalesce(readToEnd, (error) => log.warn({ err: error }, 'reading the log failed'));
 * reads.trigger(); // from every commit's wake-up
 * await reads.idle(); // at shutdown
 */
export function coalesce(run: () => Promise<void>, onError: (error: unknown) => void) {
  let current: Promise<void> | null = null;
  let next: Promise<void> | null = null;

  function start(): Promise<void> {
    const started = run()
      .catch(onError)
      .finally(() => {
        if (current === started) current = null;
      });
    current = started;
    return started;
  }

  return {
    /** Resolves when a run that started after this call has finished. */
    trigger(): Promise<void> {
      if (!current) return start();
      return (next ??= current.then(() => {
        next = null;
        return start();
      }));
    },
    /** Resolves when the run under way, and the one asked for meanwhile, have finished. */
    idle(): Promise<void> {
      return next ?? current ?? Promise.resolve();
    },
  };
}

/**
 * One run at a time of `run`, shared: asked while a run is under way, the caller joins that run and gets its
 * result (unlike `coalesce`, no run follows). `fresh` waits the run under way out and starts one of its own,
 * for a caller whose input (the clock) may have moved since that run read it. The delivery worker claims
 * this way.
 *
 * @example
 * const claims = singleFlight(claimAndStart);
 * await claims.join();  // the claim under way, or a new one
 * await claims.fresh(); // a claim that started after this call
 */
export function singleFlight<T>(run: () => Promise<T>) {
  let current: Promise<T> | null = null;
  const join = (): Promise<T> =>
    (current ??= run().finally(() => {
      current = null;
    }));
  return {
    join,
    async fresh(): Promise<T> {
      while (current) await current.catch(() => undefined);
      return join();
    },
  };
}
