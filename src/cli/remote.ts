import { Option, type Command } from 'commander';
import { createClient, SwitchboardApiError, type FetchLike, type SwitchboardClient } from '../sdk/client.js';

/**
 * Commands that administer a running Switchboard talk to its HTTP API through the SDK's client, as any other
 * client would: the server owns its database (on PostgreSQL there may be several), and the API applies every
 * check. What is left here is the command line's side: the flags, and a failure as one line.
 */

export function withRemoteOptions(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'Base URL of the running Switchboard').env('SWITCHBOARD_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--key <key>', 'An API key (sbk_…); administration needs the admin scope').env('SWITCHBOARD_API_KEY'))
    .addOption(new Option('--json', 'Print the API answer as JSON'));
}

export interface RemoteOptions {
  /**
   * The server answers once its work is done (a prune, a reprocess of the whole quarantine, a replay, a backfill
   * step): minutes over a large log. Such requests wait for their answer as long as it takes; others keep Node's
   * limits (undici's: 300 s for the headers, 300 s between parts of the body), which would end these with
   * "cannot reach Switchboard" while the server goes on.
   */
  untilDone?: boolean;
}

/** Runs `use` with the client of `--server` and `--key`; a failed call rejects with the line to print. */
export async function withRemote<T>(command: Command, use: (api: SwitchboardClient) => Promise<T>, options: RemoteOptions = {}): Promise<T> {
  const { server, key } = command.optsWithGlobals<{ server: string; key?: string }>();
  if (!key) throw new Error('an API key is needed: pass --key sbk_… or set SWITCHBOARD_API_KEY');
  return withClient(server, key, use, fetchFor(options));
}

/** The `fetch` for requests of `options`: undefined (the global one, its limits) unless they run until done. */
export function fetchFor(options: RemoteOptions): FetchLike | undefined {
  return options.untilDone ? fetchUntilDone : undefined;
}

/** One dispatcher without limits on the wait for an answer, made on the first request that needs it. */
let unlimited: Promise<unknown> | undefined;

/** The global `fetch` through an undici Agent that waits for headers and body as long as they take. */
const fetchUntilDone: FetchLike = async (input, init) => {
  // Loaded here, not at the top: the other commands start without it.
  unlimited ??= import('undici').then(({ Agent }) => new Agent({ headersTimeout: 0, bodyTimeout: 0 }));
  return fetch(input, { ...init, dispatcher: await unlimited } as RequestInit);
};

/**
 * Runs `use` with the SDK client of the API at `server` (over `fetch`: the default, or one answered in this
 * process), and turns its `SwitchboardApiError` into the line the command line prints.
 */
export async function withClient<T>(server: string, key: string, use: (api: SwitchboardClient) => Promise<T>, fetch?: FetchLike): Promise<T> {
  const baseUrl = server.replace(/\/$/, '');
  try {
    return await use(createClient({ baseUrl, apiKey: key, fetch }));
  } catch (error) {
    throw error instanceof SwitchboardApiError ? commandLineFailure(error, baseUrl) : error;
  }
}

/**
 * An SDK error as one line: the server's `message: detail (code)` (`HTTP <status> (<status>)` for an answer
 * that is not ours), or, when no answer came, what to check.
 */
function commandLineFailure(error: SwitchboardApiError, baseUrl: string): Error {
  if (error.status === 0) {
    const failure = error.cause as Error; // what fetch threw; its cause is the socket's error
    const reason = failure.cause instanceof Error ? failure.cause.message : failure.message;
    return new Error(`cannot reach Switchboard at ${baseUrl} (${reason}): is it running? (--server)`);
  }
  const notOurs = error.code === `http_${error.status}`;
  // The SDK appends ` (detail)` to the server's message; the command line reads `message: detail`.
  const message = error.detail ? error.message.slice(0, -` (${error.detail})`.length) : error.message;
  const text = message === `Switchboard answered HTTP ${error.status}` ? `HTTP ${error.status}` : message;
  return new Error(`${text}${error.detail ? `: ${error.detail}` : ''} (${notOurs ? error.status : error.code})`);
}

/** Prints `value` as JSON with --json, else the lines `human` makes of it. */
export function print<T>(command: Command, value: T, human: (value: T) => string[]): void {
  const lines = command.optsWithGlobals<{ json?: boolean }>().json ? [JSON.stringify(value, null, 2)] : human(value);
  process.stdout.write(`${lines.join('\n')}\n`);
}
