import { Command, Option } from 'commander';
import { createClient, SwitchboardApiError, type FetchLike } from '../sdk/client.js';
import { subscribe } from '../sdk/subscribe.js';
import { createForwarder } from './listen-forward.js';
import { defaultCursorPath, localSecret, normalizeUrl, readCursor, writeCursor, type StreamIdentity } from './listen-state.js';

/**
 * The command's flags.
 *
 * @example
 * const options: ListenOptions = { from: 'https://sb.example.com', key: 'sbk_…', forwardTo: 'http://localhost:3000/hooks', types: [], since: 'now' };
 */
export interface ListenOptions {
  from: string;
  key: string;
  forwardTo: string;
  types: string[];
  widgetKey?: string;
  sourceId?: string;
  /** First run only: `now`, `beginning`, or a seq to start after. */
  since: string;
  cursorFile?: string;
  secret?: string;
}

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

/**
 * `switchboard listen`: follows a Switchboard's stream and re-posts each event, signed, to a local app
 * (Stripe CLI's `listen`, but with a cursor on disk, so events that arrive while it is stopped are
 * forwarded when it starts again).
 *
 * @example
 * // switchboard listen --from https://sb.example.com --key sbk_… --forward-to http://localhost:3000/webhooks
 * program.addCommand(listenCommand());
 */
export function listenCommand(): Command {
  const command = new Command('listen')
    .description('Forward a Switchboard\'s events to a local app, signed, resuming where it stopped after a restart.')
    .addOption(new Option('--from <url>', 'Base URL of the Switchboard to follow').env('SWITCHBOARD_URL').makeOptionMandatory())
    .addOption(new Option('--key <key>', 'An API key (sbk_…, read scope is enough)').env('SWITCHBOARD_API_KEY'))
    .requiredOption('--forward-to <url>', 'Local URL to POST each event to')
    .addOption(new Option('--types <list>', 'Only these event types (comma-separated), e.g. call.started,call.ended').argParser(list).default([], 'all'))
    .option('--widget-key <key>', 'Only calls of this widget')
    .option('--source-id <id>', 'Only events of this source')
    .option('--since <where>', 'First run only (no cursor file yet): now, beginning, or a seq to start after', 'now')
    .option('--cursor-file <path>', 'Where to keep the cursor (default: ./.switchboard/listen-<hash of URL and filters>.json)')
    .option('--secret <whsec>', 'The local signing secret (default: generated once, kept in listen-secret next to the cursor)')
    .action(async () => {
      const o = command.opts<Partial<ListenOptions>>();
      if (!o.key) throw new Error('an API key is needed: pass --key sbk_… or set SWITCHBOARD_API_KEY');
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await listen(o as ListenOptions, { signal: controller.signal, print: (line) => process.stdout.write(`${line}\n`) });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
  return command;
}

/**
 * The command's work, without the process: runs until `signal` aborts (resolves) or the key is refused
 * (rejects). The cursor moves past an event only once the local app answered it 2xx, so a restart
 * forwards it again if it was cut before that (at least once; `webhook-id` lets the app deduplicate).
 *
 * @example
 * const controller = new AbortController();
 * await listen({ from, key, forwardTo: 'http://localhost:3000/hooks', types: [], since: 'now' }, { signal: controller.signal, print: console.log });
 */
export async function listen(o: ListenOptions, io: { signal: AbortSignal; print: (line: string) => void }): Promise<void> {
  const from = normalizeUrl(urlOption('--from', o.from));
  urlOption('--forward-to', o.forwardTo); // a bad URL fails now, not at the first event
  const stream: StreamIdentity = { from, types: o.types, widgetKey: o.widgetKey, sourceId: o.sourceId };
  const cursorPath = o.cursorFile ?? defaultCursorPath(stream, process.cwd());

  const saved = readCursor(cursorPath);
  let since = saved?.lastSeq ?? null;
  /** The log the cursor is a seq of: kept with it, sent back, so that a server on another database says so. */
  let logId = saved?.logId ?? null;
  const resuming = since !== null;
  // Before anything is written: a refused key or an unreachable server leaves no files behind.
  since ??= await firstPosition(o.since, from, o.key, io.signal);
  if (since === null) {
    io.print('Stopped before the first event was looked up: nothing was written.');
    return;
  }
  const { secret, created } = localSecret(o.secret, cursorPath);
  let where: string;
  if (resuming) {
    where = `resuming after event #${since}${o.since !== 'now' ? ' (--since applies to a first run only)' : ''}`;
  } else {
    // Written now, so that events arriving before the first one is forwarded are not lost to a restart.
    writeCursor(cursorPath, stream, since, logId);
    where = o.since === 'now' ? `starting from now (after event #${since})` : `starting after event #${since}`;
  }

  io.print(`Forwarding events from ${from} to ${o.forwardTo}${o.types.length > 0 ? ` (types: ${o.types.join(', ')})` : ''}`);
  io.print(`Local signing secret: ${secret}${created ? ' (new; configure it in your app)' : ''}`);
  io.print(`Cursor: ${cursorPath}, ${where}`);
  io.print('Press Ctrl-C to stop.');

  const forwarder = createForwarder({ url: o.forwardTo, secret, signal: io.signal, print: io.print });
  let lastForwarded = since;
  /** A first run from `now` that has forwarded nothing yet: its cursor is the newest event when it started. */
  let fromNow = !resuming && o.since === 'now';
  let reconnecting = false;
  const subscription = subscribe({
    baseUrl: from,
    apiKey: o.key,
    types: o.types.length > 0 ? o.types : undefined,
    widgetKey: o.widgetKey,
    sourceId: o.sourceId,
    since,
    logId: logId ?? undefined,
    signal: io.signal,
    onConnect: (info) => {
      if (reconnecting) io.print(`Reconnected to ${from}, resuming after event #${lastForwarded}`);
      reconnecting = false;
      // The log the server named for a cursor of none known (a first run, a file of an earlier version): kept now.
      if (info.logId !== null && info.logId !== logId) {
        logId = info.logId;
        writeCursor(cursorPath, stream, lastForwarded, logId);
      }
    },
    onError: (error, info) => {
      if (info.fatal) return;
      reconnecting = true;
      const what = error.status === 0 ? error.message : `Switchboard answered ${error.status} (${error.message})`;
      io.print(`${what}; reconnecting in ${(info.retryInMs / 1000).toFixed(1)} s`);
    },
    // Not an event: nothing is forwarded, one line says what happened to the cursor.
    onGap: (gap) => {
      if (gap.reason === 'pruned' && fromNow && gap.after === lastForwarded) {
        // "Now" looked up on a log retention had emptied (no newest event: 0): the deleted events were never
        // asked for. The log goes on after them, and so does the cursor.
        writeCursor(cursorPath, stream, gap.resumed_at - 1, logId);
        lastForwarded = gap.resumed_at - 1;
        return;
      }
      if (gap.reason === 'pruned') {
        io.print(`Events #${gap.after + 1} to #${gap.resumed_at - 1} were deleted by retention before they could be forwarded (${gap.missed} missed); going on from #${gap.resumed_at}`);
        return;
      }
      if (gap.reason === 'log_replaced') {
        io.print(`${from} now serves another database (its log was replaced): its events up to #${gap.head} were not forwarded; going on from now, after #${gap.head}`);
      } else {
        io.print(`The cursor (event #${gap.after}) is past the newest event of ${from} (#${gap.head}): its database was reset or replaced; forwarding its events after #${gap.head}`);
      }
      // The server goes on after its head: a restart resumes there, in its log, not from the old database's cursor.
      logId = gap.log_id ?? logId;
      writeCursor(cursorPath, stream, gap.head, logId);
      lastForwarded = gap.head;
    },
    onEvent: async (event) => {
      if (!(await forwarder.forward(event))) return;
      writeCursor(cursorPath, stream, event.seq, logId);
      lastForwarded = event.seq;
      fromNow = false;
    },
  });
  await subscription.done;
  io.print(`Stopped. The cursor is at event #${lastForwarded}: the next start resumes after it.`);
}

function urlOption(flag: string, value: string): string {
  // "localhost:3000" parses as a URL of scheme "localhost:": only http and https can be posted to.
  const protocol = URL.canParse(value) ? new URL(value).protocol : null;
  if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`${flag} is not an http(s) URL: "${value}" (e.g. http://localhost:3000/webhooks)`);
  return value;
}

/** How long the look-up of the newest event may take (undici's own limit is 5 minutes of silence). */
const lookupTimeoutMs = 30_000;

/**
 * Where a first run starts: after the newest event for `now` (looked up, so it is on disk at once); null when
 * `signal` aborted first (Ctrl-C while the server has not answered).
 */
async function firstPosition(sinceOption: string, from: string, key: string, signal: AbortSignal): Promise<number | null> {
  if (sinceOption === 'beginning') return 0;
  if (sinceOption === 'now') {
    const timeout = AbortSignal.timeout(lookupTimeoutMs);
    const fetch: FetchLike = (input, init) => globalThis.fetch(input, { ...init, signal: AbortSignal.any([signal, timeout]) });
    let answer: unknown;
    try {
      answer = await createClient({ baseUrl: from, apiKey: key, fetch }).events.list({ limit: 1 });
    } catch (error) {
      if (signal.aborted) return null;
      if (timeout.aborted) throw new Error(`Switchboard at ${from} did not answer within ${lookupTimeoutMs / 1000} s: is --from right?`);
      // A 2xx that is not JSON (the SDK's invalid_response): said below, as any answer that is not the list.
      if (error instanceof SwitchboardApiError && error.code !== 'invalid_response') throw error;
      answer = undefined;
    }
    const data = (answer as { data?: unknown } | null | undefined)?.data;
    const seq = !Array.isArray(data) ? undefined : data.length === 0 ? 0 : (data[0] as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      throw new Error(`${from}/v1/events did not answer as a Switchboard does (its list of events): is --from right?`);
    }
    return seq;
  }
  if (/^\d{1,15}$/.test(sinceOption)) return Number(sinceOption);
  throw new Error(`--since is now, beginning or an event seq, got "${sinceOption}"`);
}
