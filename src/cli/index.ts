#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16 --heap-growing-percent=50
// MALLOC_ARENA_MAX=2 (also in package.json's start script and the benchmarks' servers): glibc's malloc gives
// each thread that allocates an arena of its own, up to 8 per core (the main thread, the SQLite threads, V8's
// and libuv's helpers), and each keeps what its thread freed: 2 arenas held the SQLite ingest's peak RSS
// 5–12 MB lower at the same CPU per event (docs/benchmarks.md, issue 15). Read by glibc before any code runs.
// The flags (also in package.json's start script and the benchmarks' servers): on a machine with memory to
// spare V8 lets each isolate's old generation grow to 4× what survived its last full collection, and under
// load the ingest's waiting requests are promoted into it: that, not the young generation, held the peak
// RSS (docs/benchmarks.md, issue 15). 1.5× bounds it; with it, 16 MB semi-spaces promote less and cost less
// CPU per event than 8 MB did. Set at start-up, because V8 sizes its heap before any code runs.
import { Command } from 'commander';
import { destinationsCommand, replayCommand } from './destinations.js';
import { describeFailure } from './errors.js';
import { backfillCommand } from './backfill.js';
import { exportCommand } from './export.js';
import { pruneCommand } from './prune.js';
import { reprocessCommand } from './reprocess.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { sourcesCommand } from './sources.js';
import { startCommand } from './start.js';
import { simulateCommand } from './simulate.js';
import { mockConvoloCommand } from './mock-convolo.js';
import { listenCommand } from './listen.js';
import { usersCommand } from './users.js';

const program = new Command()
  .name('switchboard')
  .description("Receives Convolo's call webhooks, keeps every call, and relays them to your apps.")
  .showHelpAfterError();

program.addCommand(startCommand());
program.addCommand(migrateCommand());
program.addCommand(destinationsCommand());
program.addCommand(replayCommand());
program.addCommand(keysCommand());
program.addCommand(sourcesCommand());
program.addCommand(usersCommand());
program.addCommand(pruneCommand());
program.addCommand(exportCommand());
program.addCommand(backfillCommand());
program.addCommand(reprocessCommand());
program.addCommand(simulateCommand());
program.addCommand(mockConvoloCommand());
program.addCommand(listenCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`switchboard: ${describeFailure(error)}\n`);
  if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') console.error(error);
  process.exit(1);
}
