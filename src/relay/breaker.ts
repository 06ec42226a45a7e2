/**
 * Circuit breakers per destination, in the memory of one worker (issue 10): a destination whose attempts
 * keep ending without an answer — timeouts, refused or reset connections — is left alone for a cool-down,
 * so its deliveries stop holding send slots for a whole timeout each; then one probe is let through. An
 * answer, whatever its status, closes the circuit (an HTTP error is the retry schedule's business, not a
 * dead receiver); a failed probe opens it for another cool-down. Each worker learns on its own (a restarted
 * worker starts closed), which costs at most `threshold` failed attempts per worker and destination.
 *
 * @example
 * const circuits = createCircuitBreakers({ threshold: 5, cooldownMs: 30_000 });
 * circuits.allowed('dst_…', Date.now()); // Infinity (closed), 0 (open), 1 (cooled down: one probe)
 * circuits.caps(Date.now()); // { 'dst_…': 0 }: the destinations not closed, for the claim
 * circuits.record('dst_…', Date.now(), false); // 'opened' on the fifth failure in a row
 */
export function createCircuitBreakers(options: { threshold: number; cooldownMs: number }) {
  const circuits = new Map<string, { failures: number; openUntil: number | null }>();
  /** How many requests to the destination may be in flight now. */
  function allowed(id: string, now: number): number {
    const openUntil = circuits.get(id)?.openUntil ?? null;
    if (openUntil === null) return Number.POSITIVE_INFINITY;
    return now < openUntil ? 0 : 1;
  }
  return {
    allowed,
    /** Counts an attempt's end: answered (any HTTP status) or not. Says when the circuit changed. */
    record(id: string, now: number, answered: boolean): 'opened' | 'closed' | null {
      const circuit = circuits.get(id);
      if (answered) {
        circuits.delete(id);
        return circuit?.openUntil != null ? 'closed' : null;
      }
      const c = circuit ?? { failures: 0, openUntil: null };
      circuits.set(id, c);
      c.failures += 1;
      if (c.openUntil === null) {
        if (c.failures < options.threshold) return null;
        c.openUntil = now + options.cooldownMs;
        return 'opened';
      }
      // A failed probe (or an attempt that outlived the cool-down): wait another cool-down.
      if (now >= c.openUntil) c.openUntil = now + options.cooldownMs;
      return null;
    },
    /** The destinations whose circuit is not closed, with how many requests each may have in flight now. */
    caps(now: number): Record<string, number> {
      const caps: Record<string, number> = {};
      for (const id of circuits.keys()) {
        const n = allowed(id, now);
        if (n !== Number.POSITIVE_INFINITY) caps[id] = n;
      }
      return caps;
    },
    /** Destinations whose circuit is open or probing (a metric). */
    get open(): number {
      let n = 0;
      for (const c of circuits.values()) if (c.openUntil !== null) n += 1;
      return n;
    },
  };
}

export type CircuitBreakers = ReturnType<typeof createCircuitBreakers>;
