/**
 * A worker's sends in flight: how many in all (its free slots) and per destination (each destination's
 * share of them, for the claim).
 *
 * @example
 * const inFlight = createInFlight();
 * inFlight.track('dst_…', sendAndRecord());
 * inFlight.busy(); // { 'dst_…': 1 }
 * await inFlight.settle(); // at shutdown
 */
export function createInFlight() {
  const all = new Set<Promise<void>>();
  const perDestination = new Map<string, number>();
  return {
    get size(): number {
      return all.size;
    },
    /** Requests in flight per destination (claimed, not yet answered). */
    busy(): Record<string, number> {
      return Object.fromEntries(perDestination);
    },
    /** Counts `work` against the destination until it settles; `work` must not reject. */
    track(destinationId: string, work: Promise<void>): void {
      perDestination.set(destinationId, (perDestination.get(destinationId) ?? 0) + 1);
      const p = work.finally(() => {
        const n = (perDestination.get(destinationId) ?? 1) - 1;
        if (n > 0) perDestination.set(destinationId, n);
        else perDestination.delete(destinationId);
      });
      all.add(p);
      void p.finally(() => all.delete(p));
    },
    /** Resolves once nothing is in flight, including work tracked while waiting. */
    async settle(): Promise<void> {
      while (all.size > 0) await Promise.all([...all]);
    },
  };
}
