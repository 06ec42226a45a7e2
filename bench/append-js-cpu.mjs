#!/usr/bin/env node
// The SQLite writer's JavaScript per appended event, without SQLite (issue 15 part 3): batches of 50 fresh
// end_call events (the ingest bench's fixture, a new call_id each) through the append plan — the body parsed
// again, the call merged and bounded (planAppend) — the call_after JSON and the event and call rows, as
// storage/sqlite/append.ts makes them. Prints CPU µs per event for 5 rounds of `batches` batches.
//
//   node bench/append-js-cpu.mjs [batches=400]                        (needs `npx tsc -p tsconfig.build.json`)
//   SWITCHBOARD_BENCH_DIST=/tmp/base/dist node bench/append-js-cpu.mjs  # another build
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.resolve(process.env.SWITCHBOARD_BENCH_DIST ?? path.join(ROOT, 'dist'));
const dist = (p) => import(pathToFileURL(path.join(DIST, p)).href);
const batches = Number(process.argv[2] ?? 400);

const plans = await dist('storage/shared/append-plan.js');
const { planAppend } = plans;
const { toRow } = await dist('storage/shared/event-rows.js');
const { callToRow } = await dist('storage/shared/call-rows.js');
const { newId } = await dist('domain/ids.js');
const template = readFileSync(path.join(ROOT, 'bench', 'fixtures', 'end_call.json'), 'utf8');
const prefix = randomBytes(9).toString('hex');
const sourceId = newId('src');
let n = 0;
const batch = () =>
  Array.from({ length: 50 }, () => {
    const callId = `${prefix}${String(n++).padStart(14, '0')}`;
    const body = Buffer.from(template.replace(/("call_id"\s*:\s*")[^"]*(")/, `$1${callId}$2`));
    return {
      id: newId('evt'), sourceId, callId, type: 'end_call', status: 'ok', errorCode: null, errorDetail: null, contentType: 'application/json',
      body, bodyHash: createHash('sha256').update(body).digest('hex'), bodySize: body.length, bodyTruncated: false, receivedAt: Date.now(),
    };
  });
const work = (b) => {
  const plan = planAppend(b, new Map(), new Map());
  // callText (each record serialised once) since issue 15's writer round; callAfterJson and callToRow before it.
  const { callAfter, callRow } = plans.callText ? plans.callText(plan) : { callAfter: plans.callAfterJson(plan), callRow: callToRow };
  return plan.fresh.map(({ event }, i) => toRow(event, callAfter[i])).length + plan.touched.map(callRow).length;
};
for (let i = 0; i < 200; i++) work(batch()); // warm-up
for (let round = 0; round < 5; round++) {
  const prepared = Array.from({ length: batches }, batch);
  const cpu0 = process.cpuUsage();
  for (const b of prepared) work(b);
  const cpu = process.cpuUsage(cpu0);
  console.log(`round ${round + 1}: ${((cpu.user + cpu.system) / (batches * 50)).toFixed(1)} µs CPU per event`);
}
