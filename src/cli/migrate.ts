import { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { configFlags, withConfigFlags } from './options.js';

export function migrateCommand(): Command {
  const command = new Command('migrate').description('Apply database migrations and exit.');
  return withConfigFlags(command, ['db']).action(async () => {
    const config = loadConfig(process.env, configFlags(command));
    const { openStorage } = await import('../storage/open.js');
    const storage = await openStorage(config.db);
    try {
      const applied = await storage.migrate();
      process.stdout.write(applied.length > 0 ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
    } finally {
      await storage.close();
    }
  });
}
