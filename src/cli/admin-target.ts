import { Option, type Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import { loadConfig, publicBaseUrl, type Config } from '../config/index.js';
import type { FetchLike, SwitchboardClient } from '../sdk/client.js';
import { configFlags, withConfigFlags } from './options.js';
import { fetchFor, withClient, withRemoteOptions, type RemoteOptions } from './remote.js';

/**
 * Where a command that changes data sends its requests: the running server's API whenever one runs (it owns
 * the database: a second writer beside it would compete with its commits, and on PostgreSQL there may be
 * several servers), else the database itself (first setup, recovery: a lost admin key). Both answer the
 * same API requests through the SDK's client; locally they are served in this process by the same routes
 * (`inject`), so every check and every answer is the same.
 */

type Choice = { mode: 'server'; server: string; key: string } | { mode: 'local'; config: Readonly<Config>; why: string };

/** `--server`, `--key`, `--json` (as every remote command), `--db` and `--local`. */
export function withAdminOptions(command: Command): Command {
  withConfigFlags(withRemoteOptions(command), ['db']);
  return command.addOption(new Option('--local', 'Write to the database (--db / SWITCHBOARD_DB) directly, even if a server answers (recovery)'));
}

/** How long the look for a running server waits: it is on this machine or near it. */
const probeTimeoutMs = 1500;

/**
 * `--server` (or SWITCHBOARD_URL) → that server's API; `--local` → the database; neither → the API of the
 * server that answers `/healthz` at the configured address (HOST, PORT), else the database.
 */
export async function chooseAdminTarget(command: Command): Promise<Choice> {
  const o = command.opts<{ server: string; key?: string; local?: boolean }>();
  const explicit = ['cli', 'env'].includes(command.getOptionValueSource('server') ?? '');
  if (o.local && explicit) throw new Error('--local writes to the database, --server (or SWITCHBOARD_URL) to a server: give one of them');
  const config = loadConfig(process.env, configFlags(command));
  if (o.local) return { mode: 'local', config, why: '--local' };
  const server = explicit ? o.server : publicBaseUrl({ ...config, publicUrl: '' }, config.port);
  if (!explicit && !(await answersHealthz(server))) return { mode: 'local', config, why: `no Switchboard answers at ${server}` };
  if (!o.key) {
    throw new Error(explicit
      ? 'an API key is needed: pass --key sbk_… or set SWITCHBOARD_API_KEY'
      : `a Switchboard answers at ${server}: pass an admin key (--key sbk_… or SWITCHBOARD_API_KEY), or --local to write to the database directly`);
  }
  return { mode: 'server', server, key: o.key };
}

/** Opens the target chosen, runs `use` with its API, and closes it. */
export async function withAdminTarget<T>(command: Command, use: (api: SwitchboardClient) => Promise<T>, chosen?: Choice, options: RemoteOptions = {}): Promise<T> {
  const choice = chosen ?? (await chooseAdminTarget(command));
  if (choice.mode === 'server') return withClient(choice.server, choice.key, use, fetchFor(options));
  const local = await openLocal(choice, [command.parent?.name(), command.name()].filter((n) => n && n !== 'switchboard').join(' '));
  try {
    return await withClient('http://switchboard.local', local.key, use, local.fetch);
  } finally {
    await local.close();
  }
}

async function answersHealthz(server: string): Promise<boolean> {
  try {
    const response = await fetch(`${server.replace(/\/$/, '')}/healthz`, { signal: AbortSignal.timeout(probeTimeoutMs) });
    return response.ok && ((await response.json()) as { ok?: unknown }).ok === true;
  } catch {
    return false;
  }
}

/**
 * The API served in this process over the configured database, called with an admin key made for this one
 * command and revoked when it ends (it stays listed, revoked: a trace of what was done locally). On an empty
 * database this is the first start: the default source and admin key are created and shown once, as
 * `switchboard start` would.
 */
async function openLocal({ config, why }: { config: Readonly<Config>; why: string }, command: string): Promise<{ key: string; fetch: FetchLike; close(): Promise<void> }> {
  // Loaded here, not at the top: a remote command (and --help) starts without the server's modules.
  const [{ createApp }, { createApiKey }] = await Promise.all([import('../app.js'), import('../admin/credentials.js')]);
  const app = await createApp(config, { logger: false });
  try {
    // No setup link: the command at hand may be the one that creates the first user.
    const first = await app.prepare({ setupLink: false });
    process.stderr.write(`Working on the ${app.storage.dialect} database (SWITCHBOARD_DB / --db) directly (${why}).\n`);
    if (first) {
      process.stderr.write([
        'First start: a default source and an admin API key were created. They are shown this once.',
        `  Ingest URL:   ${publicBaseUrl(config, config.port)}/hooks/convolo/${first.sourceToken}`,
        `  Admin key:    ${first.adminKey}`,
        '',
      ].join('\n'));
    }
    const { id, key } = await createApiKey(app.storage, `switchboard ${command} (command line, local)`, 'admin');
    return {
      key,
      fetch: injectFetch(app.server),
      async close() {
        try {
          await app.storage.keys.revoke(id, Date.now());
        } finally {
          await app.close();
        }
      },
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** A `fetch` answered by `server.inject`: the API's routes in this process, without a socket. */
function injectFetch(server: FastifyInstance): FetchLike {
  return async (input, init) => {
    const url = new URL(input);
    const response = await server.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: `${url.pathname}${url.search}`,
      headers: init?.headers as Record<string, string>,
      payload: init?.body as string | undefined,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of [value].flat()) if (one !== undefined) headers.append(name, String(one));
    }
    // A Response with status 204 may not have a body, not even an empty one.
    return new Response(response.rawPayload.length === 0 ? null : response.rawPayload, { status: response.statusCode, headers });
  };
}
