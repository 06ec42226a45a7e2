import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { isUtcDay, utcDay } from '../domain/calendar.js';
import { daysOf } from '../reconcile/reconciler.js';
import type { SwitchboardClient } from '../sdk/client.js';
import { print, withRemote, withRemoteOptions } from './remote.js';

/** Where a backfill stands: saved after every step, so a run stopped anyhow resumes from here. */
export interface BackfillState {
  source: string;
  from: string;
  to: string;
  /** The day (`YYYY-MM-DD`) and page to ask for next. */
  day: string;
  page: number;
  totals: { fetched: number; present: number; added: number; errors: number };
}

export interface BackfillSummary extends BackfillState {
  done: boolean;
  /** Why it stopped before the end: the call list's error of the last step, or an interruption. */
  stoppedBy: string | null;
  resumed: boolean;
}

/**
 * Pages through Convolo's call list from `from` to `to` a day at a time, each step asked of the running
 * server (`POST /v1/sources/{id}/backfill`, which appends what is missing: the server stays the only
 * writer), saving the cursor after each step in `statePath`. A state file for the same source and range is
 * resumed; a step repeated after an interruption adds nothing twice (calls already ended are left alone).
 */
export async function runBackfill(options: {
  api: SwitchboardClient;
  source: string;
  from: string;
  to: string;
  statePath: string;
  pagesPerStep?: number;
  onProgress?: (state: BackfillState, daysDone: number, days: number) => void;
  shouldStop?: () => boolean;
}): Promise<BackfillSummary> {
  const { api, source, from, to, statePath } = options;
  const days = daysOf(from, to);
  if (days.length === 0) throw new Error(`--from ${from} is after --to ${to}`);
  const saved = await readState(statePath);
  const resumed = saved !== null && saved.source === source && saved.from === from && saved.to === to;
  const state: BackfillState = resumed ? saved : { source, from, to, day: from, page: 1, totals: { fetched: 0, present: 0, added: 0, errors: 0 } };
  let stoppedBy: string | null = null;
  for (let d = days.indexOf(state.day); d >= 0 && d < days.length; ) {
    options.onProgress?.(state, d, days.length);
    if (options.shouldStop?.()) {
      stoppedBy = 'interrupted';
      break;
    }
    const step = await api.sources.backfill(source, { date_from: state.day, date_to: state.day, page: state.page, pages: options.pagesPerStep ?? 10 });
    const { run } = step;
    state.totals.fetched += run.fetched;
    state.totals.present += run.already_present;
    state.totals.added += run.added;
    state.totals.errors += run.errors;
    if (run.error) {
      // The same step again next time: what it added is then already present.
      stoppedBy = `${run.error.code}${run.error.status ? ` (HTTP ${run.error.status})` : ''}${run.error.detail ? `: ${run.error.detail}` : ''}`;
      await saveState(statePath, state);
      break;
    }
    if (step.next_page !== null) state.page = step.next_page;
    else {
      d++;
      state.day = d < days.length ? days[d]! : utcDay(Date.parse(`${to}T00:00:00Z`) + 86_400_000);
      state.page = 1;
    }
    await saveState(statePath, state);
  }
  const done = stoppedBy === null;
  if (done) {
    options.onProgress?.(state, days.length, days.length);
    await rm(statePath, { force: true });
  }
  return { ...state, done, stoppedBy, resumed };
}

async function readState(path: string): Promise<BackfillState | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BackfillState;
  } catch {
    return null;
  }
}

/** Written beside and renamed over: a kill mid-write leaves the previous cursor whole. */
async function saveState(path: string, state: BackfillState): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(state));
  await rename(`${path}.tmp`, path);
}

export function backfillCommand(): Command {
  const command = withRemoteOptions(new Command('backfill'))
    .description("Import a past range from Convolo's call list API (the source needs a Convolo key: sources set-convolo), through the running Switchboard. Resumable: run it again after Ctrl-C.")
    .requiredOption('--source <id>', 'Source id (src_…)')
    .requiredOption('--from <date>', 'First day, YYYY-MM-DD (UTC)')
    .option('--to <date>', 'Last day, YYYY-MM-DD (default: today, UTC)')
    .option('--state <file>', 'Where the cursor is kept between runs (default: ./.switchboard-backfill-<source>.json)');
  return command.action(async () => {
    const o = command.opts<{ source: string; from: string; to?: string; state?: string }>();
    const to = o.to ?? utcDay(Date.now());
    for (const [flag, value] of [['--from', o.from], ['--to', to]] as const) {
      if (!isUtcDay(value)) throw new Error(`${flag} must be a day as YYYY-MM-DD, got "${value}"`);
    }
    const statePath = o.state ?? `.switchboard-backfill-${o.source.replace(/[^A-Za-z0-9_-]/g, '_')}.json`;
    let stop = false;
    const onSigint = () => {
      if (stop) process.exit(130);
      stop = true;
      process.stderr.write('\nStopping after the current step (Ctrl-C again to quit at once; the cursor is saved either way)…\n');
    };
    process.on('SIGINT', onSigint);
    const bar = process.stderr.isTTY
      ? new SingleBar({ format: 'Backfill {bar} {value}/{total} days | {day} p.{page} | fetched {fetched} added {added}', stream: process.stderr, hideCursor: true }, Presets.shades_classic)
      : null;
    let started = false;
    try {
      // A step against a slow Convolo takes minutes: the server answers when it is done.
      const summary = await withRemote(command, (api) => runBackfill({
        api, source: o.source, from: o.from, to, statePath, shouldStop: () => stop,
        onProgress: (state, done, total) => {
          const payload = { day: state.day, page: state.page, fetched: state.totals.fetched, added: state.totals.added };
          if (!started) bar?.start(total, done, payload);
          else bar?.update(done, payload);
          started = true;
        },
      }), { untilDone: true });
      bar?.stop();
      print(command, summary, (s) => [
        s.done ? `Backfill of ${s.source} from ${s.from} to ${s.to} done${s.resumed ? ' (resumed)' : ''}.` : `Backfill stopped at ${s.day}, page ${s.page}: ${s.stoppedBy}. Run the same command again to resume.`,
        `  Fetched ${s.totals.fetched}, already present ${s.totals.present}, added ${s.totals.added}, errors ${s.totals.errors}.`,
      ]);
      if (!summary.done) process.exitCode = summary.stoppedBy === 'interrupted' ? 130 : 1;
    } finally {
      bar?.stop();
      process.off('SIGINT', onSigint);
    }
  });
}
