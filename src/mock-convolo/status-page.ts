/**
 * The mock's status page (`GET /`): the widgets it accepts and its recent calls, with the status code each
 * webhook got. Plain HTML that reloads itself every 5 s (calls progress while you watch), no script; every
 * value is escaped, because widget names and custom parameter names come from whoever configured or called
 * the mock.
 */
import { createHash } from 'node:crypto';
import type { CallRecord, WebhookStatus } from './call-runner.js';
import { maskUrl } from './mask.js';
import type { Widget } from './widgets.js';

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const style = 'body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}code{font-size:12px}';

/**
 * The page's Content-Security-Policy: nothing loads but its own `<style>` (allowed by its hash), and no other
 * page may frame it. A name that slipped past the escaping could still run nothing.
 */
export const statusPagePolicy = [
  "default-src 'none'", `style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`,
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

export interface StatusPageInput {
  baseUrl: string;
  webhookUrl: string;
  legacyFormat: boolean;
  widgets: readonly Widget[];
  calls: readonly CallRecord[];
  /** `--drop-webhooks`: the share asked and how many end_call webhooks were dropped so far. */
  dropped?: { rate: number; count: number };
}

/**
 * The whole page.
 *
 * @example
 * const html = renderStatusPage({ baseUrl, webhookUrl, legacyFormat: false, widgets, calls: runner.records });
 */
export function renderStatusPage(input: StatusPageInput): string {
  const e = escapeHtml;
  const rows = input.calls.map((call) => `<tr>
  <td>${e(call.requested_at)}</td><td>${e(call.widget_name)} <code>${e(call.widget_key.slice(0, 8))}…</code></td>
  <td>${e(call.lead_phone)}</td><td>${e(call.outcome)}</td><td>${e(call.state)}</td>
  <td>${e(call.custom_param_names.join(', '))}</td>
  <td>${webhookCell(call.webhooks.start_call)}</td><td>${webhookCell(call.webhooks.end_call)}</td>
  <td><code>${e(call.call_id)}</code></td>
</tr>`);
  const widgets = input.widgets.map((w) => `<li>${e(w.name)}: <code>${e(w.key)}</code></li>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mock-convolo</title>
<meta http-equiv="refresh" content="5">
<style>${style}</style>
</head><body>
<h1>mock-convolo</h1>
<p>A local stand-in for Convolo. Call API: <code>${e(input.baseUrl)}/rest/v1/ext/add_call_api/</code>.
Webhooks go to <code>${e(maskUrl(input.webhookUrl))}</code>${input.legacyFormat ? ' in the legacy format (form-encoded after-call only)' : ''}.
The same data as JSON: <a href="/calls.json">/calls.json</a>. Call list API:
<code>${e(input.baseUrl)}/api/v2/calls/payload-data-list?api-key=…</code>.</p>
${input.dropped && input.dropped.rate > 0 ? `<p>Dropping ${e(String(Math.round(input.dropped.rate * 1000) / 10))} % of end_call webhooks on purpose (--drop-webhooks): <strong>${input.dropped.count}</strong> dropped so far; those calls are still in the call list.</p>` : ''}
<h2>Widgets</h2><ul>${widgets.join('')}</ul>
<h2>Recent calls</h2>
${rows.length === 0 ? '<p>No calls yet.</p>' : `<table><thead><tr><th>requested</th><th>widget</th><th>lead</th><th>outcome</th><th>state</th><th>custom params</th><th>start_call</th><th>end_call</th><th>call id</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`}
</body></html>
`;
}

function webhookCell(webhook: WebhookStatus | null): string {
  if (webhook === null) return '—';
  if (webhook.dropped) return 'dropped on purpose';
  const last = webhook.attempts.at(-1);
  const answer = webhook.status ?? (last?.error ? `no answer: ${last.error}` : 'sending…');
  const tries = webhook.attempts.length > 1 ? ` (${webhook.attempts.length} attempts)` : '';
  return escapeHtml(`${answer}${tries}`);
}
