import { Command } from 'commander';

/** `switchboard listen` — placeholder until the command lands (issue 5). */
export function listenCommand(): Command {
  return new Command('listen').description('(not built yet)').action(() => {
    throw new Error('switchboard listen is not built yet');
  });
}
