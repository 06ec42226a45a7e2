import { Argument, Command, Option } from 'commander';
import { generatePassword } from '../domain/passwords.js';
import type { SwitchboardClient } from '../sdk/client.js';
import { withAdminOptions, withAdminTarget } from './admin-target.js';
import { print } from './remote.js';

/**
 * `switchboard users add|invite|list|role|remove|reset-password`: the people who sign in to the dashboard, through the
 * running server's API, or the database when none runs (`--local`). A password is read from standard input
 * with `--password-stdin`, else generated and printed once.
 */
export function usersCommand(): Command {
  const command = new Command('users').description('Manage the people who sign in to the dashboard (through the running Switchboard, or the database when none runs).');
  const passwordStdin = () => new Option('--password-stdin', 'Read the password from standard input (else one is generated and printed)');

  const add = withAdminOptions(new Command('add'))
    .description('Add a user; prints a generated password once unless --password-stdin.')
    .requiredOption('--email <email>', 'Their email (compared case-insensitively)')
    .addOption(new Option('--role <role>', 'viewer: reads everything; admin: also changes things').choices(['viewer', 'admin']).makeOptionMandatory())
    .option('--name <name>', 'Their name, as the dashboard shows it')
    .addOption(passwordStdin())
    .action(async () => {
      const o = add.opts<{ email: string; role: 'viewer' | 'admin'; name?: string; passwordStdin?: boolean }>();
      const { password, generated } = await passwordFor(o.passwordStdin);
      const body = { email: o.email, role: o.role, password, ...(o.name === undefined ? {} : { name: o.name }) };
      const user = await withAdminTarget(add, (api) => api.users.create(body));
      print(add, generated ? { ...user, password } : user, (u) => [
        `User ${u.id} added (${u.email}, ${u.role}).`,
        ...(generated ? [`  Password: ${password}`, '  Give it to them now: it will not be shown again (only its hash is stored).'] : []),
      ]);
    });

  const invite = withAdminOptions(new Command('invite'))
    .description('Invite a person by a one-time link (valid 7 days, once); prints the link once.')
    .requiredOption('--email <email>', 'Their email (the account gets it)')
    .addOption(new Option('--role <role>', 'viewer: reads everything; admin: also changes things').choices(['viewer', 'admin']).makeOptionMandatory())
    .action(async () => {
      const o = invite.opts<{ email: string; role: 'viewer' | 'admin' }>();
      const created = await withAdminTarget(invite, (api) => api.invitations.create({ email: o.email, role: o.role }));
      print(invite, created, (c) => [
        `Invitation ${c.id} for ${c.email} (${c.role}), valid until ${c.expires_at}:`,
        `  ${c.url}`,
        '  Give it to them now: it will not be shown again (only its hash is stored).',
      ]);
    });

  const role = withAdminOptions(new Command('role'))
    .description("Change a user's role; applies to their sessions at once (the last admin cannot be demoted).")
    .argument('<user>', 'Their id (usr_…) or email')
    .addArgument(new Argument('<role>', 'viewer or admin').choices(['viewer', 'admin']))
    .action(async (who: string, newRole: 'viewer' | 'admin') => {
      const user = await withAdminTarget(role, async (api) => api.users.setRole(await userIdOf(api, who), { role: newRole }));
      print(role, user, (u) => [`User ${u.id} (${u.email}) is now ${u.role}.`]);
    });

  const ls = withAdminOptions(new Command('list'))
    .description('List users.')
    .action(async () => {
      const answer = await withAdminTarget(ls, (api) => api.users.list());
      print(ls, answer, ({ data }) => data.map((u) => `${u.id}  ${u.role.padEnd(6)}  ${u.email}${u.name ? `  ${u.name}` : ''}`));
    });

  const remove = withAdminOptions(new Command('remove'))
    .description('Remove a user; their sessions end (the last admin cannot be removed).')
    .argument('<user>', 'Their id (usr_…) or email')
    .action(async (who: string) => {
      const id = await withAdminTarget(remove, async (api) => {
        const userId = await userIdOf(api, who);
        await api.users.remove(userId);
        return userId;
      });
      print(remove, { id, status: 'removed' }, () => [`User ${id} removed; their sessions ended.`]);
    });

  const reset = withAdminOptions(new Command('reset-password'))
    .description('Set a new password (generated and printed once unless --password-stdin); their sessions end.')
    .argument('<user>', 'Their id (usr_…) or email')
    .addOption(passwordStdin())
    .action(async (who: string) => {
      const { password, generated } = await passwordFor(reset.opts<{ passwordStdin?: boolean }>().passwordStdin);
      const id = await withAdminTarget(reset, async (api) => {
        const userId = await userIdOf(api, who);
        await api.users.resetPassword(userId, { password });
        return userId;
      });
      print(reset, generated ? { id, password } : { id }, () => [
        `Password of ${id} set; their sessions ended.`,
        ...(generated ? [`  Password: ${password}`, '  Give it to them now: it will not be shown again.'] : []),
      ]);
    });

  return command.addCommand(add).addCommand(invite).addCommand(ls).addCommand(role).addCommand(remove).addCommand(reset);
}

/** The password from standard input (its last line break dropped), or a generated one. */
async function passwordFor(fromStdin: boolean | undefined): Promise<{ password: string; generated: boolean }> {
  if (!fromStdin) return { password: generatePassword(), generated: true };
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') throw new Error('--password-stdin: standard input was empty');
  return { password, generated: false };
}

/** A user's id from their id or email (looked up in the list). */
async function userIdOf(api: SwitchboardClient, who: string): Promise<string> {
  if (!who.includes('@')) return who;
  const email = who.trim().toLowerCase();
  const { data } = await api.users.list();
  const found = data.find((u) => u.email === email);
  if (!found) throw new Error(`no user has the email ${email}`);
  return found.id;
}
