import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { endCall, startTestApp, type TestApp } from './support/app.js';
import { freshPgDatabase } from './support/pg.js';
import { openStream, waitFor, type SseClient } from './support/sse.js';

/**
 * The connection that hears other nodes' appends (PostgreSQL LISTEN) comes back whenever it is lost, for
 * as long as it takes, and says so: a log line, /metrics, and /readyz's detail for admins.
 */
describe('the LISTEN connection on PostgreSQL', () => {
  let first: TestApp;
  let second: App;
  let secondIngestUrl: string;
  let admin: pg.Client;
  let dbName: string;
  let stream: SseClient | undefined;

  beforeAll(async () => {
    const db = await freshPgDatabase();
    dbName = new URL(db).pathname.slice(1);
    // A poll of a minute: what reaches the first node's stream within the test came through NOTIFY.
    const flags = { relayPollMs: 60_000 };
    first = await startTestApp(db, flags);
    second = await createApp(loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', role: 'api', ...flags }), { logger: false });
    await second.prepare();
    const { baseUrl } = await second.listen();
    secondIngestUrl = `${baseUrl}${new URL(first.ingestUrl).pathname}`;
    admin = new pg.Client({ connectionString: inject('pgUrl') });
    await admin.connect();
  });
  afterAll(async () => {
    stream?.close();
    await admin?.query(`alter database "${dbName}" with allow_connections true`).catch(() => {});
    await admin?.end();
    await second?.close();
    await first?.close();
  });

  /** Ends every LISTEN connection on the test's database (both nodes'), as an administrator would. */
  async function terminateListeners(): Promise<number> {
    const { rows } = await admin.query<{ ended: boolean }>(
      `select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and application_name = 'switchboard-listen'`,
      [dbName],
    );
    return rows.filter((r) => r.ended).length;
  }
  const listenDetail = async () => (await first.api('/readyz')).body.detail?.listen as { connected: boolean; reconnects: number; failed_attempts: number } | undefined;
  /** LISTEN connections open on the test's database now (each node has one once it has reconnected). */
  async function listeners(): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'switchboard-listen'`, [dbName]);
    return rows[0]!.n;
  }
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await first.api('/metrics', null)).body as string)?.[1]);

  /** An end_call ingested by the second node reaches the first node's stream: NOTIFY woke it. */
  async function otherNodeWakesTheStream(callId: string): Promise<void> {
    const answer = await first.post(endCall(callId), 'application/json', secondIngestUrl);
    expect(answer.status).toBe(200);
    await waitFor(`${callId} on the first node's stream`, () => stream!.events.some((e) => JSON.parse(e.data).id === answer.body.id), 5_000);
  }

  it('reconnects each time its backend is terminated, also after attempts the database refused, and shows it in /metrics and /readyz', async () => {
    stream = await openStream(first.baseUrl, { key: first.adminKey, query: `types=call.ended&since=${await first.app.storage.events.lastSeq()}` });
    await waitFor('the stream client', () => first.app.relay.hub.clients === 1);
    await otherNodeWakesTheStream('listen-0');
    expect(await listenDetail()).toMatchObject({ connected: true, reconnects: 0 });

    for (let round = 1; round <= 3; round++) {
      if (round === 2) {
        // The database refuses new connections for a while: the first attempts fail, and it keeps trying.
        await admin.query(`alter database "${dbName}" with allow_connections false`);
        expect(await terminateListeners()).toBe(2);
        await waitFor('a refused attempt', async () => ((await listenDetail())?.failed_attempts ?? 0) >= 1, 10_000);
        expect(await metric('switchboard_listen_connected')).toBe(0);
        await admin.query(`alter database "${dbName}" with allow_connections true`);
      } else {
        expect(await terminateListeners()).toBe(2);
      }
      await waitFor(`reconnection ${round}`, async () => {
        const detail = await listenDetail();
        // The second node reconnects on its own backoff: the next round terminates both listeners again.
        return detail?.connected === true && detail.reconnects === round && (await listeners()) === 2;
      }, 20_000);
      await otherNodeWakesTheStream(`listen-${round}`);
    }
    expect(await metric('switchboard_listen_connected')).toBe(1);
    expect(await metric('switchboard_listen_reconnects_total')).toBe(3);
    // The detail is for admins: anyone else learns only that it is ready.
    expect(await first.api('/readyz', null)).toEqual({ status: 200, body: { ok: true } });
    expect((await first.api('/readyz')).body).toMatchObject({ ok: true, detail: { database: 'postgres', listen: { connected: true, reconnects: 3, failed_attempts: 0, last_error: null } } });
  });
});
