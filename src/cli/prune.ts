import { Command, Option } from 'commander';
import { loadConfig } from '../config/index.js';
import { openStorage } from '../storage/open.js';
import { configFlags, withConfigFlags } from './options.js';

/** `switchboard prune`: deletes what is older than the retention, on the database directly (like migrate). */
export function pruneCommand(): Command {
  const command = new Command('prune').description('Delete events (with their deliveries) and calls older than the retention, and exit.');
  withConfigFlags(command, ['db', 'retentionDays']);
  command.addOption(new Option('--dry-run', 'Only say what the cut-off is'));
  return command.action(async () => {
    const config = loadConfig(process.env, configFlags(command));
    if (config.retentionDays === 0) throw new Error('no retention set: pass --retention-days N or set SWITCHBOARD_RETENTION_DAYS');
    const before = Date.now() - config.retentionDays * 86_400_000;
    if (command.opts<{ dryRun?: boolean }>().dryRun) {
      process.stdout.write(`Would delete what is older than ${new Date(before).toISOString()} (${config.retentionDays} days).\n`);
      return;
    }
    const storage = await openStorage(config.db);
    try {
      await storage.checkReady();
      const deleted = await storage.prune(before);
      process.stdout.write(`Deleted ${deleted.events} events, ${deleted.deliveries} deliveries and ${deleted.calls} calls older than ${new Date(before).toISOString()}.\n`);
    } finally {
      await storage.close();
    }
  });
}
