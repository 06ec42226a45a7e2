import { Command, Option } from 'commander';
import { loadConfig } from '../config/index.js';
import { chooseAdminTarget, withAdminOptions, withAdminTarget } from './admin-target.js';
import { configFlags, withConfigFlags } from './options.js';
import { print } from './remote.js';

/**
 * `switchboard prune`: deletes what is older than the retention. Through the running server (`POST
 * /v1/prune`) when one answers, so that it is the only writer; else on the database directly.
 */
export function pruneCommand(): Command {
  const command = withAdminOptions(new Command('prune')).description('Delete events (with their deliveries) and calls older than the retention, and exit.');
  withConfigFlags(command, ['retentionDays']);
  command.addOption(new Option('--dry-run', 'Only say what the cut-off is'));
  return command.action(async () => {
    const config = loadConfig(process.env, configFlags(command));
    const noRetention = 'no retention set: pass --retention-days N or set SWITCHBOARD_RETENTION_DAYS';
    if (command.opts<{ dryRun?: boolean }>().dryRun) {
      if (config.retentionDays === 0) throw new Error(noRetention);
      const before = Date.now() - config.retentionDays * 86_400_000;
      process.stdout.write(`Would delete what is older than ${new Date(before).toISOString()} (${config.retentionDays} days).\n`);
      return;
    }
    const target = await chooseAdminTarget(command);
    // A server may have its own retention (SWITCHBOARD_RETENTION_DAYS where it runs); the database alone has none.
    if (target.mode === 'local' && config.retentionDays === 0) throw new Error(noRetention);
    // A first retention over a large log takes minutes: the server answers when it is done.
    const deleted = await withAdminTarget(command, (api) => api.prune(config.retentionDays > 0 ? { retention_days: config.retentionDays } : {}), target, { untilDone: true });
    print(command, deleted, (d) => [
      `Deleted ${d.events} events, ${d.deliveries} deliveries and ${d.calls} calls older than ${d.before}.`,
      ...(d.undelivered > 0 ? [`${d.undelivered} of those deliveries were still pending (a paused or failing destination's): never delivered.`] : []),
    ]);
  });
}
