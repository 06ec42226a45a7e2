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
export const guard = (statementMs: number, extra = '') =>
  `-c idle_in_transaction_session_timeout=${pgGuards.idleInTransactionMs} -c statement_timeout=${statementMs}${extra}`;

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

