import pg from 'pg';

// bigint (int8) arrives as a string by default; our bigints are epoch milliseconds and sequence numbers,
// all far below 2^53, so numbers are exact.
export const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Time limits every Switchboard connection carries (issue 14): a transaction left open anywhere in the
 * cluster holds the sequencer's watermark, and so every later event, back. An idle one is ended by the
 * server after `idleInTransactionMs`; a statement of the hot paths after `hotStatementMs`. Migrations and
 * pruning (the main pool) may rightly run long: only the idle limit applies to them.
 */
export const pgGuards = { idleInTransactionMs: 30_000, hotStatementMs: 30_000 };

/**
 * A pool's time limits: the server's (above: `statementMs`, 0 for none), and the client's own, for a database
 * that accepts connections and stops answering (a hung server, a black-holed failover address), which ends no
 * statement and refuses no connection: a wait for a connection ends after `connectMs`
 * (SWITCHBOARD_PG_CONNECT_TIMEOUT_MS), and a statement still unanswered `connectMs` after the server's own limit
 * would have ended it fails (no answer will come) — without them, every request on such a pool waited for ever.
 * `extra`: more settings for the sessions.
 */
export function poolLimits(statementMs: number, connectMs: number, extra = ''): Pick<pg.PoolConfig, 'options' | 'connectionTimeoutMillis' | 'query_timeout'> {
  return {
    options: `-c idle_in_transaction_session_timeout=${pgGuards.idleInTransactionMs} -c statement_timeout=${statementMs}${extra}`,
    connectionTimeoutMillis: connectMs,
    ...(statementMs > 0 ? { query_timeout: statementMs + connectMs } : {}),
  };
}

/** A pool whose clients losing their connection fail their queries (answered 503) instead of the process. */
export function openPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  // An idle client that loses its connection emits 'error'; without a listener it would crash the process.
  pool.on('error', () => {});
  // A client in use when its connection drops (the database restarts, the network cuts) errors its query
  // and also emits 'error', which the pool listens for only while the client is idle: without this, one
  // query in flight at that moment would crash the process instead of failing.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

