import { randomBytes } from 'node:crypto';
import type pg from 'pg';

/**
 * Statements of the hot paths prepared once per connection (SQL `PREPARE`) and run as `EXECUTE name(…)`
 * inside a message of several statements, so that they keep travelling with BEGIN or COMMIT in one round
 * trip (the pg driver's own prepared statements take a round trip each). PostgreSQL then parses a statement
 * once, where it parsed and planned it at every run before: under load, the planning of the ingest's and the
 * sequencer's statements took as much of its CPU as running some of them (docs/benchmarks.md, 2026-12-04).
 * It plans it once too only where the plan is generic: a statement without parameters (the sequencer's), or
 * on the ingest's connections, which force generic plans (index.ts); elsewhere PostgreSQL may plan a
 * statement with parameters again at each run.
 *
 * A plan counts on the tables' sizes and statistics of its moment. PostgreSQL plans a statement again when
 * an ANALYZE of one of its tables changes them; and so does this, every `replanMs` on a connection, for a
 * database where autovacuum is off — but only where the caller says a failure cannot break a transaction of
 * its own (`mayReplan`): the old name is deallocated after the new one is prepared, outside any transaction.
 * Prepared statements outlive a rollback (they belong to the session), so one prepared inside a transaction
 * that fails stays usable.
 *
 * A pooler in transaction mode between Switchboard and PostgreSQL (PgBouncer's default) gives each
 * transaction whichever server connection is free, where a statement prepared on another does not exist.
 * The first such error (`notPrepared`) turns preparing off for the process (`noticeUnprepared`, called where
 * a transaction fails): from then on the statements are sent whole, their values inlined, as before.
 */
export function preparedStatements(replanMs: number) {
  const byClient = new WeakMap<pg.ClientBase, Map<string, { name: string; at: number }>>();

  /** The name `text` is prepared under on `client`, preparing it first when it is not (or is too old, with `mayReplan`). */
  async function prepared(client: pg.ClientBase, text: string, mayReplan: boolean, now: number): Promise<string> {
    let mine = byClient.get(client);
    if (!mine) byClient.set(client, (mine = new Map()));
    const had = mine.get(text);
    if (had && (!mayReplan || now - had.at < replanMs)) return had.name;
    const name = `switchboard_${processTag}_${++generation}`;
    await client.query(`prepare ${name} as ${text}`);
    mine.set(text, { name, at: now });
    if (had) await client.query(`deallocate ${had.name}`).catch(() => {});
    return name;
  }

  /**
   * The statement to send for `text` with these values of its parameters ($1, $2, … in order; literals,
   * escaped by the caller): `EXECUTE name(values)` of the statement prepared on `client`, or, once preparing
   * is off, `text` itself with the values in place of its parameters.
   */
  return async function execute(client: pg.ClientBase, text: string, values: string[], mayReplan: boolean, now = Date.now()): Promise<string> {
    if (!preparing.on) return values.length === 0 ? text : text.replace(/\$(\d+)\b/g, (_, n: string) => values[Number(n) - 1]!);
    const name = await prepared(client, text, mayReplan, now);
    return values.length === 0 ? `execute ${name}` : `execute ${name}(${values.join(', ')})`;
  };
}

/** Whether this process prepares its statements (see preparedStatements; also the ingest's named write). */
export const preparing = { on: true };

/** invalid_sql_statement_name: a prepared statement this connection does not have. */
export const notPrepared = '26000';

/**
 * Called with the error a transaction failed with (inTransaction): when a statement prepared on this
 * connection was missing, connections are shared by a pooler in transaction mode, and preparing is turned
 * off for the process (warned once). The caller retries as for a deadlock (the append: `notPrepared` is
 * among its retryable codes; the sequencer: at its next tick).
 */
export function noticeUnprepared(error: unknown): void {
  if ((error as { code?: string }).code !== notPrepared || !preparing.on) return;
  preparing.on = false;
  process.emitWarning(
    'PostgreSQL: a statement Switchboard prepared on a connection was gone in the next transaction (a pooler in transaction mode?); statements are no longer prepared, each is planned where it runs',
    { code: 'SWITCHBOARD_UNPREPARED' },
  );
}

/**
 * Names are unique in the process, so a statement prepared again never meets its old name; and tagged with
 * the process, so that behind a pooler, where one server connection serves several nodes in turn, two nodes'
 * statements never take the same name.
 */
let generation = 0;
const processTag = randomBytes(4).toString('hex');
