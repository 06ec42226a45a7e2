import { Command, InvalidArgumentError, Option } from 'commander';
// The mock itself (and faker through the simulated calls) loads when the command runs, not with every
// command (`switchboard start` registers this one too).
import type { MockConvolo } from '../mock-convolo/index.js';
import { isOutcomeChoice } from '../mock-convolo/timeline.js';
import { loadWidgetFile, parseWidgetFlag, type Widget } from '../mock-convolo/widgets.js';
import { maskUrl } from '../mock-convolo/mask.js';
import { listenFailure } from './errors.js';

/**
 * `switchboard mock-convolo`: runs the local stand-in for Convolo (src/mock-convolo) until Ctrl-C.
 *
 * @example
 * // switchboard mock-convolo --port 8790 --webhook-url http://127.0.0.1:8787/hooks/convolo/sbt_…
 * program.addCommand(mockConvoloCommand());
 */
export function mockConvoloCommand(): Command {
  return new Command('mock-convolo')
    .description("Run a local stand-in for Convolo: its call API (add_call_api) and the start_call/end_call webhooks of each call it \"makes\".")
    .requiredOption('--webhook-url <url>', 'where the webhooks go (Switchboard\'s ingest URL)', webhookUrl)
    .option('--port <port>', 'port to listen on (0: any free port)', port, 8790)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--widget <key:apiKey[:name]>', 'a widget and its API key (repeatable)', (value: string, list: Widget[]) => [...list, parseWidgetFlag(value)], [] as Widget[])
    .option('--config <file>', 'widgets from a JSON file: [{ "key", "apiKey", "name"?, "userId"?, "timezone"? }]')
    .option('--legacy-format', 'no start_call, and the after-call posted as a form (Convolo with "post json in new format" off)', false)
    .addOption(new Option('--outcome <outcome>', 'outcome of each call (a request may override it with mock_outcome or an x-mock-outcome header)').choices(['answered', 'lead_not_answering', 'agent_not_answering', 'random']).default('answered'))
    .option('--time-scale <factor>', 'wall-clock seconds per simulated second (1: real time; 0: at once)', number('--time-scale'), 0.05)
    .option('--seed <n>', 'repeatable outcomes, durations, agents and lead ids (and which webhooks --drop-webhooks drops)', integer('--seed'))
    .option('--drop-webhooks <rate>', 'share of calls (0..1) whose end_call webhook is not posted; they stay in the call list API', share('--drop-webhooks'), 0)
    .action(async (opts: { webhookUrl: string; port: number; host: string; widget: Widget[]; config?: string; legacyFormat: boolean; outcome: string; timeScale: number; seed?: number; dropWebhooks: number }) => {
      const widgets = [...opts.widget, ...(opts.config ? loadWidgetFile(opts.config) : [])];
      if (!isOutcomeChoice(opts.outcome)) throw new Error(`--outcome ${opts.outcome} is not an outcome`);
      const { createMockConvolo } = await import('../mock-convolo/index.js');
      const mock = createMockConvolo({
        webhookUrl: opts.webhookUrl,
        port: opts.port,
        host: opts.host,
        widgets,
        legacyFormat: opts.legacyFormat,
        outcome: opts.outcome,
        timeScale: opts.timeScale,
        seed: opts.seed,
        dropWebhooks: opts.dropWebhooks,
        log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
      });
      const { url } = await mock.listen().catch((error: unknown) => {
        throw listenFailure(error, opts.host);
      });
      process.stdout.write(banner(mock, url, opts.webhookUrl, opts.legacyFormat, widgets.length === 0, opts.dropWebhooks));
      stopOnSignals(mock);
    });
}

function banner(mock: MockConvolo, url: string, webhook: string, legacy: boolean, generated: boolean, dropRate: number): string {
  const api = `${url}/rest/v1/ext/add_call_api/`;
  const [first] = mock.widgets;
  const lines = [
    `mock-convolo is running on ${url}`,
    `  Call API:   ${api}  (GET or POST)`,
    `  Call list:  ${url}/api/v2/calls/payload-data-list?api-key=…  (GET)`,
    `  Status:     ${url}/  (and ${url}/calls.json)`,
    `  Webhooks:   ${maskUrl(webhook)}  (${legacy ? 'legacy: the after-call only, form-encoded' : 'JSON start_call then end_call'})`,
    ...mock.widgets.map((w) => `  Widget:     "${w.name}"  widget_key=${w.key}${generated ? `  api_key=${w.apiKey}` : ''}`),
  ];
  if (dropRate > 0) lines.push(`  Dropping:   ${Math.round(dropRate * 1000) / 10} % of end_call webhooks on purpose (each one is logged; the status page counts them)`);
  if (generated) lines.push('  (a widget was generated for this run; pass --widget <key>:<apiKey>[:<name>] or --config to keep one)');
  const apiKey = generated ? first!.apiKey : '<your api key>';
  const body = JSON.stringify({ widget_key: first!.key, api_key: apiKey, lc_number: '+14155550100', lc_param_deal_id: 'D-42' });
  lines.push('', 'Make a call:', `  curl -X POST ${api} -H 'content-type: application/json' -d '${body}'`);
  lines.push('List the calls:', `  curl '${url}/api/v2/calls/payload-data-list?api-key=${encodeURIComponent(apiKey)}&max_calls=500'`, '');
  return `${lines.join('\n')}\n`;
}

/** First Ctrl-C: post what is pending at once, then exit. A second one exits without waiting. */
function stopOnSignals(mock: MockConvolo): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`${signal}: posting the pending webhooks now, then stopping (again to stop at once)\n`);
    mock.close('flush').then(
      () => {
        if (mock.droppedCallIds.length > 0) process.stdout.write(`Dropped ${mock.droppedCallIds.length} end_call webhooks on purpose (--drop-webhooks).\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`mock-convolo: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function webhookUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // refused below
  }
  throw new InvalidArgumentError('expected an http(s) URL, such as Switchboard\'s ingest URL http://127.0.0.1:8787/hooks/convolo/sbt_…');
}

function integer(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a whole number ≥ 0`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('--port must be a whole number from 0 to 65535 (0: any free port)');
  return n;
}

function share(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${flag} must be a share from 0 to 1, such as 0.2`);
    return n;
  };
}

function number(flag: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a number ≥ 0`);
    return n;
  };
}
