#!/usr/bin/env node
// The SQLite writer's JavaScript per appended event, without SQLite (issue 15 part 3): batches of 50 fresh
// end_call events (the ingest bench's fixture, a new call_id each) through the append plan — the body parsed
// again, the call merged and bounded (planAppend) — the call_after JSON and the event and call rows, as
// storage/sqlite/append.ts makes them. Prints CPU µs per event for 5 rounds of `batches` batches.
//
//   node bench/append-js-cpu.mjs [batches=400]                        (needs `npx tsc -p tsconfig.build.json`)
//   SWITCHBOARD_BENCH_DIST=/tmp/base/dist node bench/append-js-cpu.mjs  # another build
//   node bench/append-js-cpu.mjs 100 /tmp/base/dist   # that build and this one in one process, alternated for
//     20 rounds of 100 batches each (the same noise for both), then min / p25 / median per build
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, endCallBatches } from './lib/append-db.mjs';

const batches = Number(process.argv[2] ?? 400);
const other = process.argv[3];

/** The writer's JavaScript for a batch, in the build at `dir`. */
async function workOf(dir) {
  const dist = (p) => import(pathToFileURL(path.join(path.resolve(dir), p)).href);
  const plans = await dist('storage/shared/append-plan.js');
  const { toRow } = await dist('storage/shared/event-rows.js');
  const { callToRow } = await dist('storage/shared/call-rows.js');
  return (b) => {
    const plan = plans.planAppend(b, new Map(), new Map());
    // callText (each record serialised once) since issue 15's writer round, SQLite's tuple form since 2026-12-04
    // (an older build ignores the argument); callAfterJson and callToRow before it.
    const { callAfter, callRow } = plans.callText ? plans.callText(plan, 'tuple') : { callAfter: plans.callAfterJson(plan), callRow: callToRow };
    return plan.fresh.map(({ event }, i) => toRow(event, callAfter[i])).length + plan.touched.map(callRow).length;
  };
}

const { newId } = await import(pathToFileURL(path.join(DIST, 'domain/ids.js')).href);
const batch = endCallBatches(newId('src'), newId);
const builds = other ? { [other]: await workOf(other), [DIST]: await workOf(DIST) } : { [DIST]: await workOf(DIST) };
for (const work of Object.values(builds)) for (let i = 0; i < 200; i++) work(batch(50)); // warm-up
const perEvent = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
for (let round = 0; round < (other ? 20 : 5); round++) {
  for (const [name, work] of Object.entries(builds)) {
    const prepared = Array.from({ length: batches }, () => batch(50));
    const cpu0 = process.cpuUsage();
    for (const b of prepared) work(b);
    const cpu = process.cpuUsage(cpu0);
    perEvent[name].push((cpu.user + cpu.system) / (batches * 50));
    if (!other) console.log(`round ${round + 1}: ${perEvent[name].at(-1).toFixed(1)} µs CPU per event`);
  }
}
if (other) {
  for (const [name, values] of Object.entries(perEvent)) {
    const s = [...values].sort((a, b) => a - b);
    console.log(`${name}: min ${s[0].toFixed(1)}, p25 ${s[5].toFixed(1)}, median ${s[10].toFixed(1)} µs CPU per event`);
  }
}
