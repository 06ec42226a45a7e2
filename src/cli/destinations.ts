import { Command, InvalidArgumentError } from 'commander';
import { print, withRemote, withRemoteOptions } from './remote.js';

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);
const header = (value: string, previous: Record<string, string> = {}) => {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new Error(`a header is "Name: value", got "${value}"`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
};

/** A whole number from 1 to `max`, as the API takes it (anything else was sent as null: no limit at all). */
const wholeUpTo = (max: number, refusal: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(refusal);
  return n;
};
/** `rate_limit_per_sec` and `max_concurrency`: both hold for all the workers on the database together. */
const rateLimit = wholeUpTo(10_000, '--rate-limit must be a whole number from 1 to 10000 (webhooks per second).');
const maxConcurrency = wholeUpTo(1000, '--max-concurrency must be a whole number from 1 to 1000 (requests in flight at once).');

/** `switchboard destinations add|list|test`: outbound webhooks, through the running server's API. */
export function destinationsCommand(): Command {
  const command = new Command('destinations').description('Manage outbound webhook destinations on a running Switchboard.');

  const add = withRemoteOptions(new Command('add'))
    .description('Add a destination; prints its signing secret (whsec_…) once.')
    .requiredOption('--url <url>', 'Where to POST the webhooks')
    .option('--description <text>', 'What it is for')
    .option('--event-types <list>', 'Only these envelope types (comma-separated), e.g. call.started,call.ended', list)
    .option('--widget-keys <list>', 'Only calls of these widgets (comma-separated)', list)
    .option('--call-statuses <list>', 'Only calls with these statuses (comma-separated), e.g. answered', list)
    .option('--header <name: value>', 'An extra request header (repeatable)', header)
    .option('--rate-limit <per-second>', 'At most this many webhooks per second (1–10000), from all the workers together', rateLimit)
    .option('--max-concurrency <requests>', 'At most this many requests in flight to it at once (1–1000), from all the workers together', maxConcurrency)
    .action(async () => {
      const o = add.opts<{ url: string; description?: string; eventTypes?: string[]; widgetKeys?: string[]; callStatuses?: string[]; header?: Record<string, string>; rateLimit?: number; maxConcurrency?: number }>();
      const created = await withRemote(add, (api) => api.destinations.create({
        url: o.url, description: o.description, event_types: o.eventTypes, widget_keys: o.widgetKeys, call_statuses: o.callStatuses,
        headers: o.header, rate_limit_per_sec: o.rateLimit, max_concurrency: o.maxConcurrency,
      }));
      print(add, created, (d) => [
        `Destination ${d.id} added: ${d.url}`,
        `  Signing secret: ${d.secret}`,
        '  Verify each webhook with it (Standard Webhooks: the standardwebhooks or svix libraries).',
      ]);
    });

  const ls = withRemoteOptions(new Command('list'))
    .description('List destinations.')
    .action(async () => {
      const answer = await withRemote(ls, (api) => api.destinations.list());
      print(ls, answer, ({ data }) =>
        data.length === 0 ? ['No destinations yet: add one with `switchboard destinations add --url …`.']
        : data.map((d) => `${d.id}  ${d.disabled_at ? `disabled (${d.disabled_reason})` : d.status}  ${d.url}${d.event_types ? `  [${d.event_types.join(', ')}]` : ''}`),
      );
    });

  const test = withRemoteOptions(new Command('test'))
    .description('Send a signed switchboard.test event to a destination now and show its answer.')
    .argument('<id>', 'Destination id (dst_…)')
    .action(async (id: string) => {
      const r = await withRemote(test, (api) => api.destinations.test(id));
      print(test, r, (a) => [
        a.ok ? `Delivered: ${a.status} in ${Math.round(a.latency_ms)} ms` : `Failed: ${a.error ?? `answered ${a.status}`}`,
        ...(a.response_body ? [`  Response: ${String(a.response_body).slice(0, 200)}`] : []),
      ]);
      if (!r.ok) process.exitCode = 1;
    });

  return command.addCommand(add).addCommand(ls).addCommand(test);
}

/** `switchboard replay`: send past events to a destination again. */
export function replayCommand(): Command {
  const command = withRemoteOptions(new Command('replay'))
    .description('Queue past events again for a destination (all in a time range, or only those whose delivery failed).')
    .requiredOption('--destination <id>', 'Destination id (dst_…)')
    .option('--since <time>', 'From this ISO time on')
    .option('--until <time>', 'Before this ISO time')
    .option('--only-failed', 'Only events whose delivery to it failed')
    .action(async () => {
      const o = command.opts<{ destination: string; since?: string; until?: string; onlyFailed?: boolean }>();
      // A walk of a large log takes minutes: the server answers when it is done.
      const r = await withRemote(command, (api) => api.destinations.replay(o.destination, { since: o.since, until: o.until, only_failed: o.onlyFailed }), { untilDone: true });
      print(command, r, (a) => [`Queued ${a.queued} deliveries for ${o.destination}.`]);
    });
  return command;
}
