import { Command } from 'commander';

/** `switchboard simulate` — placeholder until the command lands (issue 5). */
export function simulateCommand(): Command {
  return new Command('simulate').description('(not built yet)').action(() => {
    throw new Error('switchboard simulate is not built yet');
  });
}
