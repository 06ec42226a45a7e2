import { Command } from 'commander';
import { withAdminOptions, withAdminTarget } from './admin-target.js';
import { print } from './remote.js';

/** `switchboard reprocess <id> | --all`: the quarantine through today's parser, via the running server's API (or the database when none runs). */
export function reprocessCommand(): Command {
  const command = withAdminOptions(new Command('reprocess'))
    .description('Reprocess quarantined requests after a fix: one (by its quarantine_id) or --all.')
    .argument('[id]', 'A quarantine record (evt_…)')
    .option('--all', 'Every quarantined request not reprocessed yet')
    .action(async (id: string | undefined) => {
      const all = command.opts<{ all?: boolean }>().all === true;
      if (!id === !all) throw new Error('give one quarantine id, or --all');
      // --all over a large quarantine takes minutes: the server answers when it is done.
      await withAdminTarget(command, async (api) => {
        if (id) {
          const r = await api.events.reprocess(id);
          print(command, r, (a) => [`${id} is now event ${a.id}${a.duplicate ? ' (a duplicate of it)' : ''}.`]);
        } else {
          const r = await api.events.reprocessAll();
          print(command, r, (a) => [`Reprocessed ${a.reprocessed}; still invalid ${a.still_invalid}; not reprocessable (body not kept whole) ${a.not_reprocessable}.`]);
        }
      }, undefined, { untilDone: all });
    });
  return command;
}
