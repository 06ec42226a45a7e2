import type pg from 'pg';

/**
 * Statements of the hot paths prepared once per connection (SQL `PREPARE`) and run as `EXECUTE name(…)`
 * inside a message of several statements, so that they keep travelling with BEGIN or COMMIT in one round
 * trip (the pg driver's own prepared statements take a round trip each). PostgreSQL then parses and plans a
 * statement once, where it planned it at every run before: under load, the planning of the ingest's and the
 * sequencer's statements took as much of its CPU as running some of them (docs/benchmarks.md, 2026-12-04).
 *
 * A plan counts on the tables' sizes and statistics of its moment. PostgreSQL plans a statement again when
 * an ANALYZE of one of its tables changes them; and so does this, every `replanMs` on a connection, for a
 * database where autovacuum is off — but only where the caller says a failure cannot break a transaction of
 * its own (`mayReplan`): the old name is deallocated after the new one is prepared, outside any transaction.
 * Prepared statements outlive a rollback (they belong to the session), so one prepared inside a transaction
 * that fails stays usable.
 */
export function preparedStatements(replanMs: number) {
  const byClient = new WeakMap<pg.ClientBase, Map<string, { name: string; at: number }>>();
  /** The name `text` is prepared under on `client`, preparing it first when it is not (or is too old, with `mayReplan`). */
  return async function prepared(client: pg.ClientBase, text: string, mayReplan: boolean, now = Date.now()): Promise<string> {
    let mine = byClient.get(client);
    if (!mine) byClient.set(client, (mine = new Map()));
    const had = mine.get(text);
    if (had && (!mayReplan || now - had.at < replanMs)) return had.name;
    const name = `switchboard_${++generation}`;
    await client.query(`prepare ${name} as ${text}`);
    mine.set(text, { name, at: now });
    if (had) await client.query(`deallocate ${had.name}`).catch(() => {});
    return name;
  };
}

/** Names are unique in the process, so a statement prepared again never meets its old name. */
let generation = 0;
