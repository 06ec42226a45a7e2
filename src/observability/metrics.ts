import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { within } from '../runtime/deadline.js';

/** How long a scrape waits for the read database's replay position. */
const readReplayLagTimeoutMs = 1000;
/** How long a scrape waits for the count of pending deliveries (one indexed count on the primary). */
const pendingDeliveriesTimeoutMs = 3000;

/**
 * What `read()` gives within `ms`, NaN when it fails or is late: a database that does not answer (a network cut,
 * a connection that waits) must not hold the scrape, nor pass for a value ("0 pending" while it is down).
 */
async function readOrNaN(read: () => Promise<number | null>, ms: number, label: string): Promise<number> {
  return within(read(), ms, () => new Error(`${label} did not answer`)).then((v) => v ?? 0, () => Number.NaN);
}

/** Prometheus metrics, one registry per app instance (tests run several apps in one process). */
export function createMetrics() {
  const registry = new Registry();
  let queueDepth = () => 0;
  let streamClients = () => 0;
  let pendingDeliveries: () => Promise<number> = async () => 0;
  let circuitsOpen = () => 0;
  let readReplayLag: () => Promise<number | null> = async () => null;
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  /** A gauge set from `read()` each time it is scraped. */
  const sampled = (name: string, help: string, read: () => number) =>
    new Gauge({
      name, help, registers: [registry],
      collect() {
        this.set(read());
      },
    });
  return {
    registry,
    ingestRequests: new Counter({
      name: 'switchboard_ingest_requests_total',
      help: 'Ingest requests by Convolo event type and result (accepted, duplicate, quarantined, rejected, failed).',
      labelNames: ['type', 'result'] as const,
      registers: [registry],
    }),
    ingestDuration: new Histogram({
      name: 'switchboard_ingest_duration_seconds',
      help: 'Time from the end of the request body to the acknowledgement, durable commit included.',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    commitBatchSize: new Histogram({
      name: 'switchboard_commit_batch_size',
      help: 'Ingest requests per group-commit transaction.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    commitFailures: new Counter({ name: 'switchboard_commit_failures_total', help: 'Group commits that failed (their requests got 503).', registers: [registry] }),
    ingestQueueDepth: sampled('switchboard_ingest_queue_depth', 'Ingest requests waiting for a commit.', () => queueDepth()),
    /** Where the queue depth gauge reads from, set by the ingest service that owns the queue. */
    measureQueueDepth(read: () => number) {
      queueDepth = read;
    },
    deliveryAttempts: new Counter({
      name: 'switchboard_delivery_attempts_total',
      help: 'Webhook delivery attempts by result (delivered, retry, failed: the schedule ran out or 410).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'switchboard_delivery_duration_seconds',
      help: 'Time for a destination to answer a webhook (or to fail).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
    deliveryQueueDepth: new Gauge({
      name: 'switchboard_delivery_queue_depth',
      help: 'Deliveries pending (due now or scheduled for a retry), across all nodes; NaN while the database cannot be asked.',
      registers: [registry],
      async collect() {
        this.set(await readOrNaN(pendingDeliveries, pendingDeliveriesTimeoutMs, 'the database'));
      },
    }),
    streamClientsGauge: sampled('switchboard_stream_clients', 'Clients connected to GET /v1/stream on this node.', () => streamClients()),
    streamClientsDropped: (() => {
      const counter = new Counter({
        name: 'switchboard_stream_clients_dropped_total',
        help: 'Stream clients disconnected, by reason: behind (more than SWITCHBOARD_STREAM_MAX_BUFFER_BYTES waited for them), stalled (their connection did not drain for SWITCHBOARD_STREAM_STALL_SEC: they stopped reading). They resume from the log when they reconnect.',
        labelNames: ['reason'] as const,
        registers: [registry],
      });
      // Both series from the start, at 0: a rate() needs the first one.
      for (const reason of ['behind', 'stalled']) counter.inc({ reason }, 0);
      return counter;
    })(),
    deliveryCircuitsOpen: sampled(
      'switchboard_delivery_circuits_open',
      'Destinations this worker has stopped sending to for a cool-down (they stopped answering), or is probing.',
      () => circuitsOpen(),
    ),
    /** Where the circuits gauge reads from, set by the delivery worker. */
    measureCircuits(read: () => number) {
      circuitsOpen = read;
    },
    listenConnected: (() => {
      const gauge = new Gauge({
        name: 'switchboard_listen_connected',
        help: "1 while the connection that hears other nodes' appends (PostgreSQL LISTEN) is up, 0 while it is being opened again; 1 on SQLite, which has nothing to listen for.",
        registers: [registry],
      });
      gauge.set(1);
      return gauge;
    })(),
    listenReconnects: new Counter({
      name: 'switchboard_listen_reconnects_total',
      help: "Times the connection that hears other nodes' appends (PostgreSQL LISTEN) was lost and opened again.",
      registers: [registry],
    }),
    reconcileRuns: new Counter({
      name: 'switchboard_reconcile_runs_total',
      help: "Reconcile runs and backfill steps against Convolo's call list, by kind and result (ok, failed).",
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    reconcileCalls: new Counter({
      name: 'switchboard_reconcile_calls_total',
      help: "Calls of Convolo's call list, by outcome: fetched, present (end_call already here), added (the webhook never came), error (unusable item).",
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    reconcileLastRun: new Gauge({
      name: 'switchboard_reconcile_last_run_timestamp_seconds',
      help: 'When the last reconcile run on this node finished, by result.',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    /** The PostgreSQL log's lag (issue 14), set from the sequencer's status. */
    logUnsequenced: new Gauge({ name: 'switchboard_log_unsequenced_events', help: 'Events committed or in flight that the sequencer has not given a seq yet (PostgreSQL).', registers: [registry] }),
    logWatermarkLag: new Gauge({
      name: 'switchboard_log_watermark_lag_seconds',
      help: 'Age of the oldest event without a seq (PostgreSQL): how far the sequencer\'s watermark is behind.',
      registers: [registry],
    }),
    oldestTransactionAge: new Gauge({
      name: 'switchboard_db_oldest_transaction_seconds',
      help: 'Age of the oldest open transaction in the PostgreSQL cluster that holds an xid or a snapshot (it holds the watermark back).',
      registers: [registry],
    }),
    readReplayLag: new Gauge({
      name: 'switchboard_db_read_replay_lag_bytes',
      help: 'Bytes of WAL the read database (SWITCHBOARD_DB_READ_URL, a PostgreSQL hot standby) has still to replay: how far its reports are behind; NaN while it cannot be asked; 0 without one.',
      registers: [registry],
      async collect() {
        this.set(await readOrNaN(readReplayLag, readReplayLagTimeoutMs, 'the read database'));
      },
    }),
    /** Where the read database's lag gauge reads from (the storage). */
    measureReadReplayLag(read: () => Promise<number | null>) {
      readReplayLag = read;
    },
    sequencerHolder: new Gauge({ name: 'switchboard_sequencer_holder', help: '1 while this node holds the sequencer role (PostgreSQL).', registers: [registry] }),
    measureRelay(read: { streamClients: () => number; pendingDeliveries: () => Promise<number> }) {
      streamClients = read.streamClients;
      pendingDeliveries = read.pendingDeliveries;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
