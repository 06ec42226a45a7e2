import { Command } from 'commander';

/** `switchboard mock-convolo` — placeholder until the command lands (issue 5). */
export function mockConvoloCommand(): Command {
  return new Command('mock-convolo').description('(not built yet)').action(() => {
    throw new Error('switchboard mock-convolo is not built yet');
  });
}
