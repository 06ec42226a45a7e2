import { sql, type Kysely } from 'kysely';
import { migrateToLatest, pendingMigrations, type Dialect } from '../migrations.js';
import type { EventWriter, Outbox, OverlapRule, Storage } from '../ports.js';
import type { Database } from '../schema.js';
import { createApiKeys } from './api-keys.js';
import { createCallQueries, type ArrayRows, type CsvRows } from './call-queries.js';
import { createCalls } from './calls.js';
import { createDeliveryReads } from './deliveries.js';
import { cancelPendingOfDeleted, createDestinations } from './destinations.js';
import { createEventLog } from './event-log.js';
import { prune } from './retention.js';
import { createReconcileStore } from './reconcile.js';
import { createSources } from './sources.js';
import { createStats } from './stats.js';
import { createAccountStores } from './users.js';

/** The ports over one Kysely instance; the backends differ in how they open it and in their append. */
export interface Backend {
  /** The query API's reads (stats, the call list and export): under the statement time limit (default: db). */
  reads?: Kysely<Database>;
  /** The log's reads and the outbox (the stream and the worker), on a pool of their own (default: db). */
  log?: Kysely<Database>;
  /** The ingest hot path, each backend's own (sqlite/append.ts, postgres/append.ts). */
  append: EventWriter['append'];
  /** See EventWriter.commitOverlap (default: undefined, any). */
  commitOverlap?: OverlapRule;
  /** The delivery worker's hot path, each backend's own (sqlite/deliveries.ts, postgres/deliveries.ts). */
  claim: Outbox['claim'];
  complete: Outbox['complete'];
  /** Destinations' rate buckets: PostgreSQL's in their rows (postgres/deliveries.ts), SQLite's in memory. */
  pace: Outbox['pace'];
  watchAppends?: Storage['watchAppends'];
  announceCredentialsChanged?: Storage['announceCredentialsChanged'];
  startSequencer?: Storage['startSequencer'];
  /** PostgreSQL: waits until the appends in flight now have committed (or failed). */
  appendsSettled?: () => Promise<void>;
  /** PostgreSQL: waits until the events committed so far have their seq (see EventReader.waitSequenced). */
  waitSequenced?: Storage['events']['waitSequenced'];
  /** Pools beside db and reads, closed with them (PostgreSQL: the ingest's, the stream's and the worker's). */
  closeMore?: () => Promise<void>;
  /** Rows as arrays rather than objects (the call list and export). */
  arrayRows: ArrayRows;
  /** The CSV export's page written where the rows are read (on the query reads' thread). */
  csvRows: CsvRows;
  /** The stats' hours and days computed where the rows are read (on the query reads' thread). */
  timeBuckets: Storage['stats']['timeBuckets'];
  /** PostgreSQL with a read database: see Readiness.readReplayLag (default: null, the reads read db). */
  readReplayLag?: Storage['readReplayLag'];
  /** Periodic upkeep beside the shared one (SQLite: the WAL checkpoint, off the ingest's commits). */
  maintain?: () => Promise<void>;
  /** Runs before the database closes (SQLite: stop the writer thread). */
  beforeClose?: () => Promise<void>;
}

export function createKyselyStorage(db: Kysely<Database>, dialect: Dialect, hooks: Backend): Storage {
  const reads = hooks.reads ?? db;
  return {
    dialect,
    events: { ...createEventLog(hooks.log ?? db, dialect, hooks.append, hooks.waitSequenced), commitOverlap: hooks.commitOverlap },
    calls: createCalls(db),
    callQueries: createCallQueries(reads, dialect, hooks.arrayRows, hooks.csvRows),
    stats: createStats(reads, dialect, db, hooks.timeBuckets),
    sources: createSources(db),
    keys: createApiKeys(db),
    destinations: createDestinations(db, dialect, hooks.appendsSettled && hooks.waitSequenced
      ? async () => {
        await hooks.appendsSettled!();
        await hooks.waitSequenced!();
      }
      : undefined),
    deliveries: { ...createDeliveryReads(db, dialect, hooks.waitSequenced), claim: hooks.claim, complete: hooks.complete, pace: hooks.pace },
    reconcile: createReconcileStore(db),
    ...createAccountStores(db, dialect),
    watchAppends: hooks.watchAppends ?? (async () => async () => {}),
    announceCredentialsChanged: hooks.announceCredentialsChanged ?? (async () => {}),
    startSequencer: hooks.startSequencer ?? (() => null),
    migrate: () => migrateToLatest(db, dialect),
    readReplayLag: hooks.readReplayLag ?? (async () => null),
    async checkReady() {
      await sql`select 1`.execute(db);
      const pending = await pendingMigrations(db, dialect);
      if (pending.length > 0) throw new Error(`migrations not applied: ${pending.join(', ')}`);
    },
    async maintain() {
      if (dialect !== 'postgres') return hooks.maintain?.();
      // Autovacuum analyzes too, but only after it wakes (a minute) and 10 % of a table changed: a new
      // deployment's first burst would be claimed with plans for empty tables meanwhile. Here: a table never
      // analyzed, or one that changed more than its size since (each delivery is updated twice, so under load
      // a lower bar would have this ANALYZE the deliveries table again at nearly every call).
      const { rows } = await sql<{ relname: string }>`
        select relname from pg_stat_user_tables
        where relname in ('deliveries', 'destinations', 'event_rows', 'event_seqs', 'calls')
          and (n_mod_since_analyze > greatest(1000, n_live_tup)
            or (n_mod_since_analyze > 0 and last_analyze is null and last_autoanalyze is null))`.execute(db);
      for (const { relname } of rows) await sql`analyze ${sql.table(relname)}`.execute(db);
      // A delivery the sequencer inserted for a destination deleted meanwhile, past the delete's own second
      // pass (an append that committed after it): never claimed, it would stay pending for ever.
      await cancelPendingOfDeleted(db, Date.now());
    },
    prune: (before) => prune(db, dialect, before),
    async isEmpty() {
      const sources = await db.selectFrom('sources').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const keys = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(sources.n) === 0 && Number(keys.n) === 0;
    },
    async callRecordForm(compact = false) {
      if (dialect !== 'postgres') return 'tuple';
      if (compact) await sql`update switchboard_record_form set form = 'tuple' where id = 1`.execute(db);
      const { rows } = await sql<{ form: 'object' | 'tuple' }>`select form from switchboard_record_form where id = 1`.execute(db);
      return rows[0]!.form;
    },
    async close() {
      await hooks.beforeClose?.();
      if (reads !== db) await reads.destroy();
      await hooks.closeMore?.();
      await db.destroy();
    },
  };
}
