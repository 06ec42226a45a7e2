#!/usr/bin/env node
import { Command } from 'commander';
import { migrateCommand } from './migrate.js';
import { startCommand } from './start.js';

const program = new Command()
  .name('switchboard')
  .description("Receives Convolo's call webhooks, keeps every call, and relays them to your apps.")
  .showHelpAfterError();

program.addCommand(startCommand());
program.addCommand(migrateCommand());

await program.parseAsync(process.argv);
