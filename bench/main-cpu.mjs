#!/usr/bin/env node
// The main thread's CPU per ingest request without the network (issue 15): the app of a build (createApp on a
// fresh SQLite file, the production flags' defaults), `requests` POST /hooks/convolo/<token> of the ingest
// bench's fixture (a fresh call_id each) through Fastify's inject, `concurrency` at a time so that group
// commits batch as under load. Prints the main thread's CPU per request (user + system of this thread from
// /proc, so neither the writer thread nor V8's helpers count), the whole process's, and requests/s, as one
// JSON line. Fastify's hooks, the route, the ingest's parse and the hand-off to the writer are all here;
// llhttp and the socket writes are not. Deterministic enough to compare builds alternately where wrk is not.
//
//   node bench/main-cpu.mjs [requests=20000] [concurrency=50]      (needs `npx tsc -p tsconfig.build.json`)
//   SWITCHBOARD_BENCH_DIST=/tmp/base/dist node bench/main-cpu.mjs  # another build
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.resolve(process.env.SWITCHBOARD_BENCH_DIST ?? path.join(ROOT, 'dist'));
const dist = (p) => import(pathToFileURL(path.join(DIST, p)).href);
const requests = Number(process.argv[2] ?? 20000);
const concurrency = Number(process.argv[3] ?? 50);

const { createApp } = await dist('app.js');
const { loadConfig } = await dist('config/index.js');

/** CPU ticks of this process's main thread (tid = pid) and of the whole process. */
const ticks = (file) => {
  const f = readFileSync(file, 'utf8').slice(readFileSync(file, 'utf8').lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const mainTicks = () => ticks(`/proc/self/task/${process.pid}/stat`);
const processTicks = () => ticks('/proc/self/stat');

const dir = mkdtempSync(path.join(os.tmpdir(), 'sb-main-cpu-'));
try {
  const app = await createApp(loadConfig({}, { db: `sqlite:${path.join(dir, 'a.db')}`, host: '127.0.0.1', port: 0, logLevel: 'silent' }), { logger: false });
  const first = await app.prepare({ setupLink: false });
  const url = `/hooks/convolo/${first.sourceToken}`;
  const template = readFileSync(path.join(ROOT, 'bench', 'fixtures', 'end_call.json'), 'utf8');
  const prefix = Math.random().toString(36).slice(2);
  let n = 0;
  const post = () => {
    const body = template.replace(/"call_id"\s*:\s*"[^"]*"/, `"call_id":"${prefix}-${n++}"`);
    return app.server.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
  };
  const run = async (count) => {
    let left = count;
    let failed = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) if ((await post()).statusCode !== 200) failed++;
      }),
    );
    return failed;
  };
  await run(Math.min(5000, requests)); // warm-up: JIT, caches, the writer thread
  const m0 = mainTicks();
  const p0 = processTicks();
  const t0 = performance.now();
  const failed = await run(requests);
  const seconds = (performance.now() - t0) / 1000;
  const us = (t) => Math.round((t * 10_000) / requests); // ticks are 10 ms (CLK_TCK 100)
  process.stdout.write(
    `${JSON.stringify({ build: path.relative(process.cwd(), DIST), requests, concurrency, mainUsPerRequest: us(mainTicks() - m0), processUsPerRequest: us(processTicks() - p0), rps: Math.round(requests / seconds), failed })}\n`,
  );
  await app.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
