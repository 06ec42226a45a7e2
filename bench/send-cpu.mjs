#!/usr/bin/env node
// The delivery sender's own CPU per webhook (issue 14's deliveries): signed-size envelopes POSTed by
// src/relay/send.ts to bench/sink-server.mjs (its own process), 256 in flight over kept-alive connections to
// 20 destination URLs, as the relay bench's worker does. Prints this process's CPU (user + system) µs per
// send; the sink's CPU is not counted.
//
//   node bench/send-cpu.mjs [sends=20000]                       (needs `npx tsc -p tsconfig.build.json`)
//   node bench/send-cpu.mjs 10000 /tmp/base/dist   # that build and this one in one process, alternated for
//     10 rounds each (the same noise for both), then min / median per build
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const sends = Number(process.argv[2] ?? 20_000);
const other = process.argv[3];
const inFlight = 256;

const sink = spawn(process.execPath, [path.join(here, 'sink-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const [chunk] = await once(sink.stdout, 'data');
const port = Number(String(chunk).trim());
const urls = Array.from({ length: 20 }, (_, i) => `http://127.0.0.1:${port}/d/dest${i}`);
const body = JSON.stringify({ id: 'evt_x', type: 'call.ended', data: { call_id: 'c', pad: 'x'.repeat(2200) } });
const headers = { 'webhook-id': 'evt_x', 'webhook-timestamp': '1700000000', 'webhook-signature': `v1,${'A'.repeat(44)}` };

async function senderOf(dir) {
  const { createSender } = await import(pathToFileURL(path.join(path.resolve(dir), 'relay/send.js')).href);
  return createSender({ timeoutMs: 15_000, allowPrivate: true, userAgent: 'Switchboard-Webhooks/1.0' });
}

/** CPU µs per send for `n` sends, `inFlight` at a time. */
async function round(sender, n) {
  let next = 0;
  let failed = 0;
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      const result = await sender.send({ url: urls[i % urls.length], headers, body });
      if (!result.ok) failed++;
    }
  }));
  const used = process.cpuUsage(cpu);
  if (failed > 0) throw new Error(`${failed} sends failed`);
  return (used.user + used.system) / n;
}

const builds = other ? [['other', await senderOf(other)], ['this', await senderOf(path.join(here, '..', 'dist'))]] : [['this', await senderOf(path.join(here, '..', 'dist'))]];
for (const [, s] of builds) await round(s, 2000); // warm-up: connections, JIT
const results = new Map(builds.map(([name]) => [name, []]));
for (let r = 0; r < (other ? 10 : 5); r++) {
  for (const [name, s] of builds) results.get(name).push(await round(s, sends));
}
for (const [name, list] of results) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(`${name}: CPU µs per send min ${sorted[0].toFixed(1)}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} (${list.map((v) => v.toFixed(1)).join(' ')})`);
}
for (const [, s] of builds) await s.close();
sink.kill('SIGTERM');
