import { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { configFlags, withConfigFlags } from './options.js';

export function migrateCommand(): Command {
  const command = new Command('migrate')
    .description('Apply database migrations and exit.')
    .option(
      '--compact-records',
      'PostgreSQL: from now on, store the call record beside each event in the compact form (migration 0016). Run it once no node of an earlier version runs: those read only the old form.',
    );
  return withConfigFlags(command, ['db']).action(async (options: { compactRecords?: boolean }) => {
    const config = loadConfig(process.env, configFlags(command));
    const { openStorage } = await import('../storage/open.js');
    const storage = await openStorage(config.db, { connectTimeoutMs: config.pgConnectTimeoutMs });
    try {
      const applied = await storage.migrate();
      process.stdout.write(applied.length > 0 ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
      const form = await storage.callRecordForm(options.compactRecords === true);
      if (options.compactRecords) process.stdout.write('New events store their call record in the compact form.\n');
      else if (form === 'object') {
        process.stdout.write('New events store their call record in the form earlier versions read: run `switchboard migrate --compact-records` once every node runs this version.\n');
      }
    } finally {
      await storage.close();
    }
  });
}
