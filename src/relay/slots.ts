/**
 * A counting semaphore: `acquire` waits while `limit` holders have not released; waiters are served in
 * the order they came.
 *
 * @example
 * const slots = createSlots(4);
 * await slots.acquire();
 * try { await work(); } finally { slots.release(); }
 */
export function createSlots(limit: number) {
  let free = Math.max(1, limit);
  const waiting: Array<() => void> = [];
  return {
    acquire: () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve))),
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}
