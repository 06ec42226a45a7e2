#!/usr/bin/env node
// What an idle deployment costs: Switchboard started on a fresh database and left alone, its CPU (and, on
// PostgreSQL, the server's: the postmaster and every backend) over `seconds` after a settling pause, as a
// fraction of a core. PostgreSQL is measured with one node and with two (the second `--role api`, without
// the sequencer's role); SQLite with one. Nothing is sent: what shows is the timers' and pollers' work.
//
//   node bench/idle-cost.mjs [seconds=10] [rounds=2]
//   SWITCHBOARD_BENCH_CLI_BEFORE=<other build>/dist/cli/index.js ...   that build too, alternating with this one
import { installExitHandlers, runCleanups } from './lib/cleanup.mjs';
import { postgresTicks, postmasterOf } from './lib/pg-procs.mjs';
import { CLOCK_TICKS, processTicks } from './lib/procfs.mjs';
import { SWITCHBOARD_CLI, openPostgres, startFreshSwitchboard, startSwitchboard, stopServer } from './lib/servers.mjs';

installExitHandlers();
const seconds = Number(process.argv[2] ?? 10), rounds = Number(process.argv[3] ?? 2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const builds = [{ label: 'this build', cli: SWITCHBOARD_CLI }];
if (process.env.SWITCHBOARD_BENCH_CLI_BEFORE) builds.unshift({ label: 'before', cli: process.env.SWITCHBOARD_BENCH_CLI_BEFORE });

/** One deployment of `build` left idle: each node's cores and PostgreSQL's. */
async function measure(build, kind, count, pgServer) {
  const first = await startFreshSwitchboard(kind, { pg: pgServer, cli: build.cli });
  const nodes = [first];
  try {
    for (let i = 1; i < count; i++) {
      nodes.push(await startSwitchboard({ db: first.db, args: ['--role', 'api'], knownIngestPath: new URL(first.url).pathname, cli: build.cli }));
    }
    const pm = kind === 'postgres' ? await postmasterOf(first.db) : null;
    await sleep(3000);
    const before = nodes.map((n) => processTicks(n.pid).own);
    const pgBefore = pm ? postgresTicks(pm) : 0;
    await sleep(seconds * 1000);
    return {
      cores: nodes.map((n, i) => (processTicks(n.pid).own - before[i]) / CLOCK_TICKS / seconds),
      pgCores: pm ? (postgresTicks(pm) - pgBefore) / CLOCK_TICKS / seconds : null,
    };
  } finally {
    for (const n of [...nodes].reverse()) await stopServer(n);
    await first.removeData();
  }
}

const pgServer = await openPostgres();
const rows = [];
try {
  for (let round = 0; round < rounds; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      for (const [kind, count] of [['sqlite', 1], ['postgres', 1], ['postgres', 2]]) {
        const { cores, pgCores } = await measure(build, kind, count, pgServer);
        const row = `| ${build.label} | ${kind} | ${count} | ${cores.map((c) => c.toFixed(3)).join(' + ')} | ${pgCores === null ? '—' : pgCores.toFixed(3)} |`;
        rows.push(row);
        process.stderr.write(`${row}\n`);
      }
    }
  }
} finally {
  await pgServer.close();
  await runCleanups();
}
console.log(`Idle ${seconds} s (after 3 s settling), cores used, ${new Date().toISOString()}:\n`);
console.log('| build | database | nodes | Switchboard (cores per node) | PostgreSQL (cores) |\n|---|---|---|---|---|');
console.log(rows.join('\n'));
