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

/**
 * The CPU ticks so far of each live process of the server, by role: its connection's application_name
 * (Switchboard names its pools: switchboard-ingest, switchboard for the sequencer and upkeep,
 * switchboard-relay, switchboard-reads, switchboard-listen), else its backend type (checkpointer, walwriter,
 * autovacuum worker, …). A process that ends between two samples is not counted: compare roles, not totals
 * (postgresTicks has those).
 */
export async function postgresTicksByRole(postmaster, url) {
  const client = new pg.Client({ connectionString: url, application_name: 'bench' });
  await client.connect();
  let names;
  try {
    const { rows } = await client.query('select pid, application_name, backend_type from pg_stat_activity');
    names = new Map(rows.map((r) => [Number(r.pid), r.application_name || r.backend_type]));
  } finally {
    await client.end();
  }
  const byPid = new Map();
  for (const pid of descendants(postmaster)) {
    const ticks = processTicks(pid)?.own;
    if (ticks !== undefined) byPid.set(pid, { role: names.get(pid) ?? 'other', ticks });
  }
  return byPid;
}

/** Ticks per role between two postgresTicksByRole samples (processes present in both). */
export function ticksByRoleBetween(before, after) {
  const byRole = {};
  for (const [pid, { role, ticks }] of after) {
    const earlier = before.get(pid);
    if (earlier) byRole[role] = (byRole[role] ?? 0) + ticks - earlier.ticks;
  }
  return byRole;
}
