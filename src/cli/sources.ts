import { Command } from 'commander';
import { withAdminOptions, withAdminTarget } from './admin-target.js';
import { print } from './remote.js';

/** `switchboard sources create|list|rotate`: webhook sources (Convolo accounts), through the running server's API, or the database when none runs. */
export function sourcesCommand(): Command {
  const command = new Command('sources').description('Manage webhook sources (their ingest URLs), through the running Switchboard or the database when none runs.');

  const create = withAdminOptions(new Command('create'))
    .description('Create a source; prints its ingest URL, which holds its token, once.')
    .requiredOption('--name <name>', 'What it is, e.g. the Convolo account')
    .action(async () => {
      const o = create.opts<{ name: string }>();
      const created = await withAdminTarget(create, (api) => api.sources.create({ name: o.name }));
      print(create, created, (s) => [
        `Source ${s.id} created ("${s.name}").`,
        `  Ingest URL: ${s.ingest_url}`,
        "  Set it as the webhook URL in Convolo. Keep it now: it will not be shown again (only its token's hash is stored).",
      ]);
    });

  const ls = withAdminOptions(new Command('list'))
    .description('List sources (token hints only).')
    .action(async () => {
      const answer = await withAdminTarget(ls, (api) => api.sources.list());
      print(ls, answer, ({ data }) =>
        data.map((s) => {
          const state = s.status === 'revoked' ? `revoked ${s.revoked_at}` : s.previous_token_expires_at ? `active (previous token until ${s.previous_token_expires_at})` : 'active';
          return `${s.id}  ${state}  ${s.token_hint}  ${s.name}`;
        }),
      );
    });

  const rotate = withAdminOptions(new Command('rotate'))
    .description('Give a source a new token; the old one keeps working for 24 hours.')
    .argument('<id>', 'Source id (src_…)')
    .action(async (id: string) => {
      const rotated = await withAdminTarget(rotate, (api) => api.sources.rotate(id));
      print(rotate, rotated, (s) => [
        `Source ${s.id} has a new token.`,
        `  Ingest URL: ${s.ingest_url}`,
        `  The old URL keeps working until ${s.previous_token_expires_at}: update Convolo before then.`,
        '  Keep it now: it will not be shown again.',
      ]);
    });

  return command.addCommand(create).addCommand(ls).addCommand(rotate);
}
