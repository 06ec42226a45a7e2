import { Command, InvalidArgumentError, Option } from 'commander';
// The generator and faker (~40 MB with its locales) load when the command runs, not with every command
// (`switchboard start` registers this one too).
import type { ProgressView } from '../simulate/progress.js';
import { scenarios, type Scenario } from '../simulate/outcome.js';

/**
 * `switchboard simulate`: realistic Convolo traffic against an ingest URL (Stripe CLI's `trigger`, at
 * volume). Exits 1 when any request failed, so a script or CI step can rely on it.
 *
 * @example
 * program.addCommand(simulateCommand());
 * // switchboard simulate --to http://127.0.0.1:8787/hooks/convolo/sbt_… --calls 50 --rate 10 --seed 1 --duplicates 0.05
 */
/**
 * The most calls one run sends: 2 million requests, minutes at the ingest's rate. More ran out of the dates
 * the payloads can carry (call i starts about i × 30 s in) and, with --duplicates, spent hours planning in silence.
 */
const maxCalls = 1_000_000;

export function simulateCommand(): Command {
  const command = new Command('simulate')
    .description('Send realistic start_call/end_call pairs to a Switchboard ingest URL, and summarise the answers.')
    .option('--to <url>', 'The ingest URL (http://…/hooks/convolo/sbt_…)')
    .addOption(new Option('--calls <n>', 'How many calls (at most a million)').argParser(integer(1, maxCalls)).default(20))
    .addOption(new Option('--rate <r>', 'Calls per second (0: as fast as --concurrency allows)').argParser(number(0)).default(10))
    .addOption(new Option('--scenario <name>', 'mix (about 60 % answered, some delayed), answered, missed (none answered) or delayed').choices(scenarios).default('mix'))
    .addOption(new Option('--seed <s>', 'Seed: the same seed gives byte-identical payloads (default: random, printed)').argParser(integer(0, 2 ** 32 - 1)))
    .addOption(new Option('--start <time>', 'Base time of the payloads, ISO (call i starts about i × 30 s after it), or "now": the calls are the recent past, the last ending by now (default: 2026-01-05T08:00:00Z with --seed, else now)'))
    .addOption(new Option('--concurrency <c>', 'Requests in flight at most').argParser(integer(1, 1000)).default(8))
    .addOption(new Option('--duplicates <p>', 'Share of requests sent twice, 0–1').argParser(fraction).default(0))
    .addOption(new Option('--out-of-order <p>', 'Share of calls whose end_call goes first, 0–1').argParser(fraction).default(0))
    .option('--print', 'Print the request bodies, one JSON per line in sending order, and send nothing')
    .option('--dry-run', 'The same as --print')
    .option('--json', 'Print the summary as JSON');
  return command.action(async () => {
    const { formatSummary, planSimulation, runSimulation } = await import('../simulate/index.js');
    const { createProgress } = await import('../simulate/progress.js');
    const o = command.opts<{
      to?: string; calls: number; rate: number; scenario: Scenario; seed?: number; start?: string; concurrency: number;
      duplicates: number; outOfOrder: number; print?: boolean; dryRun?: boolean; json?: boolean;
    }>();
    const input = { calls: o.calls, scenario: o.scenario, seed: o.seed, start: o.start, duplicates: o.duplicates, outOfOrder: o.outOfOrder };
    if (o.print || o.dryRun) {
      for (const send of planSimulation(input).sends()) {
        if (!process.stdout.write(`${send.body}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      }
      return;
    }
    if (!o.to) throw new Error('say where to send: --to <ingest url> (or --print to see the payloads)');
    assertHttpUrl(o.to);
    const stop = new AbortController();
    // Ctrl-C stops sending; the answers in flight are awaited and the summary still printed.
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    // Made at the first answer, when the number of requests planned is known.
    let progress = null as ProgressView | null;
    try {
      const { summary } = await runSimulation({
        ...input, to: o.to, rate: o.rate, concurrency: o.concurrency, signal: stop.signal,
        onProgress(sent, failed, planned) {
          progress ??= createProgress({ total: planned });
          progress.update(sent, failed);
        },
      });
      progress?.stop();
      process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
      if (summary.failed > 0 || summary.sent < summary.planned) process.exitCode = 1;
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

function assertHttpUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('--to must be a URL such as http://127.0.0.1:8787/hooks/convolo/sbt_…');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--to must be an http:// or https:// URL');
}

function number(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

function fraction(value: string): number {
  return number(0, 1)(value);
}
