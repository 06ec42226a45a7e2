import { Option, type Command } from 'commander';
import { parseErrorBody } from '../sdk/http.js';

/**
 * Commands that administer a running Switchboard talk to its HTTP API, as any other client would: the
 * server owns its database (on PostgreSQL there may be several), and the API applies every check.
 */
export interface Remote {
  call<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** The response itself, for bodies read as a stream (CSV); errors as for `call`. */
  open(method: string, path: string): Promise<Response>;
}

export function withRemoteOptions(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'Base URL of the running Switchboard').env('SWITCHBOARD_URL').default('http://127.0.0.1:8787'))
    .addOption(new Option('--key <key>', 'An API key (sbk_…); administration needs the admin scope').env('SWITCHBOARD_API_KEY'))
    .addOption(new Option('--json', 'Print the API answer as JSON'));
}

export function remoteOf(command: Command): Remote {
  const { server, key } = command.optsWithGlobals<{ server: string; key?: string }>();
  if (!key) throw new Error('an API key is needed: pass --key sbk_… or set SWITCHBOARD_API_KEY');
  return remoteAt(server, key);
}

/** The API of the Switchboard at `server`, called with `key`. */
export function remoteAt(server: string, key: string): Remote {
  const base = server.replace(/\/$/, '');

  async function open(method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new Error(`cannot reach Switchboard at ${base} (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}): is it running? (--server)`);
    }
    if (!response.ok) throw apiFailure(response.status, await response.text());
    return response;
  }

  return {
    async call(method, path, body) {
      const text = await (await open(method, path, body)).text();
      return (text === '' ? null : JSON.parse(text)) as never;
    },
    open: (method, path) => open(method, path),
  };
}

/** An API error answer as one line for the command line: `message: detail (code)`. */
export function apiFailure(status: number, body: string): Error {
  const answer = parseErrorBody(body);
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const detail = text(answer?.detail) ? `: ${text(answer?.detail)}` : '';
  return new Error(`${text(answer?.message) ?? `HTTP ${status}`}${detail} (${text(answer?.error) ?? status})`);
}

/** Prints `value` as JSON with --json, else the lines `human` makes of it. */
export function print(command: Command, value: unknown, human: (value: any) => string[]): void {
  const lines = command.optsWithGlobals<{ json?: boolean }>().json ? [JSON.stringify(value, null, 2)] : human(value);
  process.stdout.write(`${lines.join('\n')}\n`);
}
