import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { backends, endCall, startCall } from './support/app.js';
import { killLeftoverServers, startFirstServer, startServer } from './support/crash-server.js';
import { startReceiver, type Receiver } from './support/receiver.js';

/**
 * At least once, the hard way: the real server process is killed with SIGKILL while it is sending webhooks
 * (some in flight, some recorded, some not yet claimed), restarted on the same database, and every event
 * it acknowledged must reach the destination; a webhook sent twice carries the same webhook-id.
 */
// Few deliveries in flight to a slowish receiver: a backlog builds up behind the ingest, so the kill lands
// with deliveries in every state (recorded, in flight, queued). A short lease, so the restart takes the
// leased ones soon: the receiver answers in ms, so a timeout of 5 s (the lease must outlast it by 2 s) is plenty.
const serverArgs = ['--allow-private-destinations', 'true', '--delivery-lease-sec', '7', '--delivery-timeout-sec', '5', '--relay-poll-ms', '100', '--delivery-concurrency', '8'];

describe.each(backends)('killing the process during deliveries ($name)', (backend) => {
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await receiver?.close();
  });
  afterAll(async () => {
    await killLeftoverServers();
  });

  it('delivers every acknowledged event at least once after a restart, repeats with the same webhook-id', async () => {
    // A slow receiver keeps deliveries in flight when the kill lands.
    // (30–39 ms × 8 in flight ≈ 230 deliveries/s: below the ingest's rate on either backend, even on a busy
    // machine, so a backlog of 100 builds within seconds.)
    receiver = await startReceiver(({ index }) => ({ status: 200, delayMs: 30 + (index % 10) }));
    const db = await backend.freshDb();
    const first = await startFirstServer(db, serverArgs);
    const admin = { authorization: `Bearer ${first.adminKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${first.baseUrl}/v1/destinations`, { method: 'POST', headers: admin, body: JSON.stringify({ url: receiver.url }) });
    expect(created.status).toBe(201);

    const acked = new Set<string>();
    let killed = false;
    const loops = Array.from({ length: 16 }, async (_, loop) => {
      for (let i = 0; !killed; i++) {
        for (const body of [startCall(`dc-${loop}-${i}`), endCall(`dc-${loop}-${i}`)]) {
          try {
            const response = await fetch(first.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
            const answer = (await response.json()) as { id?: string };
            if (response.status === 200 && answer.id) acked.add(answer.id);
          } catch {
            // cut by the kill
          }
        }
      }
    });
    // Kill once deliveries are well under way and a backlog has built up behind them.
    const backlog = () => acked.size - new Set(receiver!.received.map((r) => r.json.id as string)).size;
    const deadline = Date.now() + 45_000;
    // A margin over the 100 checked below: deliveries already on their way still arrive after the kill.
    while ((receiver.received.length < 200 || backlog() < 150) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill('SIGKILL');
    killed = true;
    await Promise.all(loops);
    expect((await first.exited).signal).toBe('SIGKILL');
    const receivedAtKill = receiver.received.length;
    const sentBeforeKill = new Set(receiver.received.map((r) => r.json.id as string));
    const backlogAtKill = [...acked].filter((id) => !sentBeforeKill.has(id)).length;
    expect(receivedAtKill).toBeGreaterThanOrEqual(200);
    expect(backlogAtKill, 'the kill must land with acknowledged events not yet delivered').toBeGreaterThanOrEqual(100);

    const second = await startServer(db, 30_000, serverArgs);
    try {
      const missing = () => [...acked].filter((id) => !receiver!.received.some((r) => r.headers['webhook-id'] === id));
      const until = Date.now() + 60_000;
      while (missing().length > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      const byId = new Map<string, number>();
      for (const r of receiver.received) {
        // The webhook-id is the event id, whichever attempt carried it.
        expect(r.headers['webhook-id']).toBe(r.json.id);
        byId.set(r.json.id, (byId.get(r.json.id) ?? 0) + 1);
      }
      const repeats = [...byId.values()].filter((n) => n > 1).length;
      console.log(`delivery crash test (${backend.name}): acknowledged=${acked.size}, received before kill=${receivedAtKill}, backlog at kill=${backlogAtKill}, received=${receiver.received.length}, events sent more than once=${repeats}, missing=${missing().length}`);
      expect(missing(), 'acknowledged events never delivered').toEqual([]);
      // Per-call order survives the crash: for every call, its first call.ended comes after a call.started.
      const firstIndex = new Map<string, number>();
      receiver.received.forEach((r, i) => {
        const key = `${r.json.call_id} ${r.json.type}`;
        if (!firstIndex.has(key)) firstIndex.set(key, i);
      });
      for (const [key, index] of firstIndex) {
        if (!key.endsWith(' call.ended')) continue;
        const started = firstIndex.get(key.replace(/ call\.ended$/, ' call.started'));
        if (started !== undefined) expect(started, key).toBeLessThan(index);
      }
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  }, 120_000);
});
