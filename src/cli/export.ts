import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import type { CallFilters, SwitchboardClient } from '../sdk/client.js';
import { atomicFile, type AtomicFile } from './atomic-file.js';
import { withRemote, withRemoteOptions } from './remote.js';

type Filters = Omit<CallFilters, 'cursor' | 'limit'>;

/** The call list's filters, as `switchboard export` flags (SPEC "Query API"). */
const filters = [
  ['status', 'status'], ['widgetKey', 'widget_key'], ['agentId', 'agent_id'], ['sourceId', 'source_id'], ['phone', 'phone'],
  ['from', 'from'], ['to', 'to'], ['query', 'q'],
] as const;

/**
 * `switchboard export --format csv|jsonl`: every call matching the filters, from the running server's API
 * (`GET /v1/calls.csv`, or `GET /v1/calls` page by page for JSON Lines), to a file or standard output, with
 * a progress bar on a terminal and one closing line otherwise.
 */
export function exportCommand(): Command {
  const command = withRemoteOptions(new Command('export'))
    .description('Export calls as CSV or JSON Lines (one call record per line), with the call list\'s filters.')
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(['csv', 'jsonl']).default('csv'))
    .option('--out <file>', 'Write to this file (default: standard output)')
    .option('--status <status>', 'Only calls with this status')
    .option('--widget-key <key>', 'Only this widget')
    .option('--agent-id <id>', 'Only this agent')
    .option('--source-id <id>', 'Only this source')
    .option('--phone <number>', 'Lead or called phone, by its digits')
    .option('--from <time>', 'First event at or after this ISO time')
    .option('--to <time>', 'First event before this ISO time')
    .option('-q, --query <text>', 'Free-text search');
  return command.action(async () => {
    const o = command.opts<Record<string, string | undefined> & { format: 'csv' | 'jsonl'; out?: string }>();
    const query: Filters = {};
    for (const [flag, name] of filters) if (o[flag] !== undefined) query[name] = o[flag];
    const rows = await withRemote(command, async (api) => {
      // A file appears whole or not at all: a failed export (a wrong key, a lost connection) leaves it as it was.
      if (o.out && (await stat(o.out).catch(() => null))?.isDirectory()) throw new Error(`cannot write --out ${o.out}: it is a directory`);
      const file = o.out ? atomicFile(o.out) : null;
      const out: Writable = file ? file.stream : process.stdout;
      const progress = createProgress();
      // Ctrl-C (or SIGTERM) mid-export: the temporary file goes too, then the process ends as a signal would end it.
      let stopping: Promise<void> | null = null;
      const onSignal = (signal: NodeJS.Signals) => {
        progress.stop();
        stopping = file!.discard().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      };
      if (file) process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      try {
        if (file) await opened(file, o.out!);
        const exported = await (o.format === 'csv' ? exportCsv(api, query, out, progress.update) : exportJsonl(api, query, out, progress.update));
        await file?.commit();
        return exported;
      } catch (error) {
        // The export failing because the signal's handler destroyed its file under it ("Premature close"): that
        // handler ends the process (130), this is no failure to report.
        if (stopping) await stopping;
        await file?.discard();
        // Standard output closed by what reads it (`switchboard export | head`): the end it asked for, not a failure
        // to report ("write EPIPE"); ended as a process killed by SIGPIPE is (the shell's 141), so pipefail sees it.
        if (!file && (error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(141);
        throw error;
      } finally {
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        progress.stop();
      }
    });
    process.stderr.write(`Exported ${rows} calls${o.out ? ` to ${o.out}` : ''} (${o.format}).\n`);
  });
}

/**
 * Resolves once the `--out` file's temporary file is open: a path that cannot be written fails at once, in
 * one line naming the flag, before the server is asked for anything.
 */
async function opened(file: AtomicFile, path: string): Promise<void> {
  try {
    await once(file.stream, 'open');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      ENOENT: 'its directory does not exist', ENOTDIR: 'a part of its path is not a directory', EACCES: 'permission denied',
      EPERM: 'permission denied', EROFS: 'the file system is read-only', ENOSPC: 'no space left on the device',
    };
    throw new Error(`cannot write --out ${path}: ${why[e.code ?? ''] ?? e.message}`);
  }
}

/** `GET /v1/calls.csv` to `out`; the number of calls (the records but the header). */
async function exportCsv(api: SwitchboardClient, query: Filters, out: Writable, progress: (rows: number) => void): Promise<number> {
  let rows = 0;
  const counter = csvRecordCounter((n) => progress((rows += n)));
  await pipeline(Readable.fromWeb((await api.calls.csv(query)) as WebReadableStream<Uint8Array>), counter, out, { end: out !== process.stdout });
  return Math.max(0, rows - 1); // the header
}

/** `GET /v1/calls` page by page to `out`, one call per line; the number of calls. */
async function exportJsonl(api: SwitchboardClient, query: Filters, out: Writable, progress: (rows: number) => void): Promise<number> {
  let rows = 0;
  async function* lines() {
    for (let cursor: string | undefined; ; ) {
      const page = await api.calls.list({ ...query, limit: 500, cursor });
      const text = page.data.map((call) => `${JSON.stringify(call)}\n`).join('');
      if (text !== '') yield text;
      progress((rows += page.data.length));
      if (!page.next_cursor || page.data.length === 0) break;
      cursor = page.next_cursor;
    }
  }
  // A pipeline: backpressure, and a write that fails (a full disk) rejects instead of going unheard.
  await pipeline(Readable.from(lines()), out, { end: out !== process.stdout });
  return rows;
}

/** A progress bar on a terminal (on stderr, so the export itself can go to stdout); nothing otherwise. */
function createProgress() {
  if (!process.stderr.isTTY) return { update: (_n: number) => {}, stop: () => {} };
  const bar = new SingleBar({ format: 'Exporting calls: {value} ({duration}s)', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
  bar.start(0, 0);
  return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
}

/** Passes bytes through and counts CSV records (line ends outside quoted fields), for the progress. */
function csvRecordCounter(onRecords: (n: number) => void): Transform {
  let quoted = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let records = 0;
      for (const byte of chunk) {
        if (byte === 0x22) quoted = !quoted; // a doubled quote toggles twice: no change
        else if (byte === 0x0a && !quoted) records++;
      }
      if (records > 0) onRecords(records);
      done(null, chunk);
    },
  });
}
