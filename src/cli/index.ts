#!/usr/bin/env -S node --max-semi-space-size=8
// The flag (also in package.json's start script): V8 lets the young generation grow to 16 MB per
// semi-space under load, ~40 MB of RSS for no measurable throughput; 8 MB keeps the server within its
// memory budget (README, "Benchmarks"). Set at start-up, because V8 sizes its heap before any code runs.
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
