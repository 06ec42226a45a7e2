// The PostgreSQL server's processes as the benchmarks measure them: its postmaster, found from a backend,
// and the CPU ticks of the postmaster, its live children and the ones it reaped.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { descendants, processTicks } from './procfs.mjs';

/** The postmaster's pid: the parent of a backend of the server at `url`. */
export async function postmasterOf(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('select pg_backend_pid() as pid');
    return Number(readFileSync(`/proc/${rows[0].pid}/status`, 'utf8').match(/^PPid:\s+(\d+)/m)[1]);
  } finally {
    await client.end();
  }
}

/** The PostgreSQL server's CPU ticks so far: the postmaster, its live children and the ones it reaped. */
export function postgresTicks(postmaster) {
  const own = processTicks(postmaster);
  return own.own + own.children + descendants(postmaster).reduce((sum, pid) => sum + (processTicks(pid)?.own ?? 0), 0);
}
