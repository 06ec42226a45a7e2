#!/usr/bin/env node
// The memory a node needs to relay large events: a fresh SQLite file given `count` end_call events of ~`kb` KB
// (a note field in the fixture, within the 1 MiB body limit), then `clients` stream clients replaying the whole
// log at once from since=0 (the replay reads pages of the log, SWITCHBOARD_STREAM_MAX_REPLAY_READS = 4 at a
// time). Prints the server's peak RSS (its process and threads) during the replays, as a ratio to its own RSS at
// rest after the ingest (the baseline, measured in the same run, on the same server), and both in MB.
//
//   node bench/large-events-memory.mjs [count=600] [kb=900] [clients=4]      (needs `npm run build`)
//   SWITCHBOARD_BENCH_CLI_BEFORE=<other build>/dist/cli/index.js ...        that build first, then this one
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { installExitHandlers, runCleanups } from './lib/cleanup.mjs';
import { startRssSampler } from './lib/procfs.mjs';
import { BENCH_DIR, SWITCHBOARD_CLI, startFreshSwitchboard, stopServer } from './lib/servers.mjs';
import { openStreamClients } from './lib/sse-client.mjs';

installExitHandlers();
const count = Number(process.argv[2] ?? 600);
const kb = Number(process.argv[3] ?? 900);
const clientCount = Number(process.argv[4] ?? 4);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const builds = [{ label: 'this build', cli: SWITCHBOARD_CLI }];
if (process.env.SWITCHBOARD_BENCH_CLI_BEFORE) builds.unshift({ label: 'before', cli: process.env.SWITCHBOARD_BENCH_CLI_BEFORE });
const template = JSON.parse(readFileSync(path.join(BENCH_DIR, 'fixtures', 'end_call.json'), 'utf8'));
const mb = (kib) => (kib / 1024).toFixed(0);

/** Posts `count` large events, 4 at a time. */
async function ingest(url) {
  let next = 0;
  const note = 'x'.repeat(kb * 1024);
  const post = async () => {
    for (let i = next++; i < count; i = next++) {
      const body = JSON.stringify({ ...template, call_id: `large-${i}-${Date.now()}`, note });
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, post));
}

async function measure(build) {
  const server = await startFreshSwitchboard('sqlite', { cli: build.cli });
  try {
    const t0 = performance.now();
    await ingest(server.url);
    const ingestS = (performance.now() - t0) / 1000;
    // The baseline: the same server at rest once the ingest is over (its peak over 3 s).
    await sleep(2000);
    const rest = startRssSampler(server.pid, 100);
    await sleep(3000);
    const restKb = rest.stop().maxKb;
    const sampler = startRssSampler(server.pid, 50);
    const t1 = performance.now();
    let done = 0;
    let resolveAll;
    const all = new Promise((resolve) => (resolveAll = resolve));
    const { clients, close } = await openStreamClients({
      url: `${server.baseUrl}/v1/stream?since=0`,
      headers: { authorization: `Bearer ${server.adminKey}` },
      count: clientCount,
      timeoutMs: 60_000,
      onFrame: (client, frame) => {
        if (frame.id === null || client.frames < count) return;
        if (++done === clientCount) resolveAll();
      },
    });
    let timer;
    const deadline = new Promise((resolve) => (timer = setTimeout(resolve, 600_000, 'timeout')));
    const outcome = await Promise.race([all, deadline]);
    clearTimeout(timer);
    const replayS = (performance.now() - t1) / 1000;
    close();
    const peakKb = sampler.stop().maxKb;
    if (outcome === 'timeout') throw new Error(`the replays did not end within 600 s (frames: ${clients.map((c) => c.frames).join(', ')})`);
    return { restKb, peakKb, ingestS, replayS, frames: clients.map((c) => c.frames) };
  } finally {
    await stopServer(server);
    await server.removeData();
  }
}

const rows = [];
try {
  for (const build of builds) {
    const r = await measure(build);
    const row = `| ${build.label} | ${(r.peakKb / r.restKb).toFixed(2)} | ${mb(r.peakKb)} | ${mb(r.restKb)} | ${r.replayS.toFixed(1)} | ${r.ingestS.toFixed(1)} |`;
    rows.push(row);
    process.stderr.write(`${row}\n`);
  }
} finally {
  await runCleanups();
}
console.log(`${count} events of ~${kb} KB on SQLite, ${clientCount} clients replaying from since=0, ${new Date().toISOString()}:\n`);
console.log('| build | peak RSS / RSS at rest | peak RSS (MB) | at rest (MB) | replays (s) | ingest (s) |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
