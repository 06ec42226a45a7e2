#!/usr/bin/env node
// Writes test/file-durations.json, the seconds each test file took, from a vitest JSON report:
//
//   npx vitest run --reporter=json --outputFile=/tmp/times.json
//   node scripts/test-durations.mjs /tmp/times.json
//
// vitest.config.ts starts the longest files first with it, so that the workers end together.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const report = process.argv[2];
if (!report) {
  console.error('usage: node scripts/test-durations.mjs <vitest JSON report>');
  process.exit(1);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const seconds = testResults
  .map((file) => [relative(root, file.name), Math.round((file.endTime - file.startTime) / 100) / 10])
  .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
const out = fileURLToPath(new URL('../test/file-durations.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(Object.fromEntries(seconds), null, 2)}\n`);
console.log(`${out}: ${seconds.length} files, ${seconds.slice(0, 5).map(([f, s]) => `${f} ${s} s`).join(', ')}, …`);
