import { Command } from 'commander';
import { sleep } from '../sdk/http.js';
import { withAdminOptions, withAdminTarget } from './admin-target.js';
import { print } from './remote.js';

/** `switchboard sources create|list|rotate`: webhook sources (Convolo accounts), through the running server's API, or the database when none runs. */
export function sourcesCommand(): Command {
  const command = new Command('sources').description('Manage webhook sources (their ingest URLs), through the running Switchboard or the database when none runs.');

  const create = withAdminOptions(new Command('create'))
    .description('Create a source; prints its ingest URL, which holds its token, once.')
    .requiredOption('--name <name>', 'What it is, e.g. the Convolo account')
    .action(async () => {
      const o = create.opts<{ name: string }>();
      const created = await withAdminTarget(create, (api) => api.sources.create({ name: o.name }));
      print(create, created, (s) => [
        `Source ${s.id} created ("${s.name}").`,
        `  Ingest URL: ${s.ingest_url}`,
        "  Set it as the webhook URL in Convolo. Keep it now: it will not be shown again (only its token's hash is stored).",
      ]);
    });

  const ls = withAdminOptions(new Command('list'))
    .description('List sources (token hints only).')
    .action(async () => {
      const answer = await withAdminTarget(ls, (api) => api.sources.list());
      print(ls, answer, ({ data }) =>
        data.map((s) => {
          const state = s.status === 'revoked' ? `revoked ${s.revoked_at}` : s.previous_token_expires_at ? `active (previous token until ${s.previous_token_expires_at})` : 'active';
          return `${s.id}  ${state}  ${s.token_hint}  ${s.name}`;
        }),
      );
    });

  const rotate = withAdminOptions(new Command('rotate'))
    .description('Give a source a new token; the old one keeps working for 24 hours.')
    .argument('<id>', 'Source id (src_…)')
    .action(async (id: string) => {
      const rotated = await withAdminTarget(rotate, (api) => api.sources.rotate(id));
      print(rotate, rotated, (s) => [
        `Source ${s.id} has a new token.`,
        `  Ingest URL: ${s.ingest_url}`,
        `  The old URL keeps working until ${s.previous_token_expires_at}: update Convolo before then.`,
        '  Keep it now: it will not be shown again.',
      ]);
    });

  const setConvolo = withAdminOptions(new Command('set-convolo'))
    .description("Give a source a Convolo API key (and widget ids): the worker then reconciles it with Convolo's call list. The key is shown only masked.")
    .argument('<id>', 'Source id (src_…)')
    .option('--api-key <key>', "The widget's API key (Convolo → widget → Integrations; one that starts with '-': --api-key=<key>); or SWITCHBOARD_CONVOLO_API_KEY")
    .option('--widget-ids <ids>', 'Comma-separated widget ids (default: every widget the key sees)')
    .option('--clear', 'Forget the key: stop reconciling this source')
    .action(async (id: string) => {
      const o = setConvolo.opts<{ apiKey?: string; widgetIds?: string; clear?: boolean }>();
      if (o.clear) {
        await withAdminTarget(setConvolo, (api) => api.sources.clearConvolo(id));
        print(setConvolo, { source_id: id, cleared: true }, () => [`Source ${id} is no longer reconciled with Convolo.`]);
        return;
      }
      const apiKey = o.apiKey ?? process.env.SWITCHBOARD_CONVOLO_API_KEY;
      if (!apiKey) throw new Error('pass --api-key (or set SWITCHBOARD_CONVOLO_API_KEY), or --clear');
      const widgetIds = o.widgetIds?.split(',').map((w) => w.trim()).filter((w) => w !== '');
      const set = await withAdminTarget(setConvolo, (api) => api.sources.setConvolo(id, { api_key: apiKey, ...(widgetIds ? { widget_ids: widgetIds } : {}) }));
      print(setConvolo, set, (s) => [
        `Source ${s.source_id} is reconciled with Convolo's call list (key ${s.api_key_hint}, widgets: ${s.widget_ids.length > 0 ? s.widget_ids.join(', ') : 'all'}).`,
      ]);
    });

  const reconcile = withAdminOptions(new Command('reconcile'))
    .description("Show a source's last reconcile runs (with --now: run one now, over the lookback).")
    .argument('<id>', 'Source id (src_…)')
    .option('--now', 'Run one now')
    .action(async (id: string) => {
      const o = reconcile.opts<{ now?: boolean }>();
      const status = await withAdminTarget(reconcile, async (api) => {
        if (!o.now) return api.sources.reconcile(id);
        const run = await api.sources.reconcileNow(id);
        // A long run is answered as started (202): wait for it to end.
        for (;;) {
          const now = await api.sources.reconcile(id);
          if (run.finished_at !== null || now.runs.some((r) => r.id === run.id && r.finished_at !== null)) return now;
          await sleep(2000);
        }
      });
      print(reconcile, status, (s) => [
        s.convolo ? `Source ${s.source_id}: key ${s.convolo.api_key_hint}, every ${s.interval_min} min over ${s.lookback_hours} h${s.next_run_at ? `, next run ${s.next_run_at}` : ''}.` : `Source ${s.source_id} has no Convolo key.`,
        ...s.runs.map((r) => `  ${r.started_at}  ${r.kind.padEnd(9)}  ${r.date_from}..${r.date_to}  fetched ${r.fetched}  present ${r.already_present}  added ${r.added}  errors ${r.errors}${r.error ? `  ${r.error.code}${r.error.status ? ` ${r.error.status}` : ''}` : ''}`),
      ]);
    });

  return command.addCommand(create).addCommand(ls).addCommand(rotate).addCommand(setConvolo).addCommand(reconcile);
}
