import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { credentialKinds, type CredentialKind, type ListenStatus, type Storage, type StorageOptions } from '../ports.js';
import type { Database } from '../schema.js';
import { createKyselyStorage } from '../shared/storage.js';
import { appendChannel, commitOverlap, createPostgresAppend, legacyAppendLockKey } from './append.js';
import { createPostgresDeliveryWrites } from './deliveries.js';
import { openPool, pgGuards, poolLimits, types } from './pool.js';
import { createReadThread, ReadThreadDialect, type ReadThread } from './read-thread.js';
import { noDeliveries, startSequencer, waitSequenced } from './sequencer.js';

export function openPostgres(url: string, options: StorageOptions & { maxConnections?: number } = {}): Storage {
  const max = options.maxConnections ?? 10;
  // SWITCHBOARD_PG_CONNECT_TIMEOUT_MS: every pool's wait for a connection, and more (poolLimits).
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  // Separate pools, so that one kind of work cannot take the connections another waits for: the ingest's
  // appends; the stream's and the worker's log reads, claims and outcomes; the query API's heavy reads;
  // and the rest (administration, the sequencer, migrations, pruning) on the main pool.
  const pool = openPool({ connectionString: url, max: Math.max(2, Math.ceil(max / 2)), types, application_name: 'switchboard', ...poolLimits(0, connectTimeoutMs) });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  // The ingest's appends drive their clients by hand (append.ts), without Kysely. Every statement they run
  // with parameters is prepared (prepared.ts), and runs on its generic plan, planned once: left to choose,
  // PostgreSQL planned them anew at every run, their custom plans (a few keys in an array, padded rows
  // left out) always looking cheaper. Only here: the other pools run Kysely's statements (and the delivery
  // worker's, deliveries.ts), whose plans must see their values (the claim's comments say why).
  const ingestPool = openPool({
    connectionString: url, max, types, application_name: 'switchboard-ingest',
    // An append unanswered past its limits fails (503, the sender retries), its connection thrown away (inTransaction).
    ...poolLimits(pgGuards.hotStatementMs, connectTimeoutMs, ' -c plan_cache_mode=force_generic_plan'),
  });
  const relayPool = openPool({ connectionString: url, max: Math.max(2, Math.ceil(max / 2)), types, application_name: 'switchboard-relay', ...poolLimits(pgGuards.hotStatementMs, connectTimeoutMs) });
  const relay = new Kysely<Database>({ dialect: new PostgresDialect({ pool: relayPool }) });
  // The query API's reads (stats, the call list and export) on a thread of their own (read-worker.ts), with a
  // small pool — on a hot standby when the operator names one (`readUrl`) — whose sessions carry the
  // statement time limit: the server cancels a read past it (57014, answered as query_timeout), and heavy
  // reads can neither take every connection from the ingest and the worker nor, more than
  // SWITCHBOARD_DB_READERS at once, the database server's cores. The rows they parse and the answers they
  // write (a year of hours: 3 MB) cost that thread, not the one accepting webhooks.
  const readThread = createReadThread({ url: options.readUrl ?? url, max: options.readers ?? 2, statementTimeoutMs: options.statementTimeoutMs ?? 0, nice: options.readerNice ?? 0, connectTimeoutMs });
  const reads = new Kysely<Database>({ dialect: new ReadThreadDialect(readThread) });
  const deliveries = createPostgresDeliveryWrites(relay, relayPool);
  return createKyselyStorage(db, 'postgres', {
    reads,
    log: relay,
    append: createPostgresAppend(ingestPool, options.callObjectMaxBytes),
    commitOverlap,
    claim: deliveries.claim,
    complete: deliveries.complete,
    pace: deliveries.pace,
    arrayRows: async (query) => (await readThread.rows(query, true)).rows as unknown[][],
    csvRows: readThread.csvRows,
    timeBuckets: readThread.timeBuckets,
    watchAppends: (onAppend, onStatus, onCredentials) => watchAppends(url, onAppend, onStatus, onCredentials),
    announceCredentialsChanged: async (changed) => {
      await pool.query('select pg_notify($1, $2)', [credentialsChannel, changed]);
    },
    startSequencer: (sequencerOptions) => startSequencer(db, pool, sequencerOptions),
    waitSequenced: (timeoutMs) => waitSequenced(relay, timeoutMs),
    // Every append holds this lock shared from the statement that reads the destinations to its commit: taken
    // exclusively (and let go at once), it is granted once the appends in flight now have ended.
    appendsSettled: async () => {
      await db.transaction().execute((trx) => sql`select pg_advisory_xact_lock(${sql.lit(legacyAppendLockKey)})`.execute(trx));
    },
    ...(options.readUrl ? { readReplayLag: () => readReplayLag(pool, readThread) } : {}),
    closeMore: async () => {
      await Promise.all([ingestPool.end(), readThread.close()]);
      await relay.destroy();
    },
  });
}

/**
 * The primary's WAL position less what the read database has replayed, in bytes (0 when it is not a standby,
 * or has caught up). Asked of the primary first, so the standby can only be behind that position.
 */
async function readReplayLag(primary: pg.Pool, reads: ReadThread): Promise<number> {
  const { rows } = await primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  const replayed = await reads.rows(CompiledQuery.raw('select greatest(0, $1::pg_lsn - coalesce(pg_last_wal_replay_lsn(), $1::pg_lsn))::float8 as lag', [rows[0]!.lsn]), false);
  return Number((replayed.rows[0] as { lag: number }).lag);
}

/** The first reconnection waits this long; each failed attempt doubles it, up to `maxRetryMs`. */
const firstRetryMs = 1000;
const maxRetryMs = 30_000;
/** The channel on which a process announces a change of keys, tokens, sessions or users (Storage.announceCredentialsChanged). */
export const credentialsChannel = 'switchboard_credentials';
/** How the LISTEN connection shows in pg_stat_activity. */
export const listenApplicationName = 'switchboard-listen';

/**
 * LISTEN on a connection of its own (a pooled one would be handed to queries). The sequencer notifies once
 * per tick with the highest seq it gave (sequencer.ts), so every node's stream and worker wake at once. If the connection drops it is opened
 * again, for as long as it takes, 1 s after the loss and then with the wait doubling up to 30 s (a database
 * restart should not be met with a connection storm from every node), and `onAppend` is called then too,
 * since notifications may have been missed meanwhile; polling (SWITCHBOARD_RELAY_POLL_MS) covers the gap.
 * The same connection hears the announcements of changed credentials (`onCredentials`, also called after a
 * reconnection: the caches' time limit covers the gap, this shortens it).
 */
async function watchAppends(
  url: string,
  onAppend: (mayQueueDeliveries: boolean, lastSeq?: number) => void,
  onStatus: (status: ListenStatus) => void = () => {},
  onCredentials: (changed?: CredentialKind) => void = () => {},
): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const status: ListenStatus = { connected: false, since: Date.now(), reconnects: 0, failedAttempts: 0, lastError: null };
  const report = (change: Partial<ListenStatus>) => {
    Object.assign(status, change);
    onStatus({ ...status });
  };

  async function connect(): Promise<void> {
    // An attempt that hangs (a network partition) gives up and is tried again; TCP keepalive notices a peer
    // that vanished without closing, which an idle LISTEN connection would otherwise never learn.
    const c = new pg.Client({
      connectionString: url, application_name: listenApplicationName, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    });
    // Errors before LISTEN succeeded also reject connect() or query(); this only keeps them from crashing.
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query(`listen ${appendChannel}; listen ${credentialsChannel}`);
    } catch (error) {
      c.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await c.end().catch(() => {});
      return;
    }
    let gone = false;
    const lost = (error: Error) => {
      if (gone) return;
      gone = true;
      if (client === c) client = null;
      c.end().catch(() => {});
      if (stopped) return;
      report({ connected: false, since: Date.now(), failedAttempts: 0, lastError: error.message });
      reconnectLater(firstRetryMs);
    };
    c.on('notification', (n) => {
      if (n.channel === credentialsChannel) return onCredentials(credentialKinds.find((k) => k === n.payload));
      const seq = parseInt(n.payload ?? '', 10);
      onAppend(!n.payload?.endsWith(noDeliveries), seq > 0 ? seq : undefined);
    });
    c.on('error', lost);
    c.on('end', () => lost(new Error('the connection was closed')));
    client = c;
  }

  function reconnectLater(delayMs: number): void {
    retry = setTimeout(() => {
      connect().then(
        () => {
          if (stopped) return;
          report({ connected: true, since: Date.now(), reconnects: status.reconnects + 1, failedAttempts: 0, lastError: null });
          onAppend(true);
          onCredentials();
        },
        (error: Error) => {
          if (stopped) return;
          report({ failedAttempts: status.failedAttempts + 1, lastError: error.message });
          reconnectLater(Math.min(delayMs * 2, maxRetryMs));
        },
      );
    }, delayMs);
  }

  await connect();
  report({ connected: true, since: Date.now() });
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
