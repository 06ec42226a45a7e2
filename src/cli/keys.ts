import { Command, Option } from 'commander';
import { withAdminOptions, withAdminTarget } from './admin-target.js';
import { print } from './remote.js';

/** `switchboard keys create|list|revoke`: API keys, through the running server's API, or the database when none runs. */
export function keysCommand(): Command {
  const command = new Command('keys').description('Manage API keys (through the running Switchboard, or the database when none runs).');

  const create = withAdminOptions(new Command('create'))
    .description('Create an API key; prints it (sbk_…) once.')
    .requiredOption('--name <name>', 'What the key is for, e.g. "CRM sync"')
    .addOption(new Option('--scope <scope>', 'read: the query API and the stream; admin: everything').choices(['read', 'admin']).default('read'))
    .action(async () => {
      const o = create.opts<{ name: string; scope: 'read' | 'admin' }>();
      const created = await withAdminTarget(create, (api) => api.keys.create({ name: o.name, scope: o.scope }));
      print(create, created, (k) => [
        `API key ${k.id} created ("${k.name}", scope ${k.scope}):`,
        `  ${k.key}`,
        '  Keep it now: it will not be shown again (only its hash is stored).',
      ]);
    });

  const ls = withAdminOptions(new Command('list'))
    .description('List API keys (hints only: keys are never shown again).')
    .action(async () => {
      const answer = await withAdminTarget(ls, (api) => api.keys.list());
      print(ls, answer, ({ data }) =>
        data.map((k) => `${k.id}  ${k.scope.padEnd(5)}  ${k.status === 'revoked' ? `revoked ${k.revoked_at}` : 'active'}  ${k.key_hint}  ${k.name}`),
      );
    });

  const revoke = withAdminOptions(new Command('revoke'))
    .description('Revoke an API key: it stops working at once on the server asked, within 5 s on the others.')
    .argument('<id>', 'API key id (key_…)')
    .action(async (id: string) => {
      await withAdminTarget(revoke, (api) => api.keys.revoke(id));
      print(revoke, { id, status: 'revoked' }, () => [`API key ${id} revoked.`]);
    });

  return command.addCommand(create).addCommand(ls).addCommand(revoke);
}
