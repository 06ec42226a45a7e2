import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics } from './metrics.js';

describe('the delivery queue depth gauge', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Prometheus' text format writes NaN as Nan.
  const depth = (text: string) => /^switchboard_delivery_queue_depth (\S+)$/m.exec(text)?.[1];

  it('is the pending count when the database answers', async () => {
    const metrics = createMetrics();
    metrics.measureRelay({ streamClients: () => 0, pendingDeliveries: async () => 7 });
    expect(depth(await metrics.registry.metrics())).toBe('7');
  });

  it('is NaN, not 0, while the database fails: an alert on a deep queue must not clear because the count cannot be read', async () => {
    const metrics = createMetrics();
    metrics.measureRelay({ streamClients: () => 0, pendingDeliveries: async () => { throw new Error('connect ECONNREFUSED'); } });
    expect(depth(await metrics.registry.metrics())).toBe('Nan');
  });

  it('is NaN after a wait when the database does not answer, and the scrape still answers with every other metric', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const metrics = createMetrics();
    metrics.measureRelay({ streamClients: () => 3, pendingDeliveries: () => new Promise<number>(() => {}) });
    let text: string | undefined;
    void metrics.registry.metrics().then((t) => { text = t; });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(text).toBeDefined();
    expect(depth(text!)).toBe('Nan');
    expect(text).toContain('switchboard_stream_clients 3');
  });
});
