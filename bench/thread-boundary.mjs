#!/usr/bin/env node
// What one batch of the ingest costs to cross to the SQLite writer thread and back, apart from SQLite (issue
// 15): batches of `size` end_call events as the ingest makes them (bodies from Buffer.concat, as Fastify
// reads them), posted to a worker that turns them back into events and answers one result per event, the
// way src/storage/sqlite/writer.ts and writer-worker.ts do: `objects` (each event cloned as an object, the
// body's backing memory copied, the results with each event's call record) against `encoded` (fields as
// arrays, the bodies in one transferred buffer, results without the call record). Prints the process's CPU
// per event (both threads) and per batch round trip.
//
//   node bench/thread-boundary.mjs [size=50] [batches=2000]      (needs `npx tsc -p tsconfig.build.json`)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { decodeBatch, encodeBatch } = await dist('storage/sqlite/batch-codec.js');
const { asBuffer } = await dist('storage/sqlite/cloned.js');

if (!isMainThread) {
  parentPort.on('message', ({ mode, batch, call }) => {
    const events = mode === 'encoded' ? decodeBatch(batch) : batch.map((e) => (e.body ? { ...e, body: asBuffer(e.body) } : e));
    const results = events.map((e, i) => ({ id: e.id, seq: i + 1, duplicate: false, ...(mode === 'encoded' ? {} : { call }) }));
    parentPort.postMessage(results);
  });
} else {
  const size = Number(process.argv[2] ?? 50);
  const batches = Number(process.argv[3] ?? 2000);
  const { newId } = await dist('domain/ids.js');
  const { parseIngestBody } = await dist('domain/parse-body.js');
  const { callEventOf, mergeCall } = await dist('domain/call.js');
  const template = readFileSync(path.join(ROOT, 'bench', 'fixtures', 'end_call.json'));
  const parsed = parseIngestBody(template, 'application/json');
  const call = mergeCall(null, 'src_x', parsed.callId, callEventOf('end_call', parsed.payload, Date.now()));
  const makeBatch = () =>
    Array.from({ length: size }, () => {
      const body = Buffer.concat([template.subarray(0, 500), template.subarray(500)]);
      return {
        id: newId('evt'), sourceId: 'src_x', callId: parsed.callId, type: 'end_call', status: 'ok', errorCode: null, errorDetail: null,
        contentType: 'application/json', body, bodyHash: 'f'.repeat(64), bodySize: body.length, bodyTruncated: false, receivedAt: Date.now(),
      };
    });
  const worker = new Worker(fileURLToPath(import.meta.url));
  const roundTrip = (mode, batch) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      if (mode === 'encoded') {
        const encoded = encodeBatch(batch);
        worker.postMessage({ mode, batch: encoded }, [encoded.bodies]);
      } else {
        worker.postMessage({ mode, batch, call });
      }
    });
  const prepared = Array.from({ length: 50 }, makeBatch);
  for (const mode of ['objects', 'encoded', 'objects', 'encoded']) {
    for (let i = 0; i < 200; i++) await roundTrip(mode, prepared[i % prepared.length]); // warm-up
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < batches; i++) await roundTrip(mode, prepared[i % prepared.length]);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    const us = cpu.user + cpu.system;
    console.log(`${mode.padEnd(8)} ${(us / (batches * size)).toFixed(2)} µs CPU per event, ${(us / batches).toFixed(0)} µs per batch of ${size}, ${((wall * 1000) / batches).toFixed(0)} µs wall per round trip`);
  }
  await worker.terminate();
}
